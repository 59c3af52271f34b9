"""The shared evidence-lower-bound machinery: reconstruction + a regulariser on the KL.

``ElboObjective`` encodes, optionally merges weak-supervision pairs (Ada-GVAE / Ada-ML-VAE,
see :mod:`prodvae.objectives.weak`), samples, decodes and computes the per-factor KL to
each factor's prior (``VAE.kl``, so the posterior family decides: the factor's own KL for
Gaussians -- for ``PointSet`` its deterministic variational upper bound). Subclasses supply
the regulariser, their options (a :class:`~prodvae.objectives.likelihoods.LikelihoodOptions`,
or a :class:`~prodvae.objectives.weak.WeakOptions` to train on pairs too) and, when they
anneal the prior, the space at a step.

With a likelihood whose mean is ``sigmoid(logits)`` the objective logs ``stuck_pixels`` (of
the pixels missed by more than 0.5, the fraction whose logit passes no gradient back,
:func:`~prodvae.objectives.likelihoods.stuck_fraction`) and warns once when it stays above
:data:`STUCK_WARNING` for :data:`STUCK_STEPS` steps in a row: the decoder cannot learn those
pixels back.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from prodvae.data import GroundTruthDataset
from prodvae.models import VAE, Posterior
from prodvae.objectives.base import Objective, ObjectiveOutput, check_images, require_gaussian
from prodvae.objectives.likelihoods import (
    LIKELIHOODS,
    STUCK_LOGIT,
    LikelihoodOptions,
    stuck_fraction,
)
from prodvae.objectives.weak import WeakOptions, merge_pair
from prodvae.spaces import ProductSpace

log = logging.getLogger(__name__)

#: Warn when more than this fraction of the badly missed pixels is stuck ...
STUCK_WARNING = 0.9
#: ... for this many steps in a row.
STUCK_STEPS = 100


class ElboTerms(NamedTuple):
    """Per-image pieces: ``recon [n]``, ``kl [n, num_factors]``, the posterior and ``z [n, dim]``.

    With pairs, ``n = 2 * batch`` (first images, then second images); ``posterior`` is then
    the merged one and ``codes [n, dim]`` the encoder's means before merging (otherwise
    ``posterior.mu``); ``images [n, C, H, W]`` are the images the rows belong to. ``stuck``
    ``[]``: :func:`~prodvae.objectives.likelihoods.stuck_fraction` of the reconstruction,
    for likelihoods whose sigmoid mean saturates (None for the others).
    """

    recon: Tensor
    kl: Tensor
    posterior: Posterior
    z: Tensor
    shared: Tensor | None
    codes: Tensor
    images: Tensor
    stuck: Tensor | None = None
    shares: dict[int, Tensor] | None = None


class ElboObjective(Objective):
    """Base for objectives of the form ``E[-log p(x|z)] + regulariser(KL, ...)``."""

    Options: ClassVar[type[LikelihoodOptions]] = WeakOptions
    options: LikelihoodOptions

    def __init__(self, options: LikelihoodOptions | None = None) -> None:
        super().__init__(options)
        self._stuck_run, self._stuck_warned = 0, False
        self._varying: Tensor | None = None  # changed: known: the data's varying factors

    @property
    def needs_pairs(self) -> bool:
        return self.options.weak != "none"

    @property
    def needs_changed(self) -> bool:
        return self.needs_pairs and self.options.changed == "known"

    def check_model(self, model: VAE) -> None:
        if self.needs_pairs:
            require_gaussian(f"{self.name} (weak={self.options.weak})", model)

    def prepare(
        self,
        dataset: GroundTruthDataset,
        space: ProductSpace,
        generator: torch.Generator,
        *,
        num_changed: int | None = 1,
    ) -> None:
        """``changed: known``: check now that the space has one latent factor per varying
        factor of ``dataset`` (latent factor k stands for the k-th factor with more than one
        value, as ``model.space: auto`` builds), and keep which factors those are."""
        if not self.needs_changed:
            return
        varying = [k for k, factor in enumerate(dataset.spec) if factor.size > 1]
        if space.num_factors != len(varying):
            names = ", ".join(dataset.spec[k].name for k in varying)
            raise ValueError(
                f"{self.name}: changed: known needs one latent factor per varying ground-truth "
                f"factor, in the data's order ({names}: model.space: auto); the space "
                f"{space.describe()} has {space.num_factors} factors"
            )
        self._varying = torch.tensor(varying)

    def space_at(self, space: ProductSpace, step: int) -> ProductSpace:
        """The prior's space at ``step`` (annealing objectives override)."""
        return space

    def adjust_posterior(self, posterior: Posterior) -> Posterior:
        """Hook to change the posterior before sampling (e.g. a fixed variance)."""
        return posterior

    def terms(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        generator: torch.Generator | None = None,
        changed: Tensor | None = None,
    ) -> ElboTerms:
        """Encode (merging pairs if weakly supervised), sample, decode, per-image terms.

        ``changed`` (bool ``[batch, K]``): which factors each pair changes; with the option
        ``changed: known`` it decides which latent factors the pair shares."""
        check_images(self.name, model, x, self.needs_pairs)
        shared = None
        if self.needs_pairs:
            first, first_shares = model.encode_with_shares(x[:, 0])
            second, second_shares = model.encode_with_shares(x[:, 1])
            first, second = self.adjust_posterior(first), self.adjust_posterior(second)
            shares = {k: torch.cat([v, second_shares[k]]) for k, v in first_shares.items()}
            if self.needs_changed and changed is None:
                raise ValueError(
                    f"{self.name}: changed: known needs each pair's changed factors "
                    "(the trainer passes them with pairs)"
                )
            known = None
            if self.needs_changed:  # the varying factors' columns, when prepare saw the data
                known = (
                    changed
                    if self._varying is None
                    else changed[:, self._varying.to(changed.device)]
                )
            pair = merge_pair(model.space, first, second, self.options.weak, known)
            posterior = Posterior(
                torch.cat([pair.first.mu, pair.second.mu]),
                torch.cat([pair.first.logvar, pair.second.logvar]),
            )
            targets, shared = torch.cat([x[:, 0], x[:, 1]]), pair.shared
            codes = torch.cat([first.mu, second.mu])
        else:
            posterior, shares = model.encode_with_shares(x)
            posterior, targets = self.adjust_posterior(posterior), x
            codes = posterior.mu
        z = model.sample(posterior, generator)
        logits = model.decode(z)
        likelihood = self.options.likelihood
        recon = LIKELIHOODS[likelihood](logits, targets, self.options.scale)
        kl = model.kl(posterior, self.space_at(model.space, step))
        stuck = None
        if LIKELIHOODS.extra(likelihood).get("saturates", False):
            stuck = stuck_fraction(logits.detach(), targets)
        return ElboTerms(recon, kl, posterior, z, shared, codes, targets, stuck, shares)

    def regularise(
        self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None
    ) -> tuple[Tensor, dict[str, float]]:
        """The loss added to the mean reconstruction term, and extra logs."""
        raise NotImplementedError

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        labels: Tensor | None = None,
        changed: Tensor | None = None,
    ) -> ObjectiveOutput:
        terms = self.terms(model, x, step, changed=changed)
        penalty, logs = self.regularise(model, terms, step, labels)
        recon = terms.recon.mean()
        loss = recon + penalty
        kl = terms.kl.mean(0)
        out: dict[str, Any] = {"loss": loss.item(), "recon": recon.item(), "kl": kl.sum().item()}
        out.update({f"kl/{i}": v for i, v in enumerate(kl.tolist())})
        if terms.shared is not None:
            out["shared_fraction"] = terms.shared.float().mean().item()
        if terms.stuck is not None:
            out["stuck_pixels"] = terms.stuck.item()
            self._watch_stuck(out["stuck_pixels"], step)
        out.update(logs)
        return ObjectiveOutput(loss, out)

    def _watch_stuck(self, stuck: float, step: int) -> None:
        """Count the steps in a row with ``stuck`` above :data:`STUCK_WARNING`; warn once."""
        self._stuck_run = self._stuck_run + 1 if stuck > STUCK_WARNING else 0
        if self._stuck_run == STUCK_STEPS and not self._stuck_warned:
            self._stuck_warned = True
            log.warning(
                "step %d: reconstruction stuck: for %d steps, over %d%% of the pixels the "
                "decoder misses by more than 0.5 had logits beyond ±%g, where the %s "
                "likelihood's sigmoid mean passes no gradient back (stuck_pixels in the "
                "log); likelihood: bernoulli does not saturate",
                step,
                STUCK_STEPS,
                round(100 * STUCK_WARNING),
                STUCK_LOGIT,
                self.options.likelihood,
            )
