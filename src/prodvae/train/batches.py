"""Training batches as a pure function of the step.

Every source draws the *global* batch of step ``s`` from a generator seeded with
``(seed, s)`` and keeps this process's slice of it, so a resumed run sees the same batches
as an uninterrupted one and ``N`` processes together see the batch one process would.

- :class:`RenderedBatches`: procedural data, continuous factor values rendered on the
  training device.
- :class:`HeldBatches`: a file dataset held on the device as ``uint8`` (when it fits).
- :class:`~prodvae.train.feed.LoaderBatches`: a file dataset read by ``DataLoader`` workers
  into pinned memory.
- :class:`PairBatches`: weak-supervision pairs sharing all but ``k`` factors (grid cells, or
  matched rows of any labelled file: :func:`~prodvae.data.pairs.sample_pairs`).

File batches read by ``DataLoader`` workers, and :func:`make_batches`, which picks the
source for a run, are in :mod:`prodvae.train.feed`; rendered and paired batches are made one
step ahead on a background thread (:class:`~prodvae.train.prefetch.Prefetched`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.data.pairs import check_pairs, sample_pairs


class Batch(NamedTuple):
    """One process's share of a training batch."""

    x: Tensor  # float [B, C, H, W] in [0, 1]; [B, 2, C, H, W] for pairs
    labels: Tensor | None  # float64 [B, K] factor values, NaN where unlabelled
    changed: Tensor | None = None  # bool [B, K] for pairs: the factors each pair changes


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
        return Batch(x, labels_of(self.factors[rows], rows, self.labelled))


def load_all_images(dataset, device: torch.device, chunk: int = 4096) -> Tensor:
    """Every image of ``dataset`` as ``uint8 [N, C, H, W]`` on ``device``."""
    held = torch.empty((len(dataset), *dataset.image_shape), dtype=torch.uint8, device=device)
    for start in range(0, len(dataset), chunk):
        rows = np.arange(start, min(start + chunk, len(dataset)))
        held[start : start + len(rows)] = dataset.images_at(rows).to(device)
    return held


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
            for rows in (pair.rows1, pair.rows2)
        )
        changed = self.shard.take(pair.changed).to(self.device)
        return Batch(to_unit(torch.stack([first, second], dim=1)), None, changed)


def labels_of(factors: Tensor, rows: Tensor, labelled: Tensor | None) -> Tensor | None:
    if labelled is None:
        return None
    return torch.where(labelled[rows][:, None], factors, torch.nan)
