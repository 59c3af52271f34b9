"""Where the cells of a sweep run: in this process, or through submitit (local or SLURM).

An executor takes a function and a list of argument tuples and returns one
:class:`JobOutcome` per tuple, in order; a failing job is reported, never raised, so one
broken cell does not lose the rest of a long sweep. Executors register by decorator.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from prodvae.registry import Registry

log = logging.getLogger(__name__)

#: Registered executors by name.
EXECUTORS: Registry[type] = Registry("executor")


def register_executor(name: str) -> Callable[[type], type]:
    """Class decorator: make an executor ``cls(options: ExecutorOptions)`` nameable."""
    return EXECUTORS.register(name)


@dataclass(frozen=True)
class ExecutorOptions:
    """Options of the submitit executors (ignored by ``inline``).

    ``folder``: submitit's logs and pickles. ``parallel``: jobs in flight at once (local) or
    the SLURM array parallelism. The rest go to SLURM: ``partition``, ``timeout_min``,
    ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``.
    """

    folder: Path
    parallel: int = 1
    partition: str | None = None
    timeout_min: int = 720
    gpus_per_node: int = 0
    cpus_per_task: int = 2
    mem_gb: int | None = None

    def __post_init__(self) -> None:
        for name in ("parallel", "timeout_min", "cpus_per_task"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.gpus_per_node < 0:
            raise ValueError(f"gpus_per_node must be >= 0, got {self.gpus_per_node}")


class JobOutcome(NamedTuple):
    """``value`` of a job that returned, or ``error`` (a one-line message) of one that raised."""

    value: Any
    error: str | None


def get_executor(name: str, options: ExecutorOptions) -> Any:
    """Executor ``name`` with ``options``; an unknown name lists the registered ones."""
    return EXECUTORS.build(name, options)


@register_executor("inline")
class InlineExecutor:
    """Runs every job one after the other in this process (tests, debugging)."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple]) -> list[JobOutcome]:
        outcomes = []
        for args in jobs:
            try:
                outcomes.append(JobOutcome(fn(*args), None))
            except Exception as error:  # noqa: BLE001 -- reported per cell, the sweep goes on
                log.error("job failed: %s", traceback.format_exc())
                outcomes.append(JobOutcome(None, f"{type(error).__name__}: {error}"))
        return outcomes


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise ValueError(
            "the local and slurm executors need submitit: pip install 'prodvae[bench]' "
            "(or use --executor inline)"
        ) from None
    return submitit


@register_executor("local")
class LocalExecutor:
    """submitit's local executor: each job in its own process, ``parallel`` at a time."""

    cluster = "local"

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options
        self.executor = _submitit().AutoExecutor(folder=str(options.folder), cluster=self.cluster)
        self.executor.update_parameters(timeout_min=options.timeout_min)

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple]) -> list[JobOutcome]:
        pending = list(enumerate(jobs))
        running: dict[int, Any] = {}
        outcomes: dict[int, JobOutcome] = {}
        while pending or running:
            while pending and len(running) < self.options.parallel:
                index, args = pending.pop(0)
                running[index] = self.executor.submit(fn, *args)
            for index in [i for i, job in running.items() if job.done()]:
                outcomes[index] = _collect(running.pop(index))
            time.sleep(0.2 if running else 0.0)
        return [outcomes[i] for i in range(len(jobs))]


@register_executor("slurm")
class SlurmExecutor:
    """submitit on SLURM: one array job, at most ``parallel`` tasks at a time."""

    cluster = "slurm"

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options
        self.executor = _submitit().AutoExecutor(folder=str(options.folder), cluster=self.cluster)
        parameters: dict[str, Any] = {
            "timeout_min": options.timeout_min,
            "gpus_per_node": options.gpus_per_node,
            "cpus_per_task": options.cpus_per_task,
            "slurm_array_parallelism": options.parallel,
        }
        if options.partition:
            parameters["slurm_partition"] = options.partition
        if options.mem_gb:
            parameters["mem_gb"] = options.mem_gb
        self.executor.update_parameters(**parameters)

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple]) -> list[JobOutcome]:
        if not jobs:
            return []
        submitted = self.executor.map_array(fn, *zip(*jobs))
        log.info("submitted SLURM array %s", submitted[0].job_id.split("_")[0])
        return [_collect(job) for job in submitted]


def _collect(job: Any) -> JobOutcome:
    try:
        return JobOutcome(job.result(), None)
    except Exception as error:  # noqa: BLE001 -- submitit re-raises the job's failure
        message = str(error).strip().splitlines()
        return JobOutcome(None, f"{type(error).__name__}: {message[-1] if message else ''}")
