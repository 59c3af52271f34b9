"""Data-parallel training under ``torchrun``: process group, device, gradient averaging.

One process per device; ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``.
The process group uses NCCL on GPUs and gloo on CPUs. Gradients are averaged with one
all-reduce of a flat buffer per step, which also carries the step's loss and the
"non-finite" and "stop requested" flags, so every process takes the same decisions.
(Objectives call ``model.encode``/``model.decode`` directly, which bypasses the forward
hook that ``torch.nn.parallel.DistributedDataParallel`` relies on, so we reduce explicitly.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Environment:
    """Where this process runs."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:<local_rank>`` if available, else ``mps``, else ``cpu``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(
            f"train.device: unknown device {name!r}; use auto, cpu, cuda, mps"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("train.device=cuda but no CUDA device is available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
    return device


def setup(device_name: str) -> Environment:
    """Join the process group if launched by ``torchrun``; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Environment(rank=rank, world_size=world_size, device=device)


def teardown(env: Environment) -> None:
    """Leave the process group (if this run joined one)."""
    if env.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: Environment) -> None:
    """Wait for every process (no-op in a single process)."""
    if env.is_distributed:
        dist.barrier()


def broadcast_parameters(module: torch.nn.Module, env: Environment) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    if not env.is_distributed:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def reduce_step(
    parameters: list[torch.nn.Parameter],
    loss: float,
    flags: tuple[bool, ...],
    env: Environment,
) -> tuple[float, tuple[bool, ...]]:
    """Average gradients (in place), the loss and OR the flags over all processes.

    Returns the mean loss and the flags that any process raised.
    """
    if not env.is_distributed:
        return loss, flags
    device = parameters[0].device
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    extras = torch.tensor([loss if _finite(loss) else 0.0, *map(float, flags)], device=device)
    flat = torch.cat([g.reshape(-1).float() for g in grads] + [extras])
    dist.all_reduce(flat)
    offset = 0
    for parameter, grad in zip(parameters, grads):
        size = grad.numel()
        parameter.grad = (
            (flat[offset : offset + size] / env.world_size).view_as(grad).to(grad.dtype)
        )
        offset += size
    tail = flat[offset:].tolist()
    return tail[0] / env.world_size, tuple(value > 0 for value in tail[1:])


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
