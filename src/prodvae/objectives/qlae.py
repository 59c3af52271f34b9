"""QLAE: the quantised latent autoencoder (Hsu, Dorrell, Whittington, Wu & Finn, 2023).

Each latent dimension has its own scalar codebook of ``num_values`` learnable values
(initialised evenly over [-1, 1]); the encoder mean is snapped to the nearest value, with a
straight-through gradient. Loss: ``recon + commitment_weight ‖μ - sg(q)‖²``; the codebook
term ``quantization_weight ‖sg(μ) - q‖²`` trains the codebooks, which this objective owns
with their own Adam optimizer and steps inside each call. No KL, no sampling. QLAE also asks
for weight decay 0.1 on the model: exposed as ``weight_decay`` for the trainer's optimizer.
Needs a Euclidean space (the codebooks replace the prior).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from prodvae.models import VAE
from prodvae.objectives.base import (
    Objective,
    ObjectiveOutput,
    check_images,
    register_objective,
    require_topologies,
)
from prodvae.objectives.likelihoods import LIKELIHOODS, LikelihoodOptions
from prodvae.objectives.options import check_count, check_numbers


def quantise(mu: Tensor, codebooks: Tensor) -> Tensor:
    """Nearest codebook value per dimension: ``mu [batch, dim]``, ``codebooks [dim, values]``."""
    index = (mu[:, :, None] - codebooks[None]).abs().argmin(-1)
    return torch.gather(codebooks.expand(mu.shape[0], -1, -1), 2, index[:, :, None])[:, :, 0]


@dataclass(frozen=True, kw_only=True)
class QLAEOptions(LikelihoodOptions):
    """Values per codebook, the two loss weights, the model's weight decay, the codebooks' lr."""

    num_values: int = 10
    quantization_weight: float = 0.01
    commitment_weight: float = 0.01
    weight_decay: float = 0.1
    codebook_lr: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("num_values", self.num_values, low=2)
        check_numbers(self, "quantization_weight", "commitment_weight", "weight_decay")
        check_numbers(self, "codebook_lr", allow_low=False)


@register_objective("qlae")
class QLAE(Objective):
    """Quantised latents with per-dimension scalar codebooks."""

    Options = QLAEOptions
    options: QLAEOptions

    def __init__(self, options: QLAEOptions | None = None) -> None:
        super().__init__(options)
        self.codebooks: torch.nn.Parameter | None = None
        self.optimizer: torch.optim.Optimizer | None = None

    @property
    def weight_decay(self) -> float:
        return self.options.weight_decay

    def check_model(self, model: VAE) -> None:
        require_topologies(self.name, model, ("euclidean",))

    def _ensure(self, dim: int, device: torch.device) -> torch.nn.Parameter:
        if self.codebooks is None:
            values = torch.linspace(-1.0, 1.0, self.options.num_values, device=device)
            self.codebooks = torch.nn.Parameter(values.repeat(dim, 1))
            self.optimizer = torch.optim.Adam([self.codebooks], lr=self.options.codebook_lr)
        return self.codebooks

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        labels: Tensor | None = None,
        changed: Tensor | None = None,
    ) -> ObjectiveOutput:
        check_images(self.name, model, x, pairs=False)
        mu = model.encode(x).mu
        codebooks = self._ensure(mu.shape[1], mu.device)
        q = quantise(mu, codebooks.detach())
        z = mu + (q - mu).detach()
        o = self.options
        recon = LIKELIHOODS[o.likelihood](model.decode(z), x, o.scale).mean()
        commitment = ((mu - q) ** 2).sum(-1).mean()
        codebook_loss = self._update_codebooks(mu.detach())
        loss = recon + o.commitment_weight * commitment
        logs = {
            "loss": loss.item(),
            "recon": recon.item(),
            "commitment": commitment.item(),
            "codebook": codebook_loss,
        }
        return ObjectiveOutput(loss, logs)

    def _update_codebooks(self, mu: Tensor) -> float:
        """One step on ``quantization_weight ‖sg(μ) - q‖²`` (gradient reaches the chosen values)."""
        q = quantise(mu, self.codebooks)
        loss = self.options.quantization_weight * ((mu - q) ** 2).sum(-1).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def state_dict(self) -> dict[str, Any]:
        if self.codebooks is None:
            return {}
        return {
            "codebooks": self.codebooks.detach().clone(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        codebooks = state["codebooks"]
        num_values = self.options.num_values
        if codebooks.dim() != 2 or codebooks.shape[1] != num_values:
            raise ValueError(
                f"{self.name}: codebooks must be [dim, {num_values}], got {list(codebooks.shape)}"
            )
        self._ensure(codebooks.shape[0], codebooks.device)
        with torch.no_grad():
            self.codebooks.copy_(codebooks)
        self.optimizer.load_state_dict(state["optimizer"])
