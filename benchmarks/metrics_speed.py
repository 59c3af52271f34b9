"""Time every metric at the reference sizes, exact vs fast, on this machine.

Synthetic data: 5 factors (sizes 10, 10, 10, 8, 4), 10 codes (5 noisy, partly mixed copies
of the factors + 5 noise codes), 10,000 train / 5,000 test samples. Interventional scores
use a grid dataset whose tiny images hold the factor indices and a linear encoder, so the
figures measure the metric machinery, not a network. Also times the whole standard suite in
fast mode (target <= 60 s) and our exact DCI against a naive reference-style DCI
(one GradientBoostingClassifier per factor, sequentially, as disentanglement_lib does).

    .venv/bin/python benchmarks/metrics_speed.py            # everything (minutes)
    .venv/bin/python benchmarks/metrics_speed.py --quick    # 2,000 / 1,000 samples
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sklearn
import torch
from sklearn.ensemble import GradientBoostingClassifier

from prodvae.data import ArrayDataset, FactorSpec
from prodvae.data.grid import FactorGrid
from prodvae.metrics import dci, disentanglement, evaluate, format_table, latent_groups
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
    gen = torch.Generator().manual_seed(1)
    mixing = torch.from_numpy(MIXING)
    scale = torch.tensor(SIZES, dtype=torch.float64) - 1

    def encode(images: torch.Tensor) -> torch.Tensor:
        scaled = images.double().reshape(len(images), -1) / scale
        noise = torch.randn(len(images), 10, generator=gen, dtype=torch.float64)
        return torch.column_stack([scaled @ mixing + 0.05 * noise[:, :5], noise[:, 5:]])

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


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def naive_dci(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    """Reference-style DCI: sequential, one default GBT per factor. (D, test accuracy)."""
    importance, accuracy = [], []
    for j in range(y_train.shape[1]):
        model = GradientBoostingClassifier(random_state=0).fit(x_train, y_train[:, j])
        importance.append(np.abs(model.feature_importances_))
        accuracy.append(np.mean(model.predict(x_test) == y_test[:, j]))
    return disentanglement(np.stack(importance, axis=1)), float(np.mean(accuracy))


def per_metric(num_train: int, num_test: int, names: list[str]) -> None:
    exact, fast = inputs(num_train, num_test, False), inputs(num_train, num_test, True)
    print(f"{'metric':<26}{'exact s':>9}{'fast s':>9}{'speed-up':>10}   exact -> fast values")
    for name in names:
        a, t_exact = timed(METRICS[name].fn, exact)
        b, t_fast = timed(METRICS[name].fn, fast)
        values = ", ".join(f"{k} {a[k]:.3f}->{b[k]:.3f}" for k in list(a)[:3])
        print(
            f"{name:<26}{t_exact:>9.2f}{t_fast:>9.2f}{t_exact / t_fast:>9.1f}x   {values}",
            flush=True,
        )


def dci_versus_naive(num_train: int, num_test: int) -> None:
    """Our exact DCI against the naive loop; CPU seconds show how many cores each used."""
    data = inputs(num_train, num_test, False)
    args = (data.codes_train, data.factors_train, data.codes_test, data.factors_test)
    cpu = time.process_time()
    ours, t_ours = timed(dci, *args)
    cpu_ours, cpu = time.process_time() - cpu, time.process_time()
    (d_naive, acc_naive), t_naive = timed(naive_dci, *args)
    cpu_naive = time.process_time() - cpu
    d_ours, acc_ours = ours["disentanglement"], ours["informativeness_test"]
    print(
        f"exact DCI, ours (parallel over factors): {t_ours:.1f} s wall, {cpu_ours:.1f} s CPU,"
        f" D = {d_ours:.4f}, test acc = {acc_ours:.4f}"
    )
    print(
        f"exact DCI, naive sequential reference  : {t_naive:.1f} s wall, {cpu_naive:.1f} s CPU,"
        f" D = {d_naive:.4f}, test acc = {acc_naive:.4f}"
    )
    print(f"speed ratio naive / ours (wall): {t_naive / t_ours:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 / 1,000 samples")
    parser.add_argument("--skip-naive", action="store_true", help="skip the naive DCI")
    args = parser.parse_args()
    num_train, num_test = (2000, 1000) if args.quick else (10000, 5000)
    print(
        f"scikit-learn {sklearn.__version__}, torch threads {torch.get_num_threads()}, "
        f"{num_train}/{num_test} samples, 10 codes, 5 factors"
    )
    per_metric(num_train, num_test, list(METRICS))
    results, seconds = timed(
        evaluate,
        make_encoder(),
        grid_dataset(),
        suite="standard",
        fast=True,
        num_train=num_train,
        num_test=num_test,
    )
    print(f"\nwhole standard suite, fast: {seconds:.1f} s (target <= 60 s)\n")
    print(format_table(results))
    if not args.skip_naive:
        print()
        dci_versus_naive(num_train, num_test)


if __name__ == "__main__":
    main()
