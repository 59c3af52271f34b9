"""Small objectives for loop tests: a noise-free autoencoder loss (exact comparisons across
process counts) and a sampling one that reads the global RNG (exact resume)."""

from __future__ import annotations

import torch
from torch.nn import functional

from prodvae.objectives.base import OBJECTIVES, Objective, ObjectiveOutput, register_objective


class ToyAutoencoder(Objective):
    """``BCE(decode(mu), x) + weight * |mu|^2`` per image, batch mean; NaN at ``nan_steps``."""

    def __init__(self, *, weight: float = 0.01, nan_steps: tuple = (), sample: bool = False):
        self.weight, self.nan_steps, self.sample = weight, tuple(nan_steps), sample

    def __call__(self, model, x, step, labels=None):
        posterior = model.encode(x)
        z = model.sample(posterior) if self.sample else posterior.mu
        logits = model.decode(z)
        recon = functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
        loss = recon.flatten(1).sum(1).mean() + self.weight * posterior.mu.pow(2).sum(1).mean()
        if step in self.nan_steps:
            loss = loss * torch.nan
        return ObjectiveOutput(loss, {"recon": float(recon.detach().flatten(1).sum(1).mean())})


if "toy_ae" not in OBJECTIVES:
    register_objective("toy_ae")(ToyAutoencoder)
