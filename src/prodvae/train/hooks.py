"""Periodic work during training: evaluation and figures, behind one small interface.

A hook is called with a :class:`HookContext` every ``every`` steps (and at the end of the
run) and returns scalars to log. The metric and figure hooks import
:mod:`prodvae.metrics` / :mod:`prodvae.viz` lazily, so the loop runs when either is
missing; a hook that fails logs a warning and training goes on. Hooks run inside
``torch.random.fork_rng`` so they never change the training's random numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HookContext:
    """What a hook may look at: the model in eval mode, its space, data and run folder."""

    step: int
    model: torch.nn.Module
    space: Any
    dataset: Any
    run_dir: Path
    device: torch.device
    writer: Any = None  # the run's TensorBoard SummaryWriter, when TensorBoard is on


class Hook(Protocol):
    """Periodic work; returns scalars to log (may be empty)."""

    every: int
    name: str

    def __call__(self, context: HookContext) -> dict[str, float]: ...


def make_encoder(model: torch.nn.Module, device: torch.device, batch_size: int = 256) -> Callable:
    """``encode(images) -> codes``: images ``uint8`` or float in [0, 1], ``[n, C, H, W]``;
    codes are posterior means ``float64 numpy [n, dim]``, computed in batches without grad."""

    @torch.no_grad()
    def encode(images: torch.Tensor | np.ndarray) -> np.ndarray:
        images = torch.as_tensor(images)
        codes = []
        for start in range(0, images.shape[0], batch_size):
            chunk = images[start : start + batch_size].to(device)
            chunk = chunk.float() / 255.0 if chunk.dtype == torch.uint8 else chunk.float()
            codes.append(model.codes(chunk).double().cpu())
        if not codes:
            return np.zeros((0, model.space.dim))
        return torch.cat(codes).numpy()

    return encode


class MetricsHook:
    """``prodvae.metrics.evaluate`` on the training dataset; scalars prefixed ``eval/``."""

    name = "metrics"

    def __init__(self, every: int, suite: str, fast: bool, num_train: int, num_test: int) -> None:
        self.every, self.suite, self.fast = every, suite, fast
        self.num_train, self.num_test = num_train, num_test
        self.last: dict[str, float] = {}

    def __call__(self, context: HookContext) -> dict[str, float]:
        from prodvae.metrics import evaluate

        encode = make_encoder(context.model, context.device)
        results = evaluate(
            encode,
            context.dataset,
            space=context.space,
            suite=self.suite,
            fast=self.fast,
            num_train=self.num_train,
            num_test=self.num_test,
        )
        self.last = {
            k: v
            for k, v in results.items()
            if isinstance(v, float) and not k.startswith("seconds.")
        }
        return {f"eval/{k}": v for k, v in self.last.items()}


class FiguresHook:
    """``prodvae.viz.write_figures`` into ``figures/`` of the run folder, and the same
    reconstructions and traversals to TensorBoard when the run logs there."""

    name = "figures"

    def __init__(self, every: int) -> None:
        self.every = every

    def __call__(self, context: HookContext) -> dict[str, float]:
        from prodvae.viz import log_figures_to_tensorboard, write_figures

        write_figures(context.model, context.dataset, context.run_dir / "figures")
        if context.writer is not None:
            log_figures_to_tensorboard(context.writer, context.step, context.model, context.dataset)
        return {}


def run_hooks(hooks: list, context: HookContext, *, final: bool) -> dict[str, float]:
    """Call the hooks due at ``context.step``; ``final``: the others instead (the end of a
    run calls both, so every hook runs once at the last step)."""
    scalars: dict[str, float] = {}
    due = [h for h in hooks if (h.every > 0 and context.step % h.every == 0) != final]
    if not due:
        return scalars
    was_training = context.model.training
    context.model.eval()
    try:
        with torch.random.fork_rng(devices=_cuda_devices(context.device)):
            for hook in due:
                scalars.update(_run_one(hook, context))
    finally:
        context.model.train(was_training)
    return scalars


def _run_one(hook, context: HookContext) -> dict[str, float]:
    try:
        return hook(context)
    except ImportError as error:
        log.warning("%s hook skipped at step %d: %s", hook.name, context.step, error)
    except Exception as error:  # noqa: BLE001 -- a failing hook must not lose the training
        log.warning("%s hook failed at step %d: %r", hook.name, context.step, error)
    return {}


def _cuda_devices(device: torch.device) -> list[int]:
    return [device.index or 0] if device.type == "cuda" else []
