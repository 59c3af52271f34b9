"""The shared evidence-lower-bound machinery: reconstruction + a regulariser on the KL.

``ElboObjective`` encodes, optionally merges weak-supervision pairs (Ada-GVAE / Ada-ML-VAE,
see :mod:`prodvae.objectives.weak`), samples, decodes and computes the per-factor KL to
each factor's prior (``VAE.kl``, so the posterior family decides: the factor's own KL for
Gaussians -- for ``PointSet`` its deterministic variational upper bound). Subclasses supply
the regulariser, their options (a :class:`~prodvae.objectives.likelihoods.LikelihoodOptions`,
or a :class:`~prodvae.objectives.weak.WeakOptions` to train on pairs too) and, when they
anneal the prior, the space at a step.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from prodvae.models import VAE, Posterior
from prodvae.objectives.base import Objective, ObjectiveOutput, check_images, require_gaussian
from prodvae.objectives.likelihoods import LIKELIHOODS, LikelihoodOptions
from prodvae.objectives.weak import WeakOptions, merge_pair
from prodvae.spaces import ProductSpace


class ElboTerms(NamedTuple):
    """Per-image pieces: ``recon [n]``, ``kl [n, num_factors]``, the posterior and ``z [n, dim]``.

    With pairs, ``n = 2 * batch`` (first images, then second images); ``posterior`` is then
    the merged one and ``codes [n, dim]`` the encoder's means before merging (otherwise
    ``posterior.mu``); ``images [n, C, H, W]`` are the images the rows belong to.
    """

    recon: Tensor
    kl: Tensor
    posterior: Posterior
    z: Tensor
    shared: Tensor | None
    codes: Tensor
    images: Tensor


class ElboObjective(Objective):
    """Base for objectives of the form ``E[-log p(x|z)] + regulariser(KL, ...)``."""

    Options: ClassVar[type[LikelihoodOptions]] = WeakOptions
    options: LikelihoodOptions

    @property
    def needs_pairs(self) -> bool:
        return self.options.weak != "none"

    def check_model(self, model: VAE) -> None:
        if self.needs_pairs:
            require_gaussian(f"{self.name} (weak={self.options.weak})", model)

    def space_at(self, space: ProductSpace, step: int) -> ProductSpace:
        """The prior's space at ``step`` (annealing objectives override)."""
        return space

    def adjust_posterior(self, posterior: Posterior) -> Posterior:
        """Hook to change the posterior before sampling (e.g. a fixed variance)."""
        return posterior

    def terms(
        self, model: VAE, x: Tensor, step: int, generator: torch.Generator | None = None
    ) -> ElboTerms:
        """Encode (merging pairs if weakly supervised), sample, decode, per-image terms."""
        check_images(self.name, model, x, self.needs_pairs)
        shared = None
        if self.needs_pairs:
            first = self.adjust_posterior(model.encode(x[:, 0]))
            second = self.adjust_posterior(model.encode(x[:, 1]))
            pair = merge_pair(model.space, first, second, self.options.weak)
            posterior = Posterior(
                torch.cat([pair.first.mu, pair.second.mu]),
                torch.cat([pair.first.logvar, pair.second.logvar]),
            )
            targets, shared = torch.cat([x[:, 0], x[:, 1]]), pair.shared
            codes = torch.cat([first.mu, second.mu])
        else:
            posterior, targets = self.adjust_posterior(model.encode(x)), x
            codes = posterior.mu
        z = model.sample(posterior, generator)
        logits = model.decode(z)
        recon = LIKELIHOODS[self.options.likelihood](logits, targets, self.options.scale)
        kl = model.kl(posterior, self.space_at(model.space, step))
        return ElboTerms(recon, kl, posterior, z, shared, codes, targets)

    def regularise(
        self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None
    ) -> tuple[Tensor, dict[str, float]]:
        """The loss added to the mean reconstruction term, and extra logs."""
        raise NotImplementedError

    def __call__(
        self, model: VAE, x: Tensor, step: int, labels: Tensor | None = None
    ) -> ObjectiveOutput:
        terms = self.terms(model, x, step)
        penalty, logs = self.regularise(model, terms, step, labels)
        recon = terms.recon.mean()
        loss = recon + penalty
        kl = terms.kl.mean(0)
        out: dict[str, Any] = {"loss": loss.item(), "recon": recon.item(), "kl": kl.sum().item()}
        out.update({f"kl/{i}": v for i, v in enumerate(kl.tolist())})
        if terms.shared is not None:
            out["shared_fraction"] = terms.shared.float().mean().item()
        out.update(logs)
        return ObjectiveOutput(loss, out)
