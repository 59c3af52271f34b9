import numpy as np
import pytest
import torch

from prodvae.data import get_dataset
from prodvae.data.array_dataset import ArrayDataset
from prodvae.data.grid import FactorGrid
from prodvae.train.batches import (
    EpochRows,
    HeldBatches,
    PairBatches,
    RenderedBatches,
    Shard,
)
from prodvae.train.feed import LoaderBatches, make_batches

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def torus():
    return get_dataset("torus", image_size=32, factor_sizes=(6, 5))


@pytest.fixture(scope="module")
def stored(torus):
    """The torus grid as a stored (non-procedural) dataset, rows in grid order."""
    rows = np.arange(len(torus))
    images = torus.images_at(rows).permute(0, 2, 3, 1).numpy()
    factors = torus.factors_at(rows).numpy()
    return ArrayDataset(images, factors, torus.spec, grid=FactorGrid(torus.factor_sizes))


def test_rendered_batches_depend_only_on_seed_and_step(torus):
    source = RenderedBatches(torus, Shard(0, 1, 8), seed=3, device=CPU, label_fraction=None)
    a, b = source.batch(5), source.batch(5)
    assert a.x.shape == (8, 3, 32, 32) and a.x.dtype == torch.float32
    assert torch.equal(a.x, b.x) and a.labels is None
    assert 0.0 <= float(a.x.min()) and float(a.x.max()) <= 1.0
    assert not torch.equal(a.x, source.batch(6).x)
    other_seed = RenderedBatches(torus, Shard(0, 1, 8), seed=4, device=CPU, label_fraction=None)
    assert not torch.equal(a.x, other_seed.batch(5).x)


@pytest.mark.parametrize("kind", ["rendered", "held"])
def test_shards_of_two_processes_make_up_the_global_batch(kind, torus, stored):
    def source(shard):
        if kind == "rendered":
            return RenderedBatches(torus, shard, 1, CPU, label_fraction=0.5)
        return HeldBatches(stored, shard, 1, CPU, label_fraction=0.5)

    whole = source(Shard(0, 1, 8)).batch(2)
    halves = [source(Shard(rank, 2, 8)).batch(2) for rank in (0, 1)]
    assert torch.equal(torch.cat([h.x for h in halves]), whole.x)
    joined = torch.cat([h.labels for h in halves])
    assert torch.equal(joined.isnan(), whole.labels.isnan())
    assert torch.equal(joined.nan_to_num(), whole.labels.nan_to_num())


def test_epoch_rows_visit_every_row_once_per_epoch():
    rows = EpochRows(num_rows=10, shard=Shard(0, 1, 4), seed=0)
    seen = torch.cat([rows.rows(step) for step in range(5)])  # 20 rows = two epochs
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert sorted(seen[10:].tolist()) == list(range(10))
    assert not torch.equal(seen[:10], seen[10:])  # a fresh permutation each epoch


def test_held_and_loader_batches_agree(stored):
    shard = Shard(0, 1, 8)
    held = HeldBatches(stored, shard, 0, CPU, label_fraction=None)
    loader = LoaderBatches(stored, shard, 0, CPU, None, num_workers=2, num_steps=6)
    for step in (0, 1, 2, 5, 3):  # jumping back restarts the loader at that step
        assert torch.equal(held.batch(step).x, loader.batch(step).x)


def test_held_batches_show_the_stored_images(stored):
    held = HeldBatches(stored, Shard(0, 1, 4), 0, CPU, label_fraction=1.0)
    batch = held.batch(0)
    rows = held.rows.rows(0).numpy()
    assert torch.equal(batch.x, stored.images_at(rows).float() / 255)
    assert torch.equal(batch.labels, stored.factors_at(rows))


def test_label_fraction_labels_about_that_share():
    tiny = get_dataset("torus", image_size=8)
    source = RenderedBatches(tiny, Shard(0, 1, 2000), 0, CPU, label_fraction=0.25)
    labels = source.batch(0).labels
    labelled = ~labels.isnan().any(dim=1)
    assert labels.isnan().all(dim=1).eq(~labelled).all()  # whole rows are unlabelled
    assert abs(labelled.float().mean().item() - 0.25) < 0.045  # ~4.6 binomial std (0.0097)


@pytest.mark.parametrize("num_changed", [1, None])
def test_pairs_share_all_but_k_factors(torus, num_changed):
    source = PairBatches(torus, Shard(0, 1, 64), 0, CPU, num_changed)
    x = source.batch(0).x
    assert x.shape == (64, 2, 3, 32, 32)
    # recover the factors by matching each image against the rendered grid
    grid = torus.images_at(np.arange(len(torus))).float().flatten(1) / 255
    index = torch.cdist(x.flatten(2).reshape(128, -1), grid).argmin(dim=1).reshape(64, 2)
    cells = np.stack(np.unravel_index(index.numpy(), torus.factor_sizes), axis=-1)  # [64, 2, K]
    changed = (cells[:, 0] != cells[:, 1]).sum(axis=1)
    if num_changed == 1:
        assert (changed == 1).all()
    else:
        assert ((changed >= 1) & (changed <= 1)).all()  # K = 2 factors: k in 1..K-1


def test_make_batches_picks_the_source(torus, stored):
    common = dict(
        num_changed=1, label_fraction=0.1, num_workers=0, num_steps=3, seed=0, prefetch=False
    )
    shard = Shard(0, 1, 4)
    assert isinstance(
        make_batches(
            torus,
            shard,
            CPU,
            needs_pairs=False,
            needs_labels=False,
            hold_on_device="auto",
            **common,
        ),
        RenderedBatches,
    )
    assert isinstance(
        make_batches(
            torus, shard, CPU, needs_pairs=True, needs_labels=False, hold_on_device="auto", **common
        ),
        PairBatches,
    )
    assert isinstance(
        make_batches(
            stored,
            shard,
            CPU,
            needs_pairs=False,
            needs_labels=True,
            hold_on_device="auto",
            **common,
        ),
        HeldBatches,
    )
    assert isinstance(
        make_batches(
            stored,
            shard,
            CPU,
            needs_pairs=False,
            needs_labels=False,
            hold_on_device="never",
            **common,
        ),
        LoaderBatches,
    )
    with pytest.raises(ValueError, match="not divisible by the 3 processes"):
        make_batches(
            torus,
            Shard(0, 3, 4),
            CPU,
            needs_pairs=False,
            needs_labels=False,
            hold_on_device="auto",
            **common,
        )
