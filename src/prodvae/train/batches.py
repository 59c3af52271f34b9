"""Training batches as a pure function of the step.

Every source draws the *global* batch of step ``s`` from a generator seeded with
``(seed, s)`` and keeps this process's slice of it, so a resumed run sees the same batches
as an uninterrupted one and ``N`` processes together see the batch one process would.

- :class:`RenderedBatches`: procedural data, continuous factor values rendered on the
  training device.
- :class:`HeldBatches`: a file dataset held on the device as ``uint8`` (when it fits).
- :class:`LoaderBatches`: a file dataset read by ``DataLoader`` workers into pinned memory.
- :class:`PairBatches`: weak-supervision pairs sharing all but ``k`` factors (grid cells, or
  matched rows of any labelled file: :func:`~prodvae.data.pairs.sample_pairs`).

Rendered and paired batches are made one step ahead on a background thread
(:class:`Prefetched`) while the current step trains: the same batches, sooner.
"""

from __future__ import annotations

import signal
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.data.pairs import check_pairs, sample_pairs


class Batch(NamedTuple):
    """One process's share of a training batch."""

    x: Tensor  # float [B, C, H, W] in [0, 1]; [B, 2, C, H, W] for pairs
    labels: Tensor | None  # float64 [B, K] factor values, NaN where unlabelled


class Shard(NamedTuple):
    """Which slice of the global batch this process trains on."""

    rank: int
    world_size: int
    global_batch: int

    @property
    def size(self) -> int:
        return self.global_batch // self.world_size

    def take(self, rows: Tensor) -> Tensor:
        """This process's rows of a global ``[global_batch, ...]`` tensor."""
        return rows[self.rank * self.size : (self.rank + 1) * self.size]


def step_generator(seed: int, step: int, salt: int = 0) -> torch.Generator:
    """A CPU generator that depends only on ``(seed, step, salt)``."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 31 + salt)


def to_unit(images: Tensor) -> Tensor:
    """``uint8 [..., C, H, W] -> float32`` in ``[0, 1]``."""
    return images.float().div_(255.0)


class RenderedBatches:
    """Procedural data rendered on ``device`` from fresh continuous factor values."""

    def __init__(
        self, dataset, shard: Shard, seed: int, device: torch.device, label_fraction: float | None
    ) -> None:
        self.dataset, self.shard, self.seed, self.device = dataset, shard, seed, device
        self.label_fraction = label_fraction

    def batch(self, step: int) -> Batch:
        generator = step_generator(self.seed, step)
        values = self.shard.take(self.dataset.sample_values(self.shard.global_batch, generator))
        x = to_unit(self.dataset.render(values, device=self.device))
        labels = None
        if self.label_fraction is not None:
            keep = self.shard.take(torch.rand(self.shard.global_batch, generator=generator))
            labels = torch.where(keep[:, None] < self.label_fraction, values, torch.nan)
        return Batch(x, labels)


class EpochRows:
    """Rows of a dataset of ``num_rows`` items for each step: a fresh permutation per epoch."""

    def __init__(self, num_rows: int, shard: Shard, seed: int) -> None:
        self.num_rows, self.shard, self.seed = num_rows, shard, seed
        self._cache: dict[int, Tensor] = {}

    def permutation(self, epoch: int) -> Tensor:
        if epoch not in self._cache:
            generator = step_generator(self.seed, epoch, salt=1)
            self._cache = {epoch: torch.randperm(self.num_rows, generator=generator)}
        return self._cache[epoch]

    def rows(self, step: int) -> Tensor:
        """This process's rows ``long [B]`` at ``step``."""
        positions = step * self.shard.global_batch + torch.arange(self.shard.global_batch)
        positions = self.shard.take(positions)
        epochs, offsets = positions // self.num_rows, positions % self.num_rows
        rows = torch.empty_like(positions)
        for epoch in epochs.unique().tolist():
            where = epochs == epoch
            rows[where] = self.permutation(epoch)[offsets[where]]
        return rows


def label_mask(num_rows: int, fraction: float, seed: int) -> Tensor:
    """A fixed labelled subset: ``bool [num_rows]``, about ``fraction`` of it true."""
    generator = step_generator(seed, 0, salt=2)
    return torch.rand(num_rows, generator=generator) < fraction


class HeldBatches:
    """A file dataset held as ``uint8`` on ``device``; batches are gathered there."""

    def __init__(
        self, dataset, shard: Shard, seed: int, device: torch.device, label_fraction: float | None
    ) -> None:
        self.rows = EpochRows(len(dataset), shard, seed)
        self.images = load_all_images(dataset, device)
        self.factors = dataset.factors_at(np.arange(len(dataset)))
        self.labelled = (
            None if label_fraction is None else label_mask(len(dataset), label_fraction, seed)
        )

    def batch(self, step: int) -> Batch:
        rows = self.rows.rows(step)
        # index_select: several times faster than advanced indexing on the CPU
        x = to_unit(self.images.index_select(0, rows.to(self.images.device)))
        return Batch(x, _labels(self.factors[rows], rows, self.labelled))


def load_all_images(dataset, device: torch.device, chunk: int = 4096) -> Tensor:
    """Every image of ``dataset`` as ``uint8 [N, C, H, W]`` on ``device``."""
    held = torch.empty((len(dataset), *dataset.image_shape), dtype=torch.uint8, device=device)
    for start in range(0, len(dataset), chunk):
        rows = np.arange(start, min(start + chunk, len(dataset)))
        held[start : start + len(rows)] = dataset.images_at(rows).to(device)
    return held


class _RowsReader(torch.utils.data.Dataset):
    """Maps a whole array of rows to ``(images uint8 [B,C,H,W], factors float64 [B,K])``."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __getitem__(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        array = rows.numpy()
        return self.dataset.images_at(array), self.dataset.factors_at(array), rows


class _StepRows(torch.utils.data.Sampler):
    def __init__(self, rows: EpochRows, start: int, stop: int) -> None:
        self.epoch_rows, self.start, self.stop = rows, start, stop

    def __iter__(self) -> Iterator[Tensor]:
        return (self.epoch_rows.rows(step) for step in range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


def _ignore_interrupts(worker_id: int) -> None:
    """In a DataLoader worker: leave SIGINT/SIGTERM to the main process, which stops the loop
    after the step, checkpoints and shuts the workers down (a Ctrl-C reaches every process of
    the terminal's group)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


class LoaderBatches:
    """A file dataset read by ``DataLoader`` workers, one whole batch per worker task."""

    def __init__(
        self,
        dataset,
        shard: Shard,
        seed: int,
        device: torch.device,
        label_fraction: float | None,
        *,
        num_workers: int,
        num_steps: int,
    ) -> None:
        self.dataset, self.device, self.num_steps = dataset, device, num_steps
        self.num_workers = num_workers
        self.rows = EpochRows(len(dataset), shard, seed)
        self.labelled = (
            None if label_fraction is None else label_mask(len(dataset), label_fraction, seed)
        )
        self._iterator: Iterator | None = None
        self._next_step = -1

    def _start(self, step: int) -> None:
        loader = torch.utils.data.DataLoader(
            _RowsReader(self.dataset),
            sampler=_StepRows(self.rows, step, self.num_steps),
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if self.num_workers > 0 else None,
            worker_init_fn=_ignore_interrupts,
        )
        self._iterator = iter(loader)
        self._next_step = step

    def batch(self, step: int) -> Batch:
        if self._iterator is None or step != self._next_step:
            self._start(step)
        images, factors, rows = next(self._iterator)  # type: ignore[arg-type]
        self._next_step = step + 1
        x = to_unit(images.to(self.device, non_blocking=True))
        return Batch(x, _labels(factors, rows, self.labelled))


class PairBatches:
    """Pairs of images sharing all but ``num_changed`` factors: ``x [B, 2, C, H, W]``.

    A grid dataset pairs grid cells; any other labelled dataset pairs rows matched by their
    factor values (:func:`~prodvae.data.pairs.sample_pairs`). Whether pairs exist is checked
    here, before the first step.
    """

    def __init__(
        self, dataset, shard: Shard, seed: int, device: torch.device, num_changed: int | None
    ) -> None:
        check_pairs(dataset, num_changed)
        self.dataset, self.shard, self.seed, self.device = dataset, shard, seed, device
        self.num_changed = num_changed

    def batch(self, step: int) -> Batch:
        generator = step_generator(self.seed, step, salt=3)
        pair = sample_pairs(
            self.dataset, self.shard.global_batch, self.num_changed, generator=generator
        )
        first, second = (
            self.dataset.images_at(self.shard.take(rows).numpy(), device=self.device)
            for rows in pair
        )
        return Batch(to_unit(torch.stack([first, second], dim=1)), None)


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


def _labels(factors: Tensor, rows: Tensor, labelled: Tensor | None) -> Tensor | None:
    if labelled is None:
        return None
    return torch.where(labelled[rows][:, None], factors, torch.nan)


def fits_on_device(dataset, device: torch.device, share: float = 0.25) -> bool:
    """Whether the ``uint8`` images take at most ``share`` of the free device memory
    (on the CPU: at most 1 GiB, so small files are held in memory rather than re-read)."""
    size = len(dataset) * int(np.prod(dataset.image_shape))
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return size <= share * free
    return size <= 1 << 30


def make_batches(
    dataset,
    shard: Shard,
    device: torch.device,
    *,
    seed: int,
    needs_pairs: bool,
    needs_labels: bool,
    num_changed: int | None,
    label_fraction: float,
    hold_on_device: str,
    num_workers: int,
    num_steps: int,
    prefetch: bool = True,
):
    """The batch source for this dataset and objective (see the module docstring).

    ``prefetch``: make rendered and paired batches a step ahead on a thread (CPU only: on an
    accelerator the rendering is queued asynchronously already).
    """
    if shard.global_batch % shard.world_size:
        raise ValueError(
            f"train.batch_size={shard.global_batch} is not divisible by the "
            f"{shard.world_size} processes"
        )
    fraction = label_fraction if needs_labels else None
    source: PairBatches | RenderedBatches
    if needs_pairs:
        source = PairBatches(dataset, shard, seed, device, num_changed)
    elif getattr(dataset, "is_procedural", False):
        source = RenderedBatches(dataset, shard, seed, device, fraction)
    elif hold_on_device == "always" or (
        hold_on_device == "auto" and fits_on_device(dataset, device)
    ):
        return HeldBatches(dataset, shard, seed, device, fraction)
    else:
        return LoaderBatches(
            dataset, shard, seed, device, fraction, num_workers=num_workers, num_steps=num_steps
        )
    return Prefetched(source, num_steps) if prefetch and device.type == "cpu" else source
