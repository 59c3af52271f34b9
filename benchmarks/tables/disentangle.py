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
    # the documents put these tables under their own headings: one level deeper
    return text.replace("### ", "#### ")
