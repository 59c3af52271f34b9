"""The VAE: a backbone joined to a product latent space by a linear posterior head.

The head produces, for every factor, the parameters of that factor's posterior family
(Gaussian by default: ``factor.dim`` means and ``factor.logvar_dim`` log-variances, expanded
to ``[batch, dim]``). The decoder always emits logits: ``reconstruct`` applies the sigmoid,
and the Gaussian and Laplace likelihoods use ``sigmoid(logits)`` as their mean, as
disentanglement_lib does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from prodvae.models.backbones import make_backbone
from prodvae.models.posteriors import PointLogitsPosterior, PosteriorFamily, make_posterior
from prodvae.spaces import FACTORS, ProductSpace


class Posterior(NamedTuple):
    """Posterior parameters in the ambient space: ``mu [batch, dim]``, ``logvar [batch, dim]``."""

    mu: Tensor
    logvar: Tensor


class VAEOutput(NamedTuple):
    """Decoder logits ``x_recon [batch, C, H, W]``; ``mu``, ``logvar``, ``z`` ``[batch, dim]``."""

    x_recon: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor


class CodeNorm(nn.Module):
    """Batch normalisation of a factor's Gaussian posterior means to its prior's moments.

    In training, the batch of means ``[batch, dim]`` is centred on its mean, scaled to a root
    mean square distance ``spread`` from it, and moved to ``centre`` (the way BN-VAE, Zhu et
    al. 2020, normalises posterior means against KL vanishing); running averages replace the
    batch statistics in evaluation mode (the mean of the first ``1 / momentum`` batches, then
    an exponential average). So the codes spread over the prior from the first step, and a
    factor cannot sit idle at one point.
    """

    def __init__(
        self, centre: Tensor, spread: float, momentum: float = 0.01, eps: float = 1e-12
    ) -> None:
        super().__init__()
        self.spread, self.momentum, self.eps = float(spread), momentum, eps
        # the prior's, not learned state: rebuilt with the space, kept out of checkpoints
        self.register_buffer("centre", centre.detach().float().clone(), persistent=False)
        self.register_buffer("running_mean", torch.zeros(centre.shape[0]))
        self.register_buffer("running_rms", torch.tensor(float(spread)))
        self.register_buffer("batches", torch.tensor(0, dtype=torch.long))

    def forward(self, mu: Tensor) -> Tensor:
        if not self.training:
            scale = self.spread / (self.running_rms + self.eps)
            return self.centre + scale * (mu - self.running_mean)
        if mu.shape[0] < 2:
            raise ValueError(
                "normalise_loops / normalise_codes: training needs batches of at least 2 "
                f"images, got {mu.shape[0]}"
            )
        mean = mu.mean(0)
        centred = mu - mean
        rms = centred.pow(2).sum(-1).mean().sqrt()
        with torch.no_grad():  # tensor arithmetic only: no device sync per batch
            self.batches += 1
            weight = self.batches.reciprocal().clamp(min=self.momentum)
            self.running_mean.lerp_(mean.detach(), weight)
            self.running_rms.lerp_(rms.detach(), weight)
        return self.centre + self.spread * centred / (rms + self.eps)


class LoopNorm(CodeNorm):
    """:class:`CodeNorm` of a ring of radius ``R``: centre 0, mean squared radius ``R²`` (the
    uniform distribution on the ring's moments), so a loop surrounds its ring's centre."""

    def __init__(self, radius: float, momentum: float = 0.01, eps: float = 1e-12) -> None:
        super().__init__(torch.zeros(2), radius, momentum, eps)
        self.radius = float(radius)


class VAE(nn.Module):
    """Encoder → linear head → per-factor posteriors → sample → decoder.

    ``normalise_loops`` passes the posterior means of every loop factor (a factor whose
    :attr:`~prodvae.spaces.Reading.ring` is set) with a Gaussian posterior through a
    :class:`LoopNorm` (batch statistics in training, running ones in evaluation mode).
    ``normalise_codes`` does so for every factor with a Gaussian posterior (loops by
    :class:`LoopNorm`, the others by a :class:`CodeNorm` to their prior's moments), blended
    with the raw means by :attr:`code_blend` (1: normalised, 0: raw; an objective may fade it
    out, ``normalise_steps`` of ``product``, so that the normalisation only starts training).
    """

    def __init__(
        self,
        space: ProductSpace,
        encoder: nn.Module,
        decoder: nn.Module,
        feature_dim: int,
        image_shape: tuple[int, int, int],
        posteriors: Sequence[PosteriorFamily] | None = None,
        initial_logvar: float = 0.0,
        normalise_loops: bool = False,
        normalise_codes: bool = False,
    ) -> None:
        super().__init__()
        families = tuple(posteriors or [make_posterior("gaussian")] * space.num_factors)
        if len(families) != space.num_factors:
            raise ValueError(
                f"posteriors: expected {space.num_factors} families, got {len(families)}"
            )
        for family, factor in zip(families, space.factors):
            family.check(factor)
        self.space = space
        self.posteriors = families
        self.channels_last = False
        self.image_shape = tuple(image_shape)
        self.encoder = encoder
        self.decoder = decoder
        sizes = [f.num_params(factor) for f, factor in zip(families, space.factors)]
        self.head_sizes = tuple(sizes)
        self.head = nn.Linear(feature_dim, sum(sizes))
        if not math.isfinite(initial_logvar):
            raise ValueError(f"initial_logvar must be finite, got {initial_logvar!r}")
        with torch.no_grad():
            biases = self.head.bias.split(self.head_sizes)
            for family, factor, bias in zip(families, space.factors, biases):
                family.initialise_bias(factor, bias, initial_logvar)
        for name, value in (
            ("normalise_loops", normalise_loops),
            ("normalise_codes", normalise_codes),
        ):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool, got {value!r}")
        if normalise_loops and normalise_codes:
            raise ValueError(
                "normalise_loops and normalise_codes: choose one (normalise_codes already "
                "normalises the loops, under its blend)"
            )
        rings = [factor.reading.ring for factor in space.factors]
        norms = {
            str(i): LoopNorm(ring)
            for i, (family, ring) in enumerate(zip(families, rings))
            if normalise_loops and ring is not None and family.name == "gaussian"
        }
        self.loop_norms = nn.ModuleDict(norms)
        codes: dict[str, CodeNorm] = {}
        for i, (family, factor) in enumerate(zip(families, space.factors)):
            if normalise_codes and family.name == "gaussian":
                ring = factor.reading.ring
                if ring is not None:
                    codes[str(i)] = LoopNorm(ring)
                else:
                    centre, spread = factor.moments()
                    codes[str(i)] = CodeNorm(centre, spread.sqrt().item())
        self.code_norms = nn.ModuleDict(codes)
        #: built with ``normalise_codes`` (which leaves nothing to normalise on a space whose
        #: every factor has another posterior, e.g. points read as classifiers)
        self.normalise_codes = normalise_codes
        if codes:  # a model without them keeps the state it always had
            self.register_buffer("code_blend", torch.tensor(1.0))

    def _check_images(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"VAE: expected images [batch, {', '.join(map(str, self.image_shape))}], "
                f"got {list(x.shape)}"
            )

    def use_channels_last(self) -> VAE:
        """Hold every 4-d weight, and take the images to encode, in channels-last order (the
        order cuDNN's bf16 convolutions prefer; on a 2-core CPU the recipe's step is no faster,
        ``benchmarks/recipe_speed.py``): the same numbers up to rounding."""
        self.to(memory_format=torch.channels_last)
        self.channels_last = True
        return self

    def encode(self, x: Tensor) -> Posterior:
        """Images ``[batch, C, H, W]`` in [0, 1] → :class:`Posterior`."""
        return self.encode_with_shares(x)[0]

    def encode_with_shares(self, x: Tensor) -> tuple[Posterior, dict[int, Tensor]]:
        """:meth:`encode`, and for each factor whose family shares its code among points
        (``point_logits``), the log of those shares ``[batch, num_points]``, by factor index.
        A subclass that changes the codes overrides this (:meth:`encode` calls it)."""
        self._check_images(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        raw = self.head(self.encoder(x))
        mus, logvars, shares = [], [], {}
        for i, (family, factor, part) in enumerate(
            zip(self.posteriors, self.space.factors, raw.split(self.head_sizes, dim=-1))
        ):
            if isinstance(family, PointLogitsPosterior):
                mu, logvar, shares[i] = family.parameters_and_shares(factor, part)
            else:
                mu, logvar = family.parameters(factor, part)
            if str(i) in self.loop_norms:
                mu = self.loop_norms[str(i)](mu)
            if str(i) in self.code_norms:
                mu = torch.lerp(mu, self.code_norms[str(i)](mu), self.code_blend)
            mus.append(mu)
            logvars.append(logvar)
        return Posterior(torch.cat(mus, dim=-1), torch.cat(logvars, dim=-1)), shares

    def sample(self, posterior: Posterior, generator: torch.Generator | None = None) -> Tensor:
        """A reparameterised sample ``z [batch, dim]`` from ``posterior``."""
        parts = zip(
            self.posteriors,
            self.space.factors,
            self.space.split(posterior.mu),
            self.space.split(posterior.logvar),
        )
        return torch.cat([f.rsample(fac, m, lv, generator) for f, fac, m, lv in parts], dim=-1)

    def kl(self, posterior: Posterior, space: ProductSpace | None = None) -> Tensor:
        """Per-factor KL to each family's prior, ``[batch, num_factors]``.

        ``space`` replaces the model's own (an annealed copy with the same factor types).
        """
        space = space or self.space
        divergences = [family.kl for family in self.posteriors]
        return space.kl(posterior.mu, posterior.logvar, divergences=divergences)

    def decode(self, z: Tensor) -> Tensor:
        """``z [batch, dim]`` → decoder logits ``[batch, C, H, W]``."""
        if z.dim() != 2 or z.shape[1] != self.space.dim:
            raise ValueError(
                f"VAE.decode: expected z [batch, {self.space.dim}], got {list(z.shape)}"
            )
        return self.decoder(z)

    def reconstruct(self, z: Tensor) -> Tensor:
        """``z [batch, dim]`` → images in [0, 1], ``[batch, C, H, W]``."""
        return torch.sigmoid(self.decode(z))

    def codes(self, x: Tensor) -> Tensor:
        """Posterior means ``[batch, dim]`` (the codes metrics read)."""
        return self.encode(x).mu

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        posterior = self.encode(x)
        z = self.sample(posterior, generator)
        return VAEOutput(self.decode(z), posterior.mu, posterior.logvar, z)


def _families(
    space: ProductSpace, posterior: str | Mapping[str, str] | Sequence[str] | None
) -> tuple[PosteriorFamily, ...]:
    """Resolve ``posterior``: one name, a ``{topology: name}`` map, or one name per factor."""
    if posterior is None or isinstance(posterior, str):
        names = [posterior or "gaussian"] * space.num_factors
    elif isinstance(posterior, Mapping):
        # a topology the space lacks is allowed (one map serves every dataset); a name that
        # is no topology at all is a typo
        known = {cls.topology for cls in FACTORS.values()}
        unknown = sorted(set(posterior) - known)
        if unknown:
            raise ValueError(
                f"posterior: {unknown} are not topologies; expected some of {sorted(known)}"
            )
        names = [posterior.get(f.topology, "gaussian") for f in space.factors]
    else:
        names = list(posterior)
    return tuple(make_posterior(name) for name in names)


def build_vae(
    space: ProductSpace,
    backbone: str = "burgess",
    image_shape: tuple[int, int, int] = (1, 64, 64),
    *,
    posterior: str | Mapping[str, str] | Sequence[str] | None = None,
    initial_logvar: float = 0.0,
    normalise_loops: bool = False,
    normalise_codes: bool = False,
    **options: Any,
) -> VAE:
    """A :class:`VAE` on ``space`` with a registered backbone.

    ``options`` are the backbone's own (e.g. ``width``), checked by name. ``posterior`` picks
    the posterior families: ``"gaussian"`` (default), ``{"loop": "power_spherical",
    "segment": "kumaraswamy"}``, or one name per factor. ``initial_logvar`` sets the head
    bias of Gaussian log-variances: a negative value (e.g. -4) starts with sharp posteriors,
    which helps small details (thin dial hands) get encoded before the KL collapses them.
    ``normalise_loops`` batch-normalises the means of loops with Gaussian posteriors to their
    ring's moments (:class:`LoopNorm`); a space without such loops has nothing to normalise
    (so one config serves datasets with and without loops). ``normalise_codes`` normalises
    every factor's means to its prior's moments (:class:`CodeNorm`), blended out as the
    objective says (see :class:`VAE`).
    """
    if not isinstance(space, ProductSpace):
        raise ValueError(f"build_vae: space must be a ProductSpace, got {type(space).__name__}")
    families = _families(space, posterior)
    parts = make_backbone(backbone, tuple(image_shape), space.dim, **options)
    encoder, decoder, feature_dim = parts
    return VAE(
        space,
        encoder,
        decoder,
        feature_dim,
        image_shape,
        families,
        initial_logvar,
        normalise_loops,
        normalise_codes,
    )
