"""Tree ensembles that give DCI its importance matrix, registered by name.

- ``"gbt"`` (exact, disentanglement_lib): ``GradientBoostingClassifier`` with scikit-learn's
  defaults and a fixed ``random_state``; importance = ``feature_importances_``.
- ``"hist"`` (fast): ``HistGradientBoostingClassifier`` with the same shape of boosting
  (100 rounds, learning rate 0.1, depth-3 trees, no early stopping, ``min_samples_leaf=1``) on
  255-bin histograms; importance = the split gains summed per feature over all trees and
  normalised, the histogram analogue of the impurity importance.
- ``"forest"`` (fast): ``RandomForestClassifier(100 trees, max_depth=8, all features per
  split)`` (sampling features would spread importance onto noise codes), impurity
  importance.

Each fitter returns a :class:`FittedFactor`: importances and train/test accuracy of the one
model fitted for a factor (no second fit). The tree ensembles ``"gbt"`` and ``"forest"`` read
float32 features; they get the codes converted once per factor (the training codes
column-major, so that a splitter reads a feature contiguously), which changes no split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from threadpoolctl import threadpool_limits

from prodvae.registry import Registry


class FittedFactor(NamedTuple):
    """One factor's classifier summary: ``importance [L]``, train and test accuracy."""

    importance: np.ndarray
    accuracy_train: float
    accuracy_test: float


Fitter = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], FittedFactor]

#: Registered importance fitters by name.
REGRESSORS: Registry[Fitter] = Registry("DCI regressor")


def register_regressor(name: str) -> Callable[[Fitter], Fitter]:
    """Function decorator: make a fitter selectable as ``dci(..., regressor=name)``."""
    return REGRESSORS.register(name)


def _as_float32(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asfortranarray(x_train, dtype=np.float32),
        np.ascontiguousarray(x_test, dtype=np.float32),
    )


def _summary(model, importance, x_train, y_train, x_test, y_test) -> FittedFactor:
    importance = np.abs(np.asarray(importance, dtype=np.float64))
    return FittedFactor(
        importance,
        float(np.mean(model.predict(x_train) == y_train)),
        float(np.mean(model.predict(x_test) == y_test)),
    )


@register_regressor("gbt")
def fit_gbt(x_train, y_train, x_test, y_test, random_state: int) -> FittedFactor:
    """scikit-learn's default gradient-boosted trees (the reference)."""
    x_train, x_test = _as_float32(x_train, x_test)
    model = GradientBoostingClassifier(random_state=random_state).fit(x_train, y_train)
    return _summary(model, model.feature_importances_, x_train, y_train, x_test, y_test)


def _gain_importance(model: HistGradientBoostingClassifier, num_features: int) -> np.ndarray:
    total = np.zeros(num_features)
    # ``_predictors`` is private: one list of per-class tree predictors per boosting round.
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        raise RuntimeError("this scikit-learn's HistGradientBoosting exposes no tree nodes")
    for round_trees in predictors:
        for tree in round_trees:
            nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
            np.add.at(total, nodes["feature_idx"], np.maximum(nodes["gain"], 0.0))
    s = total.sum()
    return total / s if s > 0 else total


@register_regressor("hist")
def fit_hist(x_train, y_train, x_test, y_test, random_state: int) -> FittedFactor:
    """Histogram gradient boosting shaped like the reference; split-gain importance."""
    model = HistGradientBoostingClassifier(
        max_depth=3,
        max_leaf_nodes=None,
        min_samples_leaf=1,
        early_stopping=False,
        random_state=random_state,
    )
    # One OpenMP thread, set in the calling thread (the OpenMP thread count is per thread):
    # DCI already runs factors in parallel, and nested pools spin on a loaded machine.
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(x_train, y_train)
    importance = _gain_importance(model, x_train.shape[1])
    return _summary(model, importance, x_train, y_train, x_test, y_test)


@register_regressor("forest")
def fit_forest(x_train, y_train, x_test, y_test, random_state: int) -> FittedFactor:
    """A depth-limited random forest; impurity importance."""
    x_train, x_test = _as_float32(x_train, x_test)
    model = RandomForestClassifier(
        n_estimators=100, max_depth=8, max_features=None, random_state=random_state
    )
    model.fit(x_train, y_train)
    return _summary(model, model.feature_importances_, x_train, y_train, x_test, y_test)
