"""Factor recovery per dataset, method and factor (``python -m benchmarks.recovery --record``):
in how many seeds each factor was recovered, its mean score, and each seed's winding number
for loops."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any


def _cell(entries: list[dict[str, Any]]) -> str:
    done = sum(e["recovered"] for e in entries)
    mean = sum(e["score"] for e in entries) / len(entries)
    text = f"{done}/{len(entries)} ({mean:.2f})"
    windings = [e["winding"] for e in entries if e["kind"] == "loop"]
    if windings:
        text += " w " + " ".join("·" if w is None else f"{w:+d}" for w in windings)
    return text


def _discovered(factors: dict[str, dict[str, list[dict[str, Any]]]], order: list[str]) -> list[str]:
    """For runs with ``model.space: discover``: in how many the space found had each
    factor's own kind (``none`` counts the runs whose record names no kind for it, as the
    scout design's did for a factor no latent group followed)."""
    cells = []
    for name in order:
        for entries in factors[name].values():
            found = [e["discovered"] for e in entries if "discovered" in e]
            if not found:
                continue
            kind = entries[0]["kind"]
            missed = sum(k is None for k in found)
            cell = f"{name} {sum(k == kind for k in found)}/{len(found)}"
            cells.append(cell + (f" (none {missed})" if missed else ""))
    if not cells:
        return []
    return [
        "",
        "`model.space: discover` found each factor's own kind in: " + ", ".join(cells) + ".",
    ]


def _train_seconds(rows: list[dict[str, Any]], dataset: str, methods: list[str]) -> list[str]:
    """Each method's fewest and most seconds of training a seed on ``dataset`` (as recorded
    by the runs; none where no run recorded them)."""
    spans = []
    for method in methods:
        seconds = [
            r["train_seconds"]
            for r in rows
            if r["dataset"] == dataset
            and r["method"] == method
            and r.get("train_seconds") is not None
        ]
        if seconds:
            spans.append(f"{method} {min(seconds):.0f}–{max(seconds):.0f}")
    return ["Seconds of training a seed: " + ", ".join(spans) + "."] if spans else []


def _machine_seconds(rows: list[dict[str, Any]], settings: dict[str, Any]) -> list[str]:
    """The machine's seconds a run: the sweep's wall time over its runs, where the sweep
    trained every one of them (none read again) -- with ``--jobs`` above 1, less than the
    seconds each run took."""
    seconds = settings.get("sweep_seconds")
    if seconds is None or not rows or not all(r.get("trained_now") for r in rows):
        return []
    threads = sorted({r["threads"] for r in rows})
    each = "/".join(map(str, threads)) + (" thread" if threads == [1] else " threads")
    jobs = settings["jobs"]
    together = f"{jobs} at once" if jobs > 1 else "one after another"
    return [
        f"The sweep trained and read its {len(rows)} runs {together} ({each} each) in "
        f"{seconds:.0f} s: {seconds / len(rows):.0f} s of the machine a run.",
        "",
    ]


def render(payload: dict[str, Any]) -> str:
    results = payload["results"]
    rows, settings = results["rows"], results["settings"]
    methods = settings["methods"]
    lines = []
    for dataset in settings["datasets"]:
        factors: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        order: list[str] = []
        for row in (r for r in rows if r["dataset"] == dataset):
            for entry in row["factors"]:
                if entry["factor"] not in order:
                    order.append(entry["factor"])
                factors[entry["factor"]][row["method"]].append(entry)
        missing, file = settings.get("missing", 0.0), settings.get("files", {}).get(dataset)
        if file and missing:
            about = f" (the file {Path(file).name}, {missing:.0%} of its rows missing: no grid)"
        elif missing:
            about = f" ({missing:.0%} of its rows missing: a file, no grid)"
        else:
            about = f" (the file {Path(file).name})" if file else ""
        lines += [
            f"#### {dataset}{about}",
            "",
            "| factor | kind | " + " | ".join(methods) + " |",
            "|---|---|" + "---|" * len(methods),
        ]
        for name in order:
            kind = next(iter(factors[name].values()))[0]["kind"]
            cells = [_cell(factors[name][m]) if factors[name][m] else "—" for m in methods]
            lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
        every = []
        for method in methods:
            seeds = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            whole = sum(all(f["recovered"] for f in r["factors"]) for r in seeds)
            every.append(f"{method} {whole}/{len(seeds)}")
        lines += ["", "Seeds with every factor recovered: " + ", ".join(every) + "."]
        lines += _train_seconds(rows, dataset, methods)
        lines += _discovered(factors, order)
        lines.append("")
    lines += _machine_seconds(rows, settings)
    commits = sorted({str(r.get("trained_at"))[:12] for r in rows})
    files = settings.get("files", {})  # a file trains at its own image size
    size = f"{settings['image_size']} px" + (" (a file: its own size)" if files else "")
    if files and set(files) >= set(settings["datasets"]):
        size = "each file's own image size"
    lines.append(
        f"Runs trained at commit {', '.join(commits)}; "
        f"{settings['steps']} steps at {size}, seeds "
        f"{', '.join(map(str, settings['seeds']))}; a cell is seeds recovered / seeds (mean "
        "score), w: each seed's winding number (· where no loop column was left)."
    )
    return "\n".join(lines) + "\n"
