"""Registry of metrics by decorator, so a suite is the set of metrics that name it.

A registered metric is a function ``(inputs: MetricInputs) -> dict[str, float]`` defined next
to the pure function it wraps; it reads what it needs from :class:`MetricInputs` and applies
its own ``fast`` preset (documented in its module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from prodvae.registry import Registry

#: Suite names accepted by :func:`metrics_in_suite` ("all" means every registered metric).
SUITES: tuple[str, ...] = ("standard", "topology", "all")


@dataclass(frozen=True)
class MetricInputs:
    """Everything a registered metric may use.

    ``codes_*`` are ``[N, L]`` codes as the standard metrics see them (intrinsic coordinates
    for a product space); ``factors_*`` are ``[N, K]`` grid indices. ``ambient_*`` are the raw
    posterior means ``[N, D]``. ``code_kinds`` gives each code column's kind ("points",
    "segment", "loop"). ``groups`` describes the latent factors (see
    :mod:`prodvae.metrics.groups`), ``spec`` the ground-truth factors, ``dataset`` and
    ``encode`` serve the interventional scores.
    """

    codes_train: np.ndarray
    factors_train: np.ndarray
    codes_test: np.ndarray
    factors_test: np.ndarray
    ambient_train: np.ndarray
    groups: tuple[Any, ...]
    code_kinds: tuple[str, ...] = ()
    spec: tuple[Any, ...] | None = None
    dataset: Any = None
    encode: Callable[[Any], Any] | None = None
    space: Any = None
    fast: bool = False
    seed: int = 0


MetricFn = Callable[[MetricInputs], dict[str, float]]


@dataclass(frozen=True)
class MetricEntry:
    """A registered metric: its name, the suites it belongs to and what it needs.

    ``fits_in_workers``: its work is model fits in worker processes
    (:mod:`prodvae.metrics.parallel`), so a suite can compute it beside the other metrics.
    """

    name: str
    fn: MetricFn
    suites: tuple[str, ...]
    needs_dataset: bool = False
    fits_in_workers: bool = False


#: Registered metrics by name.
METRICS: Registry[MetricEntry] = Registry("metric")


def register_metric(
    name: str,
    *,
    suites: tuple[str, ...],
    needs_dataset: bool = False,
    fits_in_workers: bool = False,
) -> Callable[[MetricFn], MetricFn]:
    """Function decorator: register ``fn`` as metric ``name`` in ``suites``."""
    for suite in suites:
        if suite not in SUITES or suite == "all":
            raise ValueError(f"metric {name!r}: unknown suite {suite!r}")

    def decorate(fn: MetricFn) -> MetricFn:
        METRICS.add(name, MetricEntry(name, fn, tuple(suites), needs_dataset, fits_in_workers))
        return fn

    return decorate


def metrics_in_suite(suite: str) -> list[MetricEntry]:
    """The registered metrics of ``suite`` in registration order."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    return [m for m in METRICS.values() if suite == "all" or suite in m.suites]
