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
