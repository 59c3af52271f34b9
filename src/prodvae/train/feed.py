"""The batch source a run trains on (:func:`make_batches`), and file datasets read by
``DataLoader`` workers (:class:`LoaderBatches`); the other sources are in
:mod:`prodvae.train.batches`."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from prodvae.train.batches import (
    Batch,
    EpochRows,
    HeldBatches,
    PairBatches,
    RenderedBatches,
    Shard,
    label_mask,
    labels_of,
    to_unit,
)
from prodvae.train.prefetch import Prefetched


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
        return Batch(x, labels_of(factors, rows, self.labelled))


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
