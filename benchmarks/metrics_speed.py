"""Time every metric at the reference sizes, exact vs fast, and the exact suite against a
disentanglement_lib-style sequential reference, on this machine.

Synthetic data: 5 factors (sizes 10, 10, 10, 8, 4), 10 codes (5 noisy, partly mixed copies
of the factors + 5 noise codes), 10,000 train / 5,000 test samples. Interventional scores
use a grid dataset whose tiny images hold the factor indices and a linear encoder (plus
noise fixed per image), so the figures measure the metric machinery, not a network. Also
times the whole standard suite in fast mode (target <= 60 s).

The exact suite (DCI, SAP, modularity/explicitness, FactorVAE, BetaVAE) is timed twice, side
by side: as prodvae computes it (its model fits in worker processes, longest first) and as
the ``reference_*`` functions below compute it: disentanglement_lib's loops, one
scikit-learn model per factor (or per code and factor) after another in this process. The
references reuse prodvae's pieces that fit nothing (the binned MI, the D and C entropies,
the interventional sampling and encoding), so that equal fits give equal scores, and the
benchmark checks that the scores are equal. It is timed once more as ``evaluate`` runs a
suite (the fitting metrics beside the others). Each timing comes with the cores it kept
busy (CPU seconds of this process and its workers per wall second): where other sessions
keep the cores busy, Linux gives each session an equal share of them (autogroup
scheduling) however many workers it runs, and the ratio to the reference then says more
about the machine's load than about the code. Everything measured goes to
``benchmarks/results/metrics_speed.json`` (table: ``benchmarks/tables/metrics_speed.py``).

    python -m benchmarks.metrics_speed                  # everything (many minutes)
    python -m benchmarks.metrics_speed --quick          # 2,000 / 1,000 samples
    python -m benchmarks.metrics_speed --metrics dci    # one metric (writes no result)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.grid import FactorGrid
from prodvae.metrics import (
    beta_vae_score,
    completeness,
    disentanglement,
    evaluate,
    factor_vae_score,
    format_table,
    latent_groups,
    modularity,
    sap,
)
from prodvae.metrics.evaluate import run_metrics
from prodvae.metrics.information import binned_mutual_information
from prodvae.metrics.registry import METRICS, MetricInputs

SIZES = (10, 10, 10, 8, 4)
MIXING = np.random.default_rng(0).normal(0, 0.15, size=(5, 5)) + np.eye(5)


def encode_indices(indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Codes ``[n, 10]``: mixed noisy factors and 5 noise codes."""
    scaled = indices / (np.asarray(SIZES) - 1)
    mixed = scaled @ MIXING + rng.normal(0, 0.05, size=scaled.shape)
    return np.column_stack([mixed, rng.normal(size=(len(indices), 5))])


def grid_dataset() -> ArrayDataset:
    spec = tuple(
        FactorSpec(f"f{k}", "segment", tuple(np.arange(s, dtype=float)))
        for k, s in enumerate(SIZES)
    )
    indices = np.indices(SIZES).reshape(len(SIZES), -1).T
    images = indices.astype(np.uint8)[:, None, :]
    return ArrayDataset(images, indices.astype(float), spec, grid=FactorGrid(SIZES))


def make_encoder():
    """A linear encoder of the factor indices an image holds, plus noise fixed per image
    (a pure function, like a posterior mean: every run encodes an image alike)."""
    table = np.random.default_rng(1).normal(size=(int(np.prod(SIZES)), 10))
    noise = torch.from_numpy(table)
    strides = torch.from_numpy(np.cumprod((SIZES[1:] + (1,))[::-1])[::-1].copy())
    mixing = torch.from_numpy(MIXING)
    scale = torch.tensor(SIZES, dtype=torch.float64) - 1

    def encode(images: torch.Tensor) -> torch.Tensor:
        indices = images.reshape(len(images), -1).long()
        scaled = indices.double() / scale
        extra = noise[indices @ strides]
        return torch.column_stack([scaled @ mixing + 0.05 * extra[:, :5], extra[:, 5:]])

    return encode


def inputs(num_train: int, num_test: int, fast: bool) -> MetricInputs:
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, s, num_train + num_test) for s in SIZES], axis=1)
    codes = encode_indices(factors, rng)
    dataset = grid_dataset()
    return MetricInputs(
        codes[:num_train],
        factors[:num_train],
        codes[num_train:],
        factors[num_train:],
        ambient_train=codes[:num_train],
        groups=latent_groups(10),
        code_kinds=("segment",) * 10,
        spec=dataset.spec,
        dataset=dataset,
        encode=make_encoder(),
        fast=fast,
    )


# --- disentanglement_lib-style sequential references -------------------------------------


def reference_dci(data: MetricInputs) -> dict[str, float]:
    """disentanglement_lib's ``compute_importance_gbt``: a default GBT per factor, in turn."""
    importance, accuracy_train, accuracy_test = [], [], []
    for j in range(data.factors_train.shape[1]):
        y_train, y_test = data.factors_train[:, j], data.factors_test[:, j]
        model = GradientBoostingClassifier(random_state=data.seed).fit(data.codes_train, y_train)
        importance.append(np.abs(model.feature_importances_))
        accuracy_train.append(np.mean(model.predict(data.codes_train) == y_train))
        accuracy_test.append(np.mean(model.predict(data.codes_test) == y_test))
    matrix = np.stack(importance, axis=1)
    return {
        "disentanglement": disentanglement(matrix),
        "completeness": completeness(matrix),
        "informativeness_train": float(np.mean(accuracy_train)),
        "informativeness_test": float(np.mean(accuracy_test)),
    }


def reference_sap(data: MetricInputs) -> dict[str, float]:
    """disentanglement_lib's ``compute_score_matrix``: a linear SVM per code and factor."""
    num_codes, num_factors = data.codes_train.shape[1], data.factors_train.shape[1]
    scores = np.zeros((num_codes, num_factors))
    for i in range(num_codes):
        for j in range(num_factors):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                svm = LinearSVC(C=0.01, class_weight="balanced")
                svm.fit(data.codes_train[:, [i]], data.factors_train[:, j])
            predicted = svm.predict(data.codes_test[:, [i]])
            scores[i, j] = np.mean(predicted == data.factors_test[:, j])
    ranked = np.sort(scores, axis=0)
    return {"sap": float(np.mean(ranked[-1] - ranked[-2]))}


def _one_hot(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (labels[:, None] == classes[None, :]).astype(int)


def reference_modularity_explicitness(data: MetricInputs) -> dict[str, float]:
    """disentanglement_lib's ``compute_modularity_explicitness``: standardised codes, a
    one-vs-rest logistic regression per factor in turn, macro ROC-AUC."""
    mean, std = data.codes_train.mean(axis=0), data.codes_train.std(axis=0)
    x_train, x_test = (data.codes_train - mean) / std, (data.codes_test - mean) / std
    train, test = [], []
    for j in range(data.factors_train.shape[1]):
        y_train, y_test = data.factors_train[:, j], data.factors_test[:, j]
        model = OneVsRestClassifier(LogisticRegression(solver="liblinear")).fit(x_train, y_train)
        hot_train, hot_test = _one_hot(y_train, model.classes_), _one_hot(y_test, model.classes_)
        train.append(roc_auc_score(hot_train, model.predict_proba(x_train)))
        test.append(roc_auc_score(hot_test, model.predict_proba(x_test)))
    return {
        "modularity": modularity(binned_mutual_information(data.codes_train, data.factors_train)),
        "explicitness_train": float(np.mean(train)),
        "explicitness_test": float(np.mean(test)),
    }


def reference_factor_vae(data: MetricInputs) -> dict[str, float]:
    """The FactorVAE score fits no model (a majority vote): the same computation."""
    return factor_vae_score(data.dataset, data.encode, groups=data.groups, seed=data.seed)


def reference_beta_vae(data: MetricInputs) -> dict[str, float]:
    """The BetaVAE score's one fit (a one-vs-rest regression, about 2% of its time) runs in
    this process in prodvae too: the same computation."""
    return beta_vae_score(data.dataset, data.encode, groups=data.groups, seed=data.seed)


#: The exact suite and its references, in the order they are timed.
REFERENCES: dict[str, Callable[[MetricInputs], dict[str, float]]] = {
    "dci": reference_dci,
    "sap": reference_sap,
    "modularity_explicitness": reference_modularity_explicitness,
    "factor_vae": reference_factor_vae,
    "beta_vae": reference_beta_vae,
}


# --- timing -----------------------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its live children (the metric workers);
    NaN where ``/proc`` is missing. Divided by wall seconds: the cores a computation used."""
    me, total = os.getpid(), 0.0
    try:
        tick = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat.parent.name) == me or int(fields[1]) == me:
                total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    except (OSError, ValueError):
        return float("nan")
    return total


def timed(fn, *args, **kwargs) -> tuple[Any, float, float]:
    """``fn(*args, **kwargs)``, its wall seconds and the cores it kept busy on average."""
    cpu, start = cpu_seconds(), time.perf_counter()
    out = fn(*args, **kwargs)
    wall = time.perf_counter() - start
    return out, wall, (cpu_seconds() - cpu) / wall


def as_floats(scores: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in scores.items()}


def start_workers(data: MetricInputs) -> float:
    """Seconds to start the worker processes (once per process): a first, tiny SAP."""
    small = [x[:500] for x in (data.codes_train, data.factors_train)]
    return timed(sap, *small, *small)[1]


def time_metric(name: str, exact: MetricInputs, fast: MetricInputs) -> dict[str, Any]:
    """One metric exact, then (for the exact suite) its reference, then fast."""
    row: dict[str, Any] = {"name": name, "load_before": os.getloadavg()[0]}
    values, row["exact_s"], row["exact_cores"] = timed(METRICS[name].fn, exact)
    row["exact"] = as_floats(values)
    if name in REFERENCES:
        values, row["reference_s"], row["reference_cores"] = timed(REFERENCES[name], exact)
        row["reference"] = as_floats(values)
    values, row["fast_s"], _ = timed(METRICS[name].fn, fast)
    row["fast"] = as_floats(values)
    row["load_after"] = os.getloadavg()[0]
    return row


def time_together(exact: MetricInputs, names: list[str]) -> dict[str, Any]:
    """These metrics in one :func:`run_metrics`, as ``evaluate`` runs a suite."""
    done, wall, cores = timed(run_metrics, [METRICS[name] for name in names], exact)
    return {
        "seconds": wall,
        "cores": cores,
        "values": {k: as_floats(v[0]) for k, v in done.items()},
    }


def _busy(rows: list[dict[str, Any]], seconds: str, cores: str) -> float:
    """Cores busy over several timed runs: their CPU seconds over their wall seconds."""
    return sum(r[seconds] * r[cores] for r in rows) / sum(r[seconds] for r in rows)


def comparison(
    rows: list[dict[str, Any]], together: dict[str, Any], worker_start_s: float
) -> list[dict[str, Any]]:
    """Ours against the reference: per metric of the exact suite, then the whole suite one
    metric after another and together (both with the workers' start)."""
    out = [
        {
            "metric": r["name"],
            "ours_s": r["exact_s"],
            "reference_s": r["reference_s"],
            "ratio": r["reference_s"] / r["exact_s"],
            "values_equal": r["exact"] == r["reference"],
            "ours_cores": r["exact_cores"],
            "reference_cores": r["reference_cores"],
        }
        for r in rows
        if "reference" in r
    ]
    reference = sum(r["reference_s"] for r in out)
    reference_cores = _busy(out, "reference_s", "reference_cores")
    references = {r["name"]: r["reference"] for r in rows if "reference" in r}
    suites = [
        (
            "exact suite, one metric after another",
            worker_start_s + sum(r["ours_s"] for r in out),
            _busy(out, "ours_s", "ours_cores"),
            all(r["values_equal"] for r in out),
        ),
        (
            "exact suite, together",
            worker_start_s + together["seconds"],
            together["cores"],
            together["values"] == references,
        ),
    ]
    for label, ours, cores, equal in suites:
        out.append(
            {
                "metric": label,
                "ours_s": ours,
                "reference_s": reference,
                "ratio": reference / ours,
                "values_equal": equal,
                "ours_cores": cores,
                "reference_cores": reference_cores,
            }
        )
    return out


def print_row(row: dict[str, Any]) -> None:
    values = ", ".join(f"{k} {row['exact'][k]:.3f}->{row['fast'][k]:.3f}" for k in row["exact"])
    print(
        f"{row['name']:<26}{row['exact_s']:>9.2f}{row['fast_s']:>9.2f}"
        f"{row['exact_s'] / row['fast_s']:>9.1f}x   {values}",
        flush=True,
    )


def print_comparison(rows: list[dict[str, Any]]) -> None:
    print(
        f"\n{'exact metric':<40}{'ours s':>9}{'ref s':>9}{'ref/ours':>10}"
        f"{'cores ours':>12}{'cores ref':>11}   values equal"
    )
    for r in rows:
        print(
            f"{r['metric']:<40}{r['ours_s']:>9.2f}{r['reference_s']:>9.2f}"
            f"{r['ratio']:>9.2f}x{r['ours_cores']:>12.2f}{r['reference_cores']:>11.2f}"
            f"   {'yes' if r['values_equal'] else 'NO'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 / 1,000 samples")
    parser.add_argument("--metrics", nargs="+", choices=sorted(METRICS), help="only these")
    args = parser.parse_args()
    num_train, num_test = (2000, 1000) if args.quick else (10000, 5000)
    print(
        f"scikit-learn {sklearn.__version__}, torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} cores, {num_train}/{num_test} samples, 10 codes, 5 factors"
    )
    exact, fast = inputs(num_train, num_test, False), inputs(num_train, num_test, True)
    worker_start_s = start_workers(exact)
    print(f"worker processes started in {worker_start_s:.1f} s")
    print(f"{'metric':<26}{'exact s':>9}{'fast s':>9}{'speed-up':>10}   exact -> fast values")
    rows = []
    for name in args.metrics or list(METRICS):
        rows.append(time_metric(name, exact, fast))
        print_row(rows[-1])
    compared_names = [r["name"] for r in rows if "reference" in r]
    together: dict[str, Any] = {}
    compared: list[dict[str, Any]] = []
    if compared_names:
        together = time_together(exact, compared_names)
        compared = comparison(rows, together, worker_start_s)
        print_comparison(compared)
    suite, seconds, _ = timed(
        evaluate,
        make_encoder(),
        grid_dataset(),
        suite="standard",
        fast=True,
        num_train=num_train,
        num_test=num_test,
    )
    print(f"\nwhole standard suite, fast: {seconds:.1f} s (target <= 60 s)\n")
    print(format_table(suite))
    results = {
        "num_train": num_train,
        "num_test": num_test,
        "factor_sizes": list(SIZES),
        "num_codes": 10,
        "worker_start_s": worker_start_s,
        "metrics": rows,
        "together": together,
        "reference": compared,
        "fast_suite_s": seconds,
        "fast_suite_target_s": 60.0,
    }
    if args.metrics is None:
        from benchmarks.results import record

        print(f"wrote {record('metrics_speed', results)}")


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
