"""Worker processes of a benchmark sweep that end with it.

A sweep that trains several runs at once (``python -m benchmarks.recovery --jobs 2``) runs
each in a process of a :class:`~concurrent.futures.ProcessPoolExecutor`. Killed with
``kill``, the sweep used to leave those processes training on, unseen (their command line is
Python's spawn stub, so ``pkill -f benchmarks.recovery`` misses them), into folders a new
sweep would then share. Here each worker, on Linux, asks for SIGTERM when the sweep dies,
which the trainer takes as a request to checkpoint and stop after its step, and ends once
its run does.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import TypeVar

import torch

#: Linux's prctl option that sends a process a signal when its parent dies
PR_SET_PDEATHSIG = 1

T = TypeVar("T")

#: in a worker, the sweep's process id
_sweep: int | None = None


def start_worker(threads: int, parent: int) -> None:
    """A pool's initializer: ``threads`` torch threads and, on Linux, SIGTERM when the sweep
    (process ``parent``) dies."""
    global _sweep
    _sweep = parent
    torch.set_num_threads(threads)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the sweep died before the line above
            os.kill(os.getpid(), signal.SIGTERM)


def call_in_worker(function: Callable[..., T], *args: object) -> T:
    """``function(*args)``; in a worker started by :func:`start_worker`, the worker then ends
    if the sweep has died meanwhile (else it would wait for a next task forever)."""
    try:
        return function(*args)
    finally:
        if _sweep is not None and os.getppid() != _sweep:
            os._exit(1)
