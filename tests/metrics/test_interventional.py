"""FactorVAE and BetaVAE scores on a real grid dataset with encoders that know the answer."""

import math

import numpy as np
import pytest
import torch

from prodvae.metrics import beta_vae_score, factor_vae_score, latent_groups
from prodvae.spaces import ProductSpace

from .conftest import index_encoder

SMALL = {"num_train": 200, "num_eval": 100}


def noise_encoder(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return lambda images: torch.randn(images.shape[0], 3, generator=gen)


def test_factor_vae_identity_noise_and_pruning(grid_dataset):
    ident = factor_vae_score(grid_dataset, index_encoder, num_variance_estimate=500, **SMALL)
    assert ident["eval_accuracy"] == 1.0 and ident["train_accuracy"] == 1.0
    assert ident["num_active_dims"] == 3
    noise = factor_vae_score(grid_dataset, noise_encoder(), num_variance_estimate=500, **SMALL)
    assert noise["eval_accuracy"] < 0.6  # majority voting over random argmins

    def with_dead_code(images):
        return torch.cat([index_encoder(images), torch.full((images.shape[0], 1), 2.0)], 1)

    pruned = factor_vae_score(grid_dataset, with_dead_code, num_variance_estimate=500, **SMALL)
    assert pruned["num_active_dims"] == 3 and pruned["eval_accuracy"] == 1.0


def test_factor_vae_loop_uses_circular_variance(grid_dataset):
    # the angle factor as a loop latent that straddles the +-pi cut: its linear variance
    # would be huge when the angle is fixed near pi, the circular one is 0
    space = ProductSpace.parse("loop(3, 0.5) * segment * segment")

    def encode(images):
        idx = index_encoder(images)
        angle = math.pi + 2 * math.pi * idx[:, 0] / 8 + 0.01 * torch.randn(len(idx))
        return torch.column_stack([3 * torch.cos(angle), 3 * torch.sin(angle), idx[:, 1:]])

    groups = latent_groups(space)
    score = factor_vae_score(
        grid_dataset, encode, groups=groups, num_variance_estimate=500, **SMALL
    )
    assert score["eval_accuracy"] == 1.0


def test_beta_vae_identity_noise_and_determinism(grid_dataset):
    ident = beta_vae_score(grid_dataset, index_encoder, **SMALL)
    assert ident["eval_accuracy"] > 0.95
    noise = beta_vae_score(grid_dataset, noise_encoder(), **SMALL)
    assert noise["eval_accuracy"] < 0.6  # chance is 1/3
    again = beta_vae_score(grid_dataset, index_encoder, **SMALL)
    assert again == ident


def test_bad_arguments(grid_dataset):
    with pytest.raises(ValueError, match="num_train"):
        factor_vae_score(grid_dataset, index_encoder, num_train=0)
    with pytest.raises(ValueError, match="batch_size"):
        beta_vae_score(grid_dataset, index_encoder, batch_size=0)


def test_same_seed_same_numbers(grid_dataset):
    a = factor_vae_score(grid_dataset, noise_encoder(1), num_variance_estimate=300, seed=3, **SMALL)
    b = factor_vae_score(grid_dataset, noise_encoder(1), num_variance_estimate=300, seed=3, **SMALL)
    assert a == b
    assert np.isfinite(list(a.values())).all()


def as_rows(dataset, keep=None):
    """``dataset``'s rows (those of ``keep``, a bool mask) as a dataset that is no grid."""
    from prodvae.data import ArrayDataset

    rows = np.arange(len(dataset)) if keep is None else np.flatnonzero(keep)
    images = dataset.images_at(rows).permute(0, 2, 3, 1).numpy()
    return ArrayDataset(images, dataset.factors_at(rows).numpy(), dataset.spec)


def blurred_encoder(sigma=3.0, seed=0):
    """The indices with Gaussian noise of ``sigma`` (their spread is 1 to 2): scores of about
    0.7, between noise and the truth."""
    gen = torch.Generator().manual_seed(seed)

    def encode(images):
        codes = index_encoder(images)
        return codes + sigma * torch.randn(codes.shape, generator=gen, dtype=torch.float64)

    return encode


def test_rows_hold_one_factor_at_a_level_and_draw_the_rest_as_the_data_hold_them(grid_dataset):
    from prodvae.metrics.interventional import RowCells

    rows = as_rows(grid_dataset, np.arange(len(grid_dataset)) % 7 != 3)  # a seventh missing
    assert not rows.is_grid
    cells = RowCells(rows)
    levels = np.rint(rows.factors_at(np.arange(len(rows))).numpy() * [8 / (2 * np.pi), 5, 1])
    generator = torch.Generator().manual_seed(0)
    fixed, first = cells.fixed_batches(400, 16, generator)
    second = cells.partners(fixed, first, generator)
    assert first.shape == second.shape == (400, 16)
    for k, a, b in zip(fixed.tolist(), first.numpy(), second.numpy()):
        held = levels[np.r_[a, b], k]
        assert (held == held[0]).all()  # one level of the held factor, in both batches
    assert set(fixed.tolist()) == {0, 1, 2}
    # the others drawn: every row, over the batches
    assert len(np.unique(first.numpy())) == len(rows)


@pytest.mark.parametrize("score", [factor_vae_score, beta_vae_score])
def test_a_true_encoder_scores_one_on_rows(grid_dataset, score):
    rows = as_rows(grid_dataset, np.arange(len(grid_dataset)) % 5 != 0)
    result = score(rows, index_encoder, **SMALL)
    assert result["eval_accuracy"] == 1.0
    noise = score(rows, noise_encoder(), **SMALL)
    assert noise["eval_accuracy"] < 0.6


@pytest.mark.parametrize("score", [factor_vae_score, beta_vae_score])
def test_a_full_grids_rows_score_as_its_cells_do(grid_dataset, score):
    """A full grid read as rows: a row at random is a cell at random, the rows at one level
    of a factor are its cells at that value, so the two scores agree up to their draws."""
    n = {"num_train": 2000, "num_eval": 2000}
    cells = score(grid_dataset, blurred_encoder(), seed=1, **n)["eval_accuracy"]
    rows = score(as_rows(grid_dataset), blurred_encoder(), seed=2, **n)["eval_accuracy"]
    assert 0.5 < cells < 0.9  # the noise costs something
    # each an accuracy over 2000 votes or points: 5 standard errors of their difference
    spread = 5 * math.sqrt(2 * cells * (1 - cells) / 2000)
    assert abs(cells - rows) < spread
