"""Independent model fits of a metric run in worker processes, longest first.

The exact metrics fit one model per factor (DCI's gradient-boosted trees, explicitness's
logistic regressions) or per code and factor (SAP's SVMs). Those fits share nothing, so they
run as a pool of :class:`Job` in joblib's loky worker processes: processes rather than
threads, because scikit-learn's boosting loop holds the GIL between the trees it builds
(some 5-10% of a fit) and liblinear's fits are short, so threads would queue on the lock.
Jobs start longest first (by their ``cost``) so that no core idles at the end behind one
long fit. Each worker runs one job at a time with its BLAS and OpenMP pools held to one
thread, so the cores are not oversubscribed by nested pools.

A job is a module-level function and its arguments, with its own ``random_state`` among
them: its result does not depend on where or when it runs, and ``n_jobs=1`` (in this
process, in the given order) returns exactly what the workers return. The workers serve one
:func:`run_jobs` at a time: joblib keeps one pool of workers per process, and concurrent
calls from several threads race on it (joblib issues #1743, #1816).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from threadpoolctl import threadpool_limits

#: Held while the workers run one call's jobs.
_WORKERS = threading.Lock()


class Job(NamedTuple):
    """One fit: ``fn(*args)``; ``cost`` orders the jobs (larger starts earlier)."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    cost: float = 1.0


def num_binary_problems(labels: np.ndarray) -> int:
    """Binary problems behind one classifier of integer ``labels [N]``: one per class (a
    one-vs-rest model, a multi-class boosting stage), one if there are two classes. A fit's
    cost grows with it."""
    num_classes = np.unique(labels).size
    return num_classes if num_classes > 2 else 1


def _one_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    # Runs in a worker: one BLAS and one OpenMP thread, the workers being one per core.
    with threadpool_limits(limits=1):
        return fn(*args)


def run_jobs(jobs: Sequence[Job], n_jobs: int | None = -1) -> list[Any]:
    """``[job.fn(*job.args) for job in jobs]``, in that order, computed by ``n_jobs`` worker
    processes (joblib's convention: -1 all cores, ``None`` or 1 this process)."""
    workers = effective_n_jobs(n_jobs)
    if workers <= 1 or len(jobs) <= 1:
        return [job.fn(*job.args) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)
    # Always ``workers`` processes, however few the jobs: joblib keeps one pool of workers
    # alive between calls only while the calls ask for the same number.
    with _WORKERS:
        outputs = Parallel(n_jobs=workers, batch_size=1, pre_dispatch="all")(
            delayed(_one_thread)(jobs[i].fn, jobs[i].args) for i in order
        )
    results: list[Any] = [None] * len(jobs)
    for i, output in zip(order, outputs):
        results[i] = output
    return results
