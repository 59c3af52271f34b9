"""A disentanglement sweep's headline table (``python -m benchmarks.disentangle ... --record``):
per dataset, mean ± sample std over seeds for each objective, as ``prodvae bench`` prints it."""

from __future__ import annotations

from typing import Any

from prodvae.bench.summary import markdown_table


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    text = markdown_table(
        results["cells"],
        results["datasets"],
        results["variants"],
        results["headline"],
        num_seeds=len(results["seeds"]),
    )
    finished = [c for c in results["cells"] if c.get("status") == "finished"]
    expected = len(results["datasets"]) * len(results["variants"]) * len(results["seeds"])
    footer = f"Cells finished: {len(finished)} of {expected}"
    if results.get("failures"):
        footer += f" (failed: {', '.join(sorted(results['failures']))})"
    if results.get("trained_at"):
        footer += f"; cells trained at commit {', '.join(c[:12] for c in results['trained_at'])}"
    # the documents put these tables under their own headings: one level deeper
    return text.replace("### ", "#### ") + "\n" + footer + ".\n"
