"""Score a trained run: the suites of :func:`prodvae.metrics.evaluate`, or a chosen subset
of registered metrics, plus ``loop_recovery``.

A subset (``evaluation.metrics``) exists because some fast presets still encode hundreds of
thousands of images (the BetaVAE score draws 1,500 x 64 pairs), too slow for an hour-long
CPU sweep. It draws the same samples as ``evaluate`` with the same seed (same generator,
same order), so a subset's scores equal the suite's for those metrics.

``loop_recovery`` is the mean of ``topology.recovery.<factor>`` over the dataset's loop
factors: the circular alignment of each loop factor with its best latent coordinate.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sklearn
import torch

from prodvae.bench.preset import Evaluation
from prodvae.spaces import is_circular

#: Key of the derived mean recovery of the loop factors.
LOOP_RECOVERY = "loop_recovery"


def score(encode: Any, dataset: Any, space: Any, evaluation: Evaluation) -> dict[str, Any]:
    """Flat ``{metric.score: float}`` plus timings (``seconds.*``) and metadata."""
    from prodvae.metrics import evaluate

    if evaluation.metrics:
        scores = score_subset(encode, dataset, space, evaluation)
    else:
        scores = {}
        for suite in evaluation.suites:
            scores.update(
                evaluate(
                    encode,
                    dataset,
                    space=space,
                    suite=suite,
                    fast=evaluation.fast,
                    num_train=evaluation.num_train,
                    num_test=evaluation.num_test,
                    seed=evaluation.seed,
                )
            )
    scores["suite"] = ",".join(evaluation.suites)
    loops = [s.name for s in dataset.spec if is_circular(s.kind) and s.size > 1]
    found = [scores[f"topology.recovery.{n}"] for n in loops if f"topology.recovery.{n}" in scores]
    if found:
        scores[LOOP_RECOVERY] = float(np.mean(found))
    return scores


def score_subset(encode: Any, dataset: Any, space: Any, evaluation: Evaluation) -> dict[str, Any]:
    """Only the registered metrics named in ``evaluation.metrics``, keyed as ``evaluate``
    keys them."""
    from prodvae.metrics import METRICS
    from prodvae.metrics.evaluate import sampled_inputs

    missing = [name for name in evaluation.metrics if name not in METRICS]
    if missing:
        raise ValueError(
            f"evaluation.metrics: unknown metric(s) {missing}; registered: {', '.join(METRICS)}"
        )
    n_train, n_test = evaluation.num_train, evaluation.num_test
    generator = torch.Generator().manual_seed(int(evaluation.seed))
    inputs = sampled_inputs(
        dataset, encode, space, n_train, n_test, generator, evaluation.fast, evaluation.seed
    )
    results: dict[str, Any] = {}
    for name in evaluation.metrics:
        start = time.perf_counter()
        for key, value in METRICS[name].fn(inputs).items():
            results[name if key == name else f"{name}.{key}"] = float(value)
        results[f"seconds.{name}"] = time.perf_counter() - start
    results.update(
        sklearn_version=sklearn.__version__,
        fast=evaluation.fast,
        num_train=n_train,
        num_test=n_test,
        seed=evaluation.seed,
        metrics=",".join(evaluation.metrics),
    )
    return results
