"""FactorVAE (Kim & Mnih, ICML 2018): a discriminator estimates the total correlation.

``recon + KL + γ E[log D(z) / (1 - D(z))]``. The discriminator tells codes ``z`` from codes
whose every dimension was permuted independently across the batch (samples of Π_j q(z_j)).
The objective owns the discriminator and its Adam optimizer and takes one discriminator
step inside each call, on detached codes; the VAE's term uses detached copies of the
discriminator's weights, so the caller's backward never touches them. Under
``torch.distributed`` the discriminator's gradients are averaged over the processes, so
that, initialised alike from ``seed``, every process keeps the same discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, distributed, nn
from torch.func import functional_call
from torch.nn import functional

from prodvae.models import VAE
from prodvae.objectives.base import register_objective
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.likelihoods import LikelihoodOptions
from prodvae.objectives.options import check_count, check_numbers


def permute_dims(z: Tensor, generator: torch.Generator) -> Tensor:
    """Each column of ``z [batch, dim]`` shuffled by its own permutation of the batch."""
    columns = []
    for j in range(z.shape[1]):
        order = torch.randperm(z.shape[0], generator=generator).to(z.device)
        columns.append(z[order, j])
    return torch.stack(columns, dim=1)


def average_over_processes(net: nn.Module) -> None:
    """Average ``net``'s gradients over the processes of the default group (if any)."""
    if not (distributed.is_available() and distributed.is_initialized()):
        return
    world_size = distributed.get_world_size()
    if world_size == 1:
        return
    for parameter in net.parameters():
        if parameter.grad is not None:
            distributed.all_reduce(parameter.grad)
            parameter.grad.div_(world_size)


def discriminator(dim: int, width: int, num_layers: int) -> nn.Sequential:
    """MLP ``[batch, dim]`` → two logits (real codes, permuted codes)."""
    layers: list[nn.Module] = []
    previous = dim
    for _ in range(num_layers):
        layers += [nn.Linear(previous, width), nn.LeakyReLU(0.2)]
        previous = width
    layers.append(nn.Linear(previous, 2))
    return nn.Sequential(*layers)


@dataclass(frozen=True, kw_only=True)
class FactorVAEOptions(LikelihoodOptions):
    """γ; the discriminator's width, depth and Adam lr; ``seed`` of its weights and shuffles."""

    gamma: float = 10.0
    discriminator_width: int = 1000
    discriminator_layers: int = 6
    discriminator_lr: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_numbers(self, "gamma")
        check_count("discriminator_width", self.discriminator_width, low=1)
        check_count("discriminator_layers", self.discriminator_layers, low=1)
        check_numbers(self, "discriminator_lr", allow_low=False)
        check_count("seed", self.seed)


@register_objective("factor_vae")
class FactorVAE(ElboObjective):
    """ELBO plus γ times the discriminator's total-correlation estimate."""

    Options = FactorVAEOptions
    options: FactorVAEOptions

    def __init__(self, options: FactorVAEOptions | None = None) -> None:
        super().__init__(options)
        self.generator = torch.Generator().manual_seed(self.options.seed)
        self.discriminator: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None

    def check_model(self, model: VAE) -> None:
        if model.space.dim < 2:
            raise ValueError(f"{self.name}: needs a latent of at least 2 dimensions")

    def _ensure(self, dim: int, device: torch.device) -> nn.Module:
        if self.discriminator is None:
            seed = int(torch.randint(2**31, (1,), generator=self.generator))
            with torch.random.fork_rng(devices=[]):  # initialise without touching global RNG
                torch.manual_seed(seed)
                o = self.options
                net = discriminator(dim, o.discriminator_width, o.discriminator_layers)
            self.discriminator = net.to(device)
            params = self.discriminator.parameters()
            lr = self.options.discriminator_lr
            self.optimizer = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9))
        return self.discriminator

    def _update(self, net: nn.Module, z: Tensor) -> float:
        """One discriminator step: real codes → class 0, permuted codes → class 1."""
        z = z.detach()
        logits = net(torch.cat([z, permute_dims(z, self.generator)]))
        target = torch.cat([torch.zeros(len(z)), torch.ones(len(z))]).long().to(z.device)
        loss = functional.cross_entropy(logits, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_over_processes(net)
        self.optimizer.step()
        return loss.item()

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        net = self._ensure(terms.z.shape[1], terms.z.device)
        weights = {k: v.detach().clone() for k, v in net.state_dict().items()}
        logits = functional_call(net, weights, (terms.z,))
        tc = (logits[:, 0] - logits[:, 1]).mean()
        disc_loss = self._update(net, terms.z)
        penalty = terms.kl.sum(-1).mean() + self.options.gamma * tc
        return penalty, {"tc": tc.item(), "discriminator_loss": disc_loss}

    def state_dict(self) -> dict[str, Any]:
        if self.discriminator is None:
            return {}
        return {
            "discriminator": self.discriminator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),  # the permutations still to come
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        missing = {"discriminator", "optimizer"} - set(state)
        if missing:
            raise ValueError(f"{self.name}: state lacks {sorted(missing)}")
        weights = state["discriminator"]
        first = weights["0.weight"]
        self._ensure(first.shape[1], first.device)
        self.discriminator.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
        if "generator" in state:  # absent in checkpoints written before it was saved
            self.generator.set_state(state["generator"])
