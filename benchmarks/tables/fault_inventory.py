"""Bad-input and fault cases the suite tries, by category (``benchmarks/fault_inventory.py``)."""

from __future__ import annotations

from typing import Any


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    lines = [
        "| category | what it covers | cases | test functions | for example |",
        "|---|---|---:|---:|---|",
    ]
    for row in results["rows"]:
        example = ", ".join(f"`{name.split('::')[-1]}`" for name in row["examples"][:2])
        lines.append(
            f"| {row['category']} | {row['covers']} | {row['count']} | {row['functions']} "
            f"| {example} |"
        )
    lines.append(
        f"| **all** | | **{results['num_fault_cases']}** | "
        f"**{sum(row['functions'] for row in results['rows'])}** "
        f"| of {results['num_collected']} collected cases |"
    )
    return "\n".join(lines)
