"""Reconstruction likelihoods over decoder logits: Bernoulli, Gaussian, Laplace.

Each returns the negative log-likelihood summed over pixels, ``[batch]``. The Gaussian and
Laplace means are ``sigmoid(logits)`` (as in disentanglement_lib) with a fixed ``scale``;
their NLL includes the normalising constant, so values are comparable across scales.

A sigmoid mean saturates: the cost of a pixel the decoder gets wrong is bounded (at most
``1 / (2 scale²)`` for the Gaussian), so nothing stops a logit from running far past the
target, and there its gradient ``sigmoid'(logit)`` is nil (below 3.1e-7 beyond ±15). On
sparse images (sprites, dSprites: a few per cent bright pixels) a decoder can drive every
logit there in its first steps and never recover; :func:`stuck_fraction` measures it. The
Bernoulli NLL grows without bound as a logit runs past its target, and does not saturate.
:class:`LikelihoodOptions` are the options every objective with a likelihood shares.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor
from torch.nn import functional

from prodvae.objectives.options import ObjectiveOptions, OptionError, check_choice
from prodvae.registry import Registry

#: Negative log-likelihoods by name: ``fn(logits, x, scale) -> [batch]``, each registered
#: with its ``default_scale`` (None: the likelihood has no scale).
LIKELIHOODS: Registry[Callable[[Tensor, Tensor, float], Tensor]] = Registry("likelihood")


#: Beyond ±STUCK_LOGIT the sigmoid passes a gradient sigmoid'(l) < 3.1e-7.
STUCK_LOGIT = 15.0


@LIKELIHOODS.register("bernoulli", default_scale=None, saturates=False)
def bernoulli_nll(logits: Tensor, x: Tensor, scale: float) -> Tensor:
    """Binary cross-entropy with logits; targets may be grey levels in [0, 1]."""
    nll = functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return nll.flatten(1).sum(-1)


@LIKELIHOODS.register("gaussian", default_scale=0.1, saturates=True)
def gaussian_nll(logits: Tensor, x: Tensor, scale: float) -> Tensor:
    """N(x; sigmoid(logits), scale²) per pixel."""
    residual = (x - torch.sigmoid(logits)) / scale
    nll = 0.5 * residual**2 + math.log(scale) + 0.5 * math.log(2 * math.pi)
    return nll.flatten(1).sum(-1)


@LIKELIHOODS.register("laplace", default_scale=0.1, saturates=True)
def laplace_nll(logits: Tensor, x: Tensor, scale: float) -> Tensor:
    """Laplace(x; sigmoid(logits), scale) per pixel."""
    nll = (x - torch.sigmoid(logits)).abs() / scale + math.log(2 * scale)
    return nll.flatten(1).sum(-1)


def stuck_fraction(logits: Tensor, x: Tensor) -> Tensor:
    """Of the pixels that ``sigmoid(logits)`` misses by more than 0.5, the fraction whose
    logit lies beyond ±:data:`STUCK_LOGIT`, where a sigmoid mean passes no gradient back;
    ``[]``, 0 when no pixel is missed by that much."""
    missed = (x - torch.sigmoid(logits)).abs() > 0.5
    stuck = missed & (logits.abs() > STUCK_LOGIT)
    return stuck.sum() / missed.sum().clamp(min=1)


def resolve_scale(likelihood: str, scale: float | None) -> float:
    """The scale to use: the likelihood's default when ``scale`` is None; checked."""
    check_choice("likelihood", likelihood, LIKELIHOODS)
    default = LIKELIHOODS.extra(likelihood)["default_scale"]
    if default is None:
        if scale is not None:
            raise OptionError("likelihood_scale", f"does not apply to {likelihood!r}")
        return 1.0
    value = default if scale is None else scale
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise OptionError("likelihood_scale", f"must be a finite number > 0, got {scale!r}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class LikelihoodOptions(ObjectiveOptions):
    """``likelihood`` (a name in :data:`LIKELIHOODS`) and its ``likelihood_scale`` (None: the
    likelihood's default; must stay None for ``bernoulli``). Objectives on single images."""

    likelihood: str = "bernoulli"
    likelihood_scale: float | None = None
    #: How pairs are merged; ``"none"``: the objective trains on single images.
    weak: ClassVar[str] = "none"
    #: How a pair's shared factors are decided (see :class:`~prodvae.objectives.weak.WeakOptions`).
    changed: ClassVar[str] = "detect"

    def __post_init__(self) -> None:
        resolve_scale(self.likelihood, self.likelihood_scale)

    @property
    def scale(self) -> float:
        """The observation scale the likelihood uses (1.0 where it has none)."""
        return resolve_scale(self.likelihood, self.likelihood_scale)
