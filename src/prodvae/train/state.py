"""The mutable part of a run: optimizer, learning-rate schedule, counters and RNG states."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from prodvae.objectives import Objective
from prodvae.objectives.schedules import Ramp
from prodvae.train.checkpoint import rng_state, set_rng_state
from prodvae.train.config import Config, TrainConfig

log = logging.getLogger(__name__)


def process_seed(seed: int, rank: int) -> int:
    """The seed of the global torch RNG (posterior noise) in process ``rank``."""
    return seed + 7919 * rank


def lr_factor(train: TrainConfig):
    """Learning-rate multiplier at each step: a linear ramp over ``warmup_steps``, times, for
    ``lr_schedule: cosine``, the objectives' cosine :class:`~prodvae.objectives.schedules.Ramp`
    from 1 at ``decay_start`` to ``min_lr_ratio`` at the last step (``steps - 1``)."""
    warmup, start = train.warmup_steps, train.decay_start
    decay = Ramp(1.0, train.min_lr_ratio, max(train.steps - 1 - start, 1), "cosine")

    def factor(step: int) -> float:
        ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        if train.lr_schedule == "constant":
            return ramp
        return ramp * decay(max(step - start, 0))

    return factor


@dataclass
class TrainingState:
    """Optimizer (AdamW), scheduler and the count of skipped non-finite steps."""

    parameters: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    num_nonfinite: int = 0

    @classmethod
    def create(cls, model: torch.nn.Module, config: Config, objective: Objective) -> TrainingState:
        """AdamW over ``model``; weight decay from ``train.weight_decay``, or the
        objective's own (QLAE asks for 0.1) when the config leaves it at 0."""
        parameters = [p for p in model.parameters() if p.requires_grad]
        decay = config.train.weight_decay or objective.weight_decay
        optimizer = torch.optim.AdamW(parameters, lr=config.train.lr, weight_decay=decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config.train))
        return cls(parameters, optimizer, scheduler)

    def payload(self, objective: Objective, env) -> dict[str, Any]:
        """Everything but the weights, as plain values and tensors (collective under DDP)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "objective": objective.state_dict(),
            "rng": gather_rng_states(env),
            "num_nonfinite": self.num_nonfinite,
            "world_size": env.world_size,
        }

    def load(self, state: dict[str, Any], objective: Objective, env) -> None:
        """Restore what :meth:`payload` saved (weights are loaded separately)."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("objective"):
            objective.load_state_dict(to_device(state["objective"], env.device))
        self.num_nonfinite = int(state["num_nonfinite"])
        states = state["rng"]
        if state.get("world_size", 1) == env.world_size:
            set_rng_state(states[env.rank])
        else:
            log.warning(
                "checkpoint written by %s processes, resumed by %s: posterior noise is reseeded",
                state.get("world_size"),
                env.world_size,
            )
            torch.manual_seed(process_seed(int(state["step"]), env.rank))


def to_device(tree: Any, device: torch.device) -> Any:
    """``tree`` (nested dicts/lists of tensors and plain values) with tensors on ``device``."""
    if isinstance(tree, torch.Tensor):
        return tree.to(device)
    if isinstance(tree, dict):
        return {key: to_device(value, device) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_device(value, device) for value in tree)
    return tree


def gather_rng_states(env) -> list[dict[str, Any]]:
    """The RNG state of every process, indexed by rank (identical on all ranks)."""
    own = rng_state()
    if not env.is_distributed:
        return [own]
    gathered: list[Any] = [None] * env.world_size
    # our own processes' RNG states, never read from disk, so pickling here is safe
    dist.all_gather_object(gathered, own)
    return gathered
