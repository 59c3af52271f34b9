"""Small objectives for loop tests: a noise-free autoencoder loss (exact comparisons across
process counts) and a sampling one that reads the global RNG (exact resume)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from prodvae.objectives import (
    OBJECTIVES,
    Objective,
    ObjectiveOptions,
    ObjectiveOutput,
    register_objective,
)


@dataclass(frozen=True, kw_only=True)
class ToyOptions(ObjectiveOptions):
    """The code penalty's weight, steps whose loss is NaN, whether to sample the posterior."""

    weight: float = 0.01
    nan_steps: tuple[int, ...] = ()
    sample: bool = False


class ToyAutoencoder(Objective):
    """``BCE(decode(mu), x) + weight * |mu|^2`` per image, batch mean; NaN at ``nan_steps``."""

    Options = ToyOptions

    def __call__(self, model, x, step, labels=None):
        options = self.options
        posterior = model.encode(x)
        z = model.sample(posterior) if options.sample else posterior.mu
        logits = model.decode(z)
        recon = functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
        loss = recon.flatten(1).sum(1).mean() + options.weight * posterior.mu.pow(2).sum(1).mean()
        if step in options.nan_steps:
            loss = loss * torch.nan
        return ObjectiveOutput(loss, {"recon": float(recon.detach().flatten(1).sum(1).mean())})


if "toy_ae" not in OBJECTIVES:
    register_objective("toy_ae")(ToyAutoencoder)
