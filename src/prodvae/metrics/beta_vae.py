"""BetaVAE score (Higgins et al., ICLR 2017) as in disentanglement_lib.

A point fixes one random factor ``k`` across ``batch_size`` (64) pairs of images; its feature
is the mean over pairs of ``|z1 - z2|`` (wrapped differences for loop angles) and its label
``k``. A logistic regression (one-vs-rest, liblinear, C = 1: the reference's
``LogisticRegression()``) is fitted on ``num_train`` points and scored on ``num_eval``.
``fast``: 1,000 / 500 points. On a dataset that is no grid the factor is held at a level of
its rows (:mod:`~prodvae.metrics.interventional`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from prodvae.metrics.groups import LatentGroup
from prodvae.metrics.interventional import (
    Encode,
    abs_difference,
    cells_of,
    make_generator,
)
from prodvae.metrics.registry import MetricInputs, register_metric

#: Sample sizes of the fast preset.
FAST_NUM_TRAIN, FAST_NUM_EVAL = 1000, 500
#: Points per chunk of encoding (32 points x 2 x 64 images).
POINTS_PER_CHUNK = 32


def _points(cells, encode, groups, num_points, batch_size, generator):
    """Features ``[num_points, M]`` and labels ``[num_points]``."""
    features, labels = [], []
    for start in range(0, num_points, POINTS_PER_CHUNK):
        count = min(POINTS_PER_CHUNK, num_points - start)
        fixed, first = cells.fixed_batches(count, batch_size, generator)
        second = cells.partners(fixed, first, generator)
        codes = cells.encode(encode, torch.cat([first, second]), groups)
        values = codes.values.reshape(2, count, batch_size, -1)
        features.append(abs_difference(values[0], values[1], codes.kinds).mean(axis=1))
        labels.append(fixed.numpy())
    return np.concatenate(features), np.concatenate(labels)


def beta_vae_score(
    dataset: Any,
    encode: Encode,
    groups: tuple[LatentGroup, ...] | None = None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """``{"train_accuracy", "eval_accuracy"}``; ``encode`` maps uint8 images
    ``[n, C, H, W]`` to codes ``[n, D]``."""
    for name, value in (
        ("batch_size", batch_size),
        ("num_train", num_train),
        ("num_eval", num_eval),
    ):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    gen = make_generator(generator, seed)
    cells = cells_of(dataset)
    x_train, y_train = _points(cells, encode, groups, num_train, batch_size, gen)
    x_eval, y_eval = _points(cells, encode, groups, num_eval, batch_size, gen)
    if np.unique(y_train).size < 2:
        raise ValueError("beta_vae_score: num_train too small to see two factors")
    model = OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed))
    model.fit(x_train, y_train)
    return {
        "train_accuracy": float(model.score(x_train, y_train)),
        "eval_accuracy": float(model.score(x_eval, y_eval)),
    }


@register_metric("beta_vae", suites=("standard",), needs_dataset=True)
def _beta_vae_metric(inputs: MetricInputs) -> dict[str, float]:
    if inputs.encode is None or inputs.dataset is None:
        raise ValueError("beta_vae needs a dataset and an encode function")
    return beta_vae_score(
        inputs.dataset,
        inputs.encode,
        groups=inputs.groups,
        num_train=FAST_NUM_TRAIN if inputs.fast else 10000,
        num_eval=FAST_NUM_EVAL if inputs.fast else 5000,
        seed=inputs.seed,
    )
