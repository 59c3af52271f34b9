"""Batches made one step ahead on a background thread, while the current step trains."""

from __future__ import annotations

import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from prodvae.train.batches import Batch


class Prefetched:
    """``source``'s batches, each made on a background thread during the step before.

    Exact: ``batch(step)`` is ``source.batch(step)``, since every source draws step ``s`` from
    its own generator seeded with ``(seed, s)`` and never reads the global RNG (the posterior
    noise a checkpoint saves). Prefetching changes when a batch is made, never what it holds;
    a resumed run, or any step other than the one prefetched, is made on demand. Every call
    to ``source`` runs on the one thread, in step order.

    The thread renders with ``num_threads`` intra-op threads (default 1), so that it
    takes up cores the step leaves idle (its Python, optimiser and single-threaded kernels)
    rather than splitting each of the step's parallel kernels into more threads than cores.
    """

    def __init__(self, source, num_steps: int, num_threads: int | None = 1) -> None:
        self.source, self.num_steps = source, num_steps
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prodvae-batches")
        self._pending: tuple[int, Future] | None = None
        # the thread ends with this object (the loop drops it when it returns) or on close()
        self._finalizer = weakref.finalize(
            self, self._executor.shutdown, wait=False, cancel_futures=True
        )
        if num_threads is not None:
            _set_worker_threads(self._executor, num_threads)

    def batch(self, step: int) -> Batch:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == step:
            future = pending[1]
        else:
            if pending is not None:
                pending[1].cancel()
            future = self._executor.submit(self.source.batch, step)
        if step + 1 < self.num_steps:
            self._pending = (step + 1, self._executor.submit(self.source.batch, step + 1))
        return future.result()

    def close(self) -> None:
        """Stop the thread once the batch it is making is done; later calls raise."""
        self._pending = None
        self._finalizer.detach()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _set_worker_threads(executor: ThreadPoolExecutor, num_threads: int) -> None:
    """Give ``executor``'s one thread ``num_threads`` intra-op threads, the caller's unchanged.

    ``torch.set_num_threads`` sets the calling thread's OpenMP team size and also the count
    every thread started later begins with; the caller sets its own count again afterwards so
    that only the worker keeps ``num_threads``.
    """
    own = torch.get_num_threads()

    def configure() -> None:
        torch.get_num_threads()  # first call in a thread: adopts the shared count, once
        torch.set_num_threads(num_threads)

    executor.submit(configure).result()
    torch.set_num_threads(own)
