"""Metric timings (``benchmarks/metrics_speed.py``): every metric exact and fast, and the exact
suite against the disentanglement_lib-style sequential reference."""

from __future__ import annotations

from typing import Any


def _values(exact: dict[str, float], fast: dict[str, float]) -> str:
    """``name value`` where fast equals exact, ``name exact → fast`` where it does not."""
    parts = []
    for key, value in exact.items():
        other = fast.get(key, float("nan"))
        shown = f"{value:.3f}" if value == other else f"{value:.3f} → {other:.3f}"
        parts.append(f"{key} {shown}")
    return ", ".join(parts)


def per_metric(results: dict[str, Any]) -> list[str]:
    lines = [
        "| metric | exact s | fast s | exact / fast | scores (exact → fast where they differ) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in results["metrics"]:
        lines.append(
            f"| `{row['name']}` | {row['exact_s']:.2f} | {row['fast_s']:.2f} "
            f"| {row['exact_s'] / row['fast_s']:.1f}× | {_values(row['exact'], row['fast'])} |"
        )
    return lines


def _cores(row: dict[str, Any], key: str) -> str:
    return f"{row[key]:.2f}" if key in row else ""


def against_reference(results: dict[str, Any]) -> list[str]:
    lines = [
        "| exact | ours s | reference s | reference / ours | cores busy, ours | "
        "cores busy, reference | scores equal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["reference"]:
        name = row["metric"] if " " in row["metric"] else f"`{row['metric']}`"
        lines.append(
            f"| {name} | {row['ours_s']:.2f} | {row['reference_s']:.2f} | {row['ratio']:.2f}× "
            f"| {_cores(row, 'ours_cores')} | {_cores(row, 'reference_cores')} "
            f"| {'yes' if row['values_equal'] else '**no**'} |"
        )
    return lines


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    loads = [r[k] for r in results["metrics"] for k in ("load_before", "load_after")]
    lines = [
        f"{results['num_train']:,} fitting / {results['num_test']:,} test samples, "
        f"{results['num_codes']} codes, factors of {tuple(results['factor_sizes'])} classes.",
        "",
        *per_metric(results),
        "",
        f"Whole standard suite, fast: {results['fast_suite_s']:.1f} s "
        f"(target ≤ {results['fast_suite_target_s']:.0f} s).",
    ]
    if results["reference"]:
        lines += [
            "",
            "Exact suite, prodvae (fits in worker processes, longest first) against a "
            "disentanglement_lib-style sequential reference (one fit after another):",
            "",
            *against_reference(results),
            "",
            "The suite rows include starting the worker processes "
            f"({results['worker_start_s']:.1f} s, once per process); “together” is how "
            "`evaluate` runs a suite, the fitting "
            "metrics beside the interventional ones. Cores busy = CPU seconds of the process "
            "and its workers per wall second.",
        ]
    if loads:
        lines += [
            "",
            f"1-minute load average during the runs: {min(loads):.1f} to {max(loads):.1f} "
            f"on {payload['machine'].get('cores', '?')} cores (sampled before and after each "
            "metric; it counts the benchmark's own worker processes).",
        ]
    return "\n".join(lines)
