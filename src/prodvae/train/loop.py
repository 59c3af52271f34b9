"""The one training loop of prodvae.

``train(config, run_dir)`` trains any objective on any dataset on any device: bf16
autocast on CUDA, optional ``torch.compile``, gradient clipping, a progress bar, scalars to
``metrics.jsonl`` and TensorBoard, periodic evaluation and figures through hooks, atomic
checkpoints, exact resume, and a clean stop on SIGINT/SIGTERM or too many non-finite losses.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from tqdm import tqdm

from prodvae.train import distributed
from prodvae.train.batches import Shard
from prodvae.train.build import Components, build_components, build_dataset
from prodvae.train.checkpoint import identity_digest, load_latest, save_checkpoint, set_aside
from prodvae.train.config import DISCOVER_SPACE, Config
from prodvae.train.discovery import discover_space
from prodvae.train.feed import make_batches
from prodvae.train.hooks import FiguresHook, HookContext, MetricsHook, run_hooks
from prodvae.train.run_folder import RunFolder, ScalarLog
from prodvae.train.signals import StopRequest
from prodvae.train.state import TrainingState, process_seed

log = logging.getLogger(__name__)


class TrainResult(NamedTuple):
    """How a call to :func:`train` ended."""

    run_dir: Path
    step: int
    status: str  # "finished", "interrupted" or "nonfinite"
    num_nonfinite: int
    loss: float | None
    checkpoint: Path | None


@dataclass
class _Window:
    """Throughput between two log lines."""

    start_time: float
    start_step: int


def train(
    config: Config,
    run_dir: str | Path,
    *,
    resume: bool = False,
    hooks: list | None = None,
    dataset: Any = None,
) -> TrainResult:
    """Train ``config`` in ``run_dir`` (created, or resumed from its latest checkpoint).

    ``hooks`` replaces the default metric/figure hooks built from ``config.eval``;
    ``dataset`` replaces the dataset that ``config.data`` names. ``model.space: discover``
    first reads each factor's kind from the data (:mod:`prodvae.train.discovery`).
    """
    discover = config.model.space == DISCOVER_SPACE
    if discover and not resume:
        RunFolder(run_dir).check_new()  # before the reading, not after it
    env = distributed.setup(config.train.device)
    try:
        if discover:  # every process reads the same space; the main one records it
            dataset = build_dataset(config.data) if dataset is None else dataset  # built once
            config = discover_space(config, Path(run_dir), dataset, record=env.is_main)
        result = _Trainer(config, RunFolder(run_dir), env, hooks, dataset).run(resume)
        distributed.barrier(env)  # leave together: no process tears down while another talks
        return result
    finally:
        distributed.teardown(env)


class _Trainer:
    def __init__(self, config: Config, folder: RunFolder, env, hooks, dataset) -> None:
        self.config, self.folder, self.env = config, folder, env
        self.parts: Components = build_components(config, dataset=dataset)
        self.model = self.parts.model.to(env.device)
        self.parts.objective.to(env.device)
        self.state = TrainingState.create(self.model, config, self.parts.objective)
        self.hooks = hooks if hooks is not None else default_hooks(config)
        self.shard = Shard(env.rank, env.world_size, config.train.batch_size)

    # --- setup -----------------------------------------------------------------------------
    def _restore(self) -> int:
        found = load_latest(self.folder.checkpoints, self.model, self.config.identity())
        if found is None:
            return 0
        self.state.load(found.state, self.parts.objective, self.env)
        log.info("resumed from %s at step %d", found.path, found.step)
        if found.skipped:
            distributed.barrier(self.env)  # every process has read its checkpoint
        if found.skipped and self.env.is_main:
            # so that reaching those steps again writes them afresh instead of keeping them
            for path in found.skipped:
                log.warning("corrupt checkpoint %s moved aside to %s", path, set_aside(path))
        return found.step

    def _prepare(self, resume: bool) -> int:
        torch.manual_seed(process_seed(self.config.train.seed, self.env.rank))
        if not resume:
            self.folder.check_new()  # on every process, so none waits for a failed one
            distributed.barrier(self.env)
            if self.env.is_main:
                self.folder.create(self.config)
        start = self._restore() if resume else 0
        distributed.broadcast_parameters(self.model, self.env)
        if self.config.train.channels_last:  # in place: the optimiser keeps its parameters
            self.model.use_channels_last()
        if self.config.train.compile:
            for child in self.model.children():
                child.compile()
        return start

    # --- the loop --------------------------------------------------------------------------
    def run(self, resume: bool) -> TrainResult:
        start = self._prepare(resume)
        batches = self._batches()
        scalars = self._open_log(start) if self.env.is_main else None
        bar = tqdm(
            total=self.config.train.steps,
            initial=start,
            unit="step",
            dynamic_ncols=True,
            disable=not (self.config.train.progress and self.env.is_main),
        )
        try:
            status, step, loss = self._loop(start, batches, scalars, bar)
            checkpoint = self._save(step)
            if status == "finished" and self.config.eval.at_end:
                self._hooks(step, scalars, final=True)
        finally:
            bar.close()
            if scalars is not None:
                scalars.close()
        return TrainResult(
            self.folder.path, step, status, self.state.num_nonfinite, loss, checkpoint
        )

    def _loop(self, step: int, batches, scalars, bar) -> tuple[str, int, float | None]:
        """Steps until ``train.steps``, a stop signal or too many non-finite losses."""
        status, loss = "finished", None
        window = _Window(time.perf_counter(), step)
        with StopRequest() as stop:
            while step < self.config.train.steps:
                outcome = self._step(batches.batch(step), step, stop.requested)
                step += 1
                bar.update(1)
                if outcome.finite:
                    loss = outcome.loss
                    self._log(step, outcome, scalars, bar, window)
                if self.state.num_nonfinite > self.config.train.max_nonfinite:
                    return "nonfinite", step, loss
                if outcome.stop:
                    return "interrupted", step, loss
                self._periodic(step, scalars)
        return status, step, loss

    def _batches(self):
        objective = self.parts.objective
        return make_batches(
            self.parts.dataset,
            self.shard,
            self.env.device,
            seed=self.config.train.seed,
            needs_pairs=objective.needs_pairs,
            needs_labels=objective.needs_labels,
            num_changed=self.config.data.num_changed,
            label_fraction=objective.labelled_fraction,
            hold_on_device=self.config.data.hold_on_device,
            num_workers=self.config.train.num_workers,
            num_steps=self.config.train.steps,
        )

    def _step(self, batch, step: int, stop_requested: bool) -> _Outcome:
        model, objective, optimizer = self.model, self.parts.objective, self.state.optimizer
        optimizer.zero_grad(set_to_none=True)
        labels = None if batch.labels is None else batch.labels.to(self.env.device)
        with self._autocast():
            known = {"changed": batch.changed} if objective.needs_changed else {}
            loss, logs = objective(model, batch.x, step, labels=labels, **known)
        value = float(loss.detach())
        finite = math.isfinite(value)
        if finite:
            loss.backward()
        value, (nonfinite, stop) = distributed.reduce_step(
            self.state.parameters, value, (not finite, stop_requested), self.env
        )
        grad_norm = self._clip()
        lr = optimizer.param_groups[0]["lr"]  # this step's, before the schedule moves it
        finite = not nonfinite and math.isfinite(grad_norm)
        if finite:
            optimizer.step()
        else:
            self.state.num_nonfinite += 1
            optimizer.zero_grad(set_to_none=True)
            log.warning(
                "step %d: non-finite loss or gradient skipped (%d so far, at most %d)",
                step,
                self.state.num_nonfinite,
                self.config.train.max_nonfinite,
            )
        self.state.scheduler.step()
        return _Outcome(value, dict(logs), grad_norm, lr, finite, stop)

    def _clip(self) -> float:
        max_norm = self.config.train.grad_clip or float("inf")
        grads = [p for p in self.state.parameters if p.grad is not None]
        if not grads:
            return 0.0
        return float(torch.nn.utils.clip_grad_norm_(grads, max_norm))

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.env.device.type == "cuda" and self.config.train.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # --- logging, checkpoints, hooks ------------------------------------------------------------
    def _open_log(self, start: int) -> ScalarLog:
        if start > 0 or self.folder.metrics_path.exists():
            self.folder.truncate_metrics(start)
        return ScalarLog(
            self.folder, tensorboard=self.config.run.tensorboard, purge_step=start or None
        )

    def _log(self, step: int, outcome: _Outcome, scalars, bar, window: _Window) -> None:
        every = self.config.train.log_every
        if step % every and step != self.config.train.steps:
            return
        now = time.perf_counter()
        images = (step - window.start_step) * self.config.train.batch_size
        rate = images / max(now - window.start_time, 1e-9)
        window.start_time, window.start_step = now, step
        bar.set_postfix(loss=f"{outcome.loss:.4g}", img_s=f"{rate:.0f}", refresh=False)
        if scalars is None:
            return
        values = {"loss": outcome.loss, **outcome.logs}
        annealed = self.parts.objective.schedule(step).items()
        values.update({f"schedule/{k}": v for k, v in annealed if k not in outcome.logs})
        values.update(
            {
                "lr": outcome.lr,
                "grad_norm": outcome.grad_norm,
                "images_per_s": rate,
                "nonfinite": float(self.state.num_nonfinite),
            }
        )
        scalars.write(step, values)

    def _periodic(self, step: int, scalars) -> None:
        if step % self.config.train.checkpoint_every == 0:
            self._save(step)
        self._hooks(step, scalars, final=False)

    def _hooks(self, step: int, scalars, *, final: bool) -> None:
        if not self.env.is_main or not self.hooks:
            return
        context = HookContext(
            step,
            self.model,
            self.parts.space,
            self.parts.dataset,
            self.folder.path,
            self.env.device,
            writer=scalars.writer if scalars is not None else None,
        )
        values = run_hooks(self.hooks, context, final=final)
        if values and scalars is not None:
            scalars.write(step, values)

    def _save(self, step: int) -> Path | None:
        payload = self.state.payload(self.parts.objective, self.env)
        if not self.env.is_main:
            return None
        identity = self.config.identity()
        payload.update(
            config=self.config.to_dict(),
            identity=identity,
            identity_digest=identity_digest(identity),
        )
        return save_checkpoint(
            self.folder.checkpoints,
            step,
            self.model,
            payload,
            keep=self.config.train.keep_checkpoints,
        )


class _Outcome(NamedTuple):
    loss: float
    logs: dict[str, Any]
    grad_norm: float
    lr: float
    finite: bool
    stop: bool


def default_hooks(config: Config) -> list:
    """Metrics every ``eval.every`` steps and figures every ``eval.figures_every`` steps."""
    return [
        MetricsHook(
            config.eval.every,
            config.eval.suite,
            config.eval.fast,
            config.eval.num_train,
            config.eval.num_test,
        ),
        FiguresHook(config.eval.figures_every),
    ]
