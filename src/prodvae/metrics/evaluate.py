"""Run a suite of registered metrics on samples drawn from a dataset.

``evaluate`` draws ``num_train + num_test`` grid points with a seeded generator (on a dataset
that is no grid, rows scored at their values: :mod:`prodvae.metrics.samples`), encodes
their images, turns ambient codes into intrinsic coordinates (one per latent factor when a
:class:`~prodvae.spaces.ProductSpace` is given), runs every metric of the suite and returns
a flat dict: ``<metric>.<score>`` floats (or ``<metric>`` when the metric has one score of
its own name), ``seconds.<metric>`` timings, and metadata (``sklearn_version``, ``suite``,
``fast``, sizes, seed, ``dci_regressor``, ``drawn``: "grid cells" or "rows"; on rows also
``binned``, the factors scored in bins, at which the FactorVAE and BetaVAE scores also hold
a factor: :mod:`prodvae.metrics.interventional`). The
metrics whose work is model fits in worker processes (DCI, SAP, modularity/explicitness) are
computed in a background thread, beside the others, which run here in order (the
interventional scores encode images): the workers then fit while this process encodes, and
the scores are the same as one metric after another.

Fast presets (``fast=True``; each documented in its module, agreement checked in tests):
dci uses histogram boosting ("hist"); infomec fits its InfoE regressions on at most 2,000
samples; factor_vae uses 1,000 / 500 votes and 2,000 images for the global variance;
beta_vae 1,000 / 500 points. mig, sap, modularity_explicitness, mcc, unsupervised, topology
and geometry are unchanged: they are cheap, and subsampling biases sap and modularity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sklearn
import torch

from prodvae.metrics.dci import FAST_REGRESSOR
from prodvae.metrics.groups import intrinsic_codes, latent_groups
from prodvae.metrics.interventional import Encode, make_generator
from prodvae.metrics.registry import MetricEntry, MetricInputs, metrics_in_suite
from prodvae.metrics.samples import bins_of, draw

logger = logging.getLogger(__name__)


def sampled_inputs(
    dataset: Any,
    encode: Encode,
    space: Any,
    num_train: int,
    num_test: int,
    generator: torch.Generator,
    fast: bool = False,
    seed: int = 0,
) -> MetricInputs:
    """The metrics' inputs from ``num_train + num_test`` draws of ``dataset`` with
    ``generator`` (grid cells, or rows scored at their values:
    :func:`~prodvae.metrics.samples.draw`), the first ``num_train`` to fit, the rest to
    score."""
    drawn = draw(dataset, encode, num_train + num_test, generator)
    groups = latent_groups(space if space is not None else drawn.ambient.shape[1])
    codes = intrinsic_codes(drawn.ambient, groups)
    return MetricInputs(
        codes_train=codes.values[:num_train],
        factors_train=drawn.factors[:num_train],
        codes_test=codes.values[num_train:],
        factors_test=drawn.factors[num_train:],
        ambient_train=drawn.ambient[:num_train],
        groups=groups,
        code_kinds=codes.kinds,
        spec=drawn.spec or None,
        dataset=dataset,
        encode=encode,
        space=space,
        fast=fast,
        seed=seed,
    )


def evaluate(
    encode: Encode,
    dataset: Any,
    space: Any = None,
    suite: str = "standard",
    fast: bool = False,
    num_train: int = 10000,
    num_test: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Scores of ``suite`` ("standard", "topology" or "all") for ``encode`` (uint8 images
    ``[n, C, H, W]`` -> codes ``[n, D]``) on ``dataset`` (a grid, or any labelled dataset's
    rows: :mod:`prodvae.metrics.samples`)."""
    entries = metrics_in_suite(suite)
    for name, size in (("num_train", num_train), ("num_test", num_test)):
        if size < 2:
            raise ValueError(f"{name} must be >= 2, got {size}")
    generator = make_generator(None, seed)
    inputs = sampled_inputs(dataset, encode, space, num_train, num_test, generator, fast, seed)
    results: dict[str, Any] = {}
    for name, (scores, seconds) in run_metrics(entries, inputs).items():
        results[f"seconds.{name}"] = seconds
        for key, value in scores.items():
            results[name if key == name else f"{name}.{key}"] = float(value)
    results.update(
        sklearn_version=sklearn.__version__,
        suite=suite,
        fast=bool(fast),
        num_train=int(num_train),
        num_test=int(num_test),
        seed=int(seed),
        dci_regressor=FAST_REGRESSOR if fast else "gbt",
        drawn="grid cells" if getattr(dataset, "is_grid", False) else "rows",
    )
    binned = bins_of(tuple(getattr(dataset, "spec", ())), inputs.spec or ())
    if binned:
        results["binned"] = ", ".join(f"{name} ({count})" for name, count in binned.items())
    return results


def _timed(entry: MetricEntry, inputs: MetricInputs) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    scores = entry.fn(inputs)
    seconds = time.perf_counter() - start
    logger.info("%s done in %.1f s", entry.name, seconds)
    return scores, seconds


def run_metrics(
    entries: Sequence[MetricEntry], inputs: MetricInputs
) -> dict[str, tuple[dict[str, float], float]]:
    """``{name: (scores, seconds)}`` of each metric on ``inputs``, in the order of ``entries``.

    The metrics that fit in worker processes run one after another in a background thread,
    started first; the others run in this thread meanwhile, one after another. Each metric
    is a pure function of ``inputs``: the scores do not depend on this overlap, only the
    seconds (each metric's wall time, while others ran too).
    """
    beside = [e for e in entries if e.fits_in_workers]
    with ThreadPoolExecutor(max_workers=1) as background:
        future = background.submit(lambda: {e.name: _timed(e, inputs) for e in beside})
        done = {e.name: _timed(e, inputs) for e in entries if not e.fits_in_workers}
        done.update(future.result())
    return {e.name: done[e.name] for e in entries}


def format_table(results: dict[str, Any]) -> str:
    """A two-column text table of ``results`` (scores first, then timings and metadata)."""
    scores = {k: v for k, v in results.items() if isinstance(v, float) and "seconds." not in k}
    rest = {k: v for k, v in results.items() if k not in scores}
    width = max((len(k) for k in results), default=6)
    lines = [f"{'metric':<{width}}  value", "-" * (width + 10)]
    for key in sorted(scores):
        lines.append(f"{key:<{width}}  {scores[key]:.4f}")
    lines.append("-" * (width + 10))
    for key in sorted(rest):
        value = rest[key]
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)


__all__ = ["evaluate", "format_table", "run_metrics"]
