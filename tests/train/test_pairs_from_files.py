"""Training on weak-supervision pairs drawn from a labelled file that is not a grid."""

import math

import numpy as np
import pytest
import torch
from tests.data.labelled_files import objects_at_angles, write_labelled_file

from prodvae.cli import main
from prodvae.data import from_file
from prodvae.train import read_metrics
from prodvae.train.batches import PairBatches, Shard

CPU = torch.device("cpu")
KINDS = ("points", "loop", "segment")
CONFIG = (
    "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
    "objective: {name: ada_gvae}\n"
    "train: {steps: 3, batch_size: 8, log_every: 1, progress: false, num_workers: 0}\n"
    "eval: {at_end: false}\n"
    "run: {tensorboard: false}\n"
)


@pytest.fixture(scope="module")
def photos_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "photos.h5"
    factors = objects_at_angles(num_rows=300)
    return write_labelled_file(path, factors, KINDS, periods={1: 2 * math.pi}, image_size=32)


def test_pair_batches_from_a_file_are_reproducible_and_sharded(photos_file):
    dataset = from_file(photos_file)
    whole = PairBatches(dataset, Shard(0, 1, 8), 0, CPU, num_changed=None)
    x = whole.batch(4).x
    assert x.shape == (8, 2, 3, 32, 32) and x.dtype == torch.float32
    assert torch.equal(x, whole.batch(4).x) and not torch.equal(x, whole.batch(5).x)
    halves = [PairBatches(dataset, Shard(r, 2, 8), 0, CPU, None).batch(4) for r in (0, 1)]
    assert torch.equal(torch.cat([half.x for half in halves]), x)
    # each pair says which factors it changes: 1 or 2 of the 3, the same in each shard
    changed = whole.batch(4).changed
    assert changed.shape == (8, 3) and changed.dtype == torch.bool
    assert ((changed.sum(1) >= 1) & (changed.sum(1) <= 2)).all()
    assert torch.equal(torch.cat([half.changed for half in halves]), changed)


def train_on(path, runs, *overrides):
    config = runs.parent / "pairs.yaml"
    config.write_text(CONFIG)
    sets = ["data.name=file", f"data.path={path}", f"run.dir={runs}", *overrides]
    return main(["train", str(config), *[arg for item in sets for arg in ("--set", item)]])


def test_prodvae_train_draws_pairs_from_a_file(photos_file, tmp_path):
    assert train_on(photos_file, tmp_path / "runs") == 0
    lines = read_metrics(tmp_path / "runs" / "pairs")
    assert [line["step"] for line in lines] == [1, 2, 3]
    assert all(math.isfinite(line["loss"]) for line in lines)


def test_pairs_that_say_what_they_change_share_the_other_latent_factors(
    photos_file, tmp_path, capsys
):
    """``changed: known``: each pair of the file changes one factor, so of the space's three
    latent factors exactly two are shared in every pair (the detected rule varies)."""
    runs = tmp_path / "runs"
    known = ("objective.name=product", "objective.options={weak: ada_gvae, changed: known}")
    assert train_on(photos_file, runs, "model.space=auto", *known) == 0
    two_thirds = torch.tensor(2 / 3).item()  # the float32 mean of the shared flags, exact
    assert [line["shared_fraction"] for line in read_metrics(runs / "pairs")] == [two_thirds] * 3
    # a space with another number of factors cannot stand for the file's factors
    assert train_on(photos_file, tmp_path / "other", "model.space=loop * segment", *known) == 2
    error = capsys.readouterr().err
    assert "changed: known needs one latent factor per varying ground-truth factor" in error
    assert "(f0, f1, f2: model.space: auto)" in error and "has 2 factors" in error


def test_a_file_without_pairs_fails_before_the_run_names_the_factor(tmp_path, capsys):
    objects = np.random.default_rng(0).integers(0, 4, 40).astype(np.float64)
    factors = np.stack([objects, objects + 0.5], axis=1)  # the second factor copies the first
    path = write_labelled_file(tmp_path / "tied.npz", factors, ("points", "points"), image_size=32)
    assert train_on(path, tmp_path / "runs") == 2
    assert "factors 'f0', 'f1' never change alone" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
