"""FactorVAE score (Kim & Mnih, ICML 2018) as in disentanglement_lib.

Codes are scaled by their global spread from ``num_variance_estimate`` random images;
dimensions with std < ``prune_threshold`` (0.05) are dropped. A vote fixes one random
factor in a batch of ``batch_size`` (64), and takes the argmin over active dimensions of the
batch variance divided by the global variance. A majority-vote classifier (factor ->
dimension) is read off ``num_train`` training votes and scored on ``num_eval`` new votes.
With latent groups, loop angles use circular variance and circular std instead. On a dataset
that is no grid a factor is held at a level of its rows (:mod:`~prodvae.metrics.interventional`).
``fast``: 1,000 / 500 votes and 2,000 images for the global variance (standard error of the
accuracy about 0.02).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from prodvae.metrics.groups import LatentGroup
from prodvae.metrics.interventional import (
    Encode,
    cells_of,
    make_generator,
    scale,
    spread,
)
from prodvae.metrics.registry import MetricInputs, register_metric

#: Sample sizes of the fast preset.
FAST_NUM_TRAIN, FAST_NUM_EVAL, FAST_NUM_VARIANCE = 1000, 500, 2000
#: Votes per chunk of encoding (64 votes x 64 images).
VOTES_PER_CHUNK = 64


def _votes(cells, encode, groups, num_votes, batch_size, global_spread, active, generator):
    """Vote counts ``[K, num_active]``."""
    votes = np.zeros((cells.num_factors, int(active.sum())), dtype=np.int64)
    for start in range(0, num_votes, VOTES_PER_CHUNK):
        count = min(VOTES_PER_CHUNK, num_votes - start)
        fixed, drawn = cells.fixed_batches(count, batch_size, generator)
        codes = cells.encode(encode, drawn, groups)
        values = codes.values.reshape(count, batch_size, -1)
        local = spread(values, codes.kinds, axis=1)
        choice = np.argmin(local[:, active] / global_spread[active], axis=1)
        np.add.at(votes, (fixed.numpy(), choice), 1)
    return votes


def factor_vae_score(
    dataset: Any,
    encode: Encode,
    groups: tuple[LatentGroup, ...] | None = None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """``{"train_accuracy", "eval_accuracy", "num_active_dims"}``; ``encode`` maps uint8
    images ``[n, C, H, W]`` to codes ``[n, D]``."""
    for name, value in (
        ("batch_size", batch_size),
        ("num_train", num_train),
        ("num_eval", num_eval),
        ("num_variance_estimate", num_variance_estimate),
    ):
        if value < 2:
            raise ValueError(f"{name} must be >= 2, got {value}")
    gen = make_generator(generator, seed)
    cells = cells_of(dataset)
    sample = cells.encode(encode, cells.random(num_variance_estimate, gen), groups)
    global_spread = spread(sample.values, sample.kinds, axis=0)
    active = scale(sample.values, sample.kinds) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    args = (batch_size, global_spread, active, gen)
    train = _votes(cells, encode, groups, num_train, *args)
    classifier = train.argmax(axis=0)
    columns = np.arange(train.shape[1])
    evaluation = _votes(cells, encode, groups, num_eval, *args)
    return {
        "train_accuracy": float(train[classifier, columns].sum() / train.sum()),
        "eval_accuracy": float(evaluation[classifier, columns].sum() / evaluation.sum()),
        "num_active_dims": float(active.sum()),
    }


@register_metric("factor_vae", suites=("standard",), needs_dataset=True)
def _factor_vae_metric(inputs: MetricInputs) -> dict[str, float]:
    if inputs.encode is None or inputs.dataset is None:
        raise ValueError("factor_vae needs a dataset and an encode function")
    return factor_vae_score(
        inputs.dataset,
        inputs.encode,
        groups=inputs.groups,
        num_train=FAST_NUM_TRAIN if inputs.fast else 10000,
        num_eval=FAST_NUM_EVAL if inputs.fast else 5000,
        num_variance_estimate=FAST_NUM_VARIANCE if inputs.fast else 10000,
        seed=inputs.seed,
    )
