"""Synthetic codes whose disentanglement is known by construction."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest


class Split(NamedTuple):
    codes_train: np.ndarray
    factors_train: np.ndarray
    codes_test: np.ndarray
    factors_test: np.ndarray


def make_split(kind: str, n_train=800, n_test=400, sizes=(4, 5, 3), seed=0) -> Split:
    """``identity``: code j = factor j + small noise; ``noise``: codes independent of factors;
    ``mixed``: identity codes rotated by 30 degrees in the first plane."""
    rng = np.random.default_rng(seed)
    parts = []
    for n in (n_train, n_test):
        factors = np.stack([rng.integers(0, s, size=n) for s in sizes], axis=1)
        if kind == "noise":
            codes = rng.normal(size=(n, len(sizes)))
        else:
            codes = factors + rng.normal(0, 0.1, size=factors.shape)
        if kind == "mixed":
            angle = np.pi / 6
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            codes[:, :2] = codes[:, :2] @ rot
        parts.append((codes, factors))
    return Split(parts[0][0], parts[0][1], parts[1][0], parts[1][1])


@pytest.fixture(scope="session")
def identity_split() -> Split:
    return make_split("identity")


@pytest.fixture(scope="session")
def noise_split() -> Split:
    return make_split("noise")


@pytest.fixture(scope="session")
def split_factory():
    """:func:`make_split` for tests that need other cases."""
    return make_split


def make_grid_dataset(spec):
    """A full-grid :class:`ArrayDataset` whose image row ``[1, K]`` holds the grid indices
    (pixel ``k`` = index of factor ``k``), so an encoder can read the factors back."""
    from prodvae.data import ArrayDataset
    from prodvae.data.grid import FactorGrid

    sizes = tuple(len(s.values) for s in spec)
    indices = np.indices(sizes).reshape(len(sizes), -1).T
    values = np.stack([np.asarray(s.values)[indices[:, k]] for k, s in enumerate(spec)], 1)
    images = indices.astype(np.uint8)[:, None, :]  # [N, H=1, W=K]
    return ArrayDataset(images, values, tuple(spec), grid=FactorGrid(sizes))


def index_encoder(images):
    """Codes = the grid indices stored in the image, ``[n, K]`` float64."""
    return images.double().reshape(images.shape[0], -1)


@pytest.fixture(scope="session")
def grid_spec():
    from prodvae.data import FactorSpec

    return (
        FactorSpec("angle", "loop", tuple(2 * np.pi * np.arange(8) / 8), period=2 * np.pi),
        FactorSpec("position", "segment", tuple(np.linspace(0.0, 1.0, 6))),
        FactorSpec("shape", "points", (0.0, 1.0, 2.0)),
    )


@pytest.fixture(scope="session")
def grid_dataset(grid_spec):
    return make_grid_dataset(grid_spec)
