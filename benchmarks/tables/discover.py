"""Model-free discovery per dataset, mode and factor (``python -m benchmarks.discover
--record``): the declared kind, the kinds found over the seeds, the symmetry orders, the mean
confidence and the seconds a whole dataset took."""

from __future__ import annotations

from collections import Counter
from typing import Any


def _found(entries: list[dict[str, Any]]) -> str:
    declared = entries[0]["declared"]
    right = sum(e["found"] == declared for e in entries)
    text = f"{right}/{len(entries)}"
    others = Counter(e["found"] for e in entries if e["found"] != declared)
    if others:
        text += " (" + ", ".join(f"{kind} {n}" for kind, n in others.most_common()) + ")"
    return text


def _symmetry(entries: list[dict[str, Any]]) -> str:
    loops = [e for e in entries if e["found"] == "loop"]
    if not loops:
        return "—"
    given = {tuple(e["symmetry_given"]) for e in loops if e.get("symmetry_given")}
    if given:
        return " or ".join("/".join(map(str, g)) for g in sorted(given)) + " by value"
    return "/".join(str(k) for k in sorted({e["symmetry"] for e in loops}))


def render_models(rows: list[dict[str, Any]]) -> list[str]:
    """Model-based rows: per dataset, method and factor, in how many runs a latent group
    follows the factor, in how many one traces it with the factor's own kind, and in how many
    the factor read on every latent dimension it moves has its own kind (what
    ``model.space: discover`` builds the space from)."""
    lines = [
        "| dataset | model | factor | kind | followed by a group | traced as its kind "
        "| its kind on all dims it moves |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    for (dataset, method), runs in groups.items():
        for i, factor in enumerate(runs[0]["factors"]):
            followers = [[g for g in r["groups"] if g["follows"] == factor["name"]] for r in runs]
            followed = sum(bool(f) for f in followers)
            traced = sum(any(g["found"] == factor["kind"] for g in f) for f in followers)
            whole = sum(
                any(
                    g["follows"] == factor["name"] and g["found"] == factor["kind"]
                    for g in r.get("by_factor", [])
                )
                for r in runs
            )
            lines.append(
                f"| {dataset if i == 0 else ''} | {method if i == 0 else ''} | {factor['name']} "
                f"| {factor['kind']} | {followed}/{len(runs)} | {traced}/{len(runs)} "
                f"| {whole}/{len(runs)} |"
            )
    every = [g for r in rows for g in r["groups"]]
    right = sum(g["found"] == g["follows_kind"] for g in every)
    factors = [f for r in rows for f in r.get("by_factor", [])]
    whole = sum(f["found"] == f["follows_kind"] for f in factors)
    steps = sorted({r["step"] for r in rows})
    lines += [
        "",
        f"Latent groups traced with the kind of the factor they follow: {right}/{len(every)}; "
        f"factors read with their kind on every dimension they move: {whole}/{len(factors)}. "
        f"Runs of {', '.join(map(str, steps))} steps; a group follows the factor whose paths "
        "move it most.",
    ]
    return lines


def render_codes(rows: list[dict[str, Any]]) -> list[str]:
    """Label-free rows (``--no-labels``): per dataset and method, how many latent groups read
    from their codes alone have the kind their labelled reading traces, and the kind of the
    factor they follow."""
    lines = [
        "| dataset | model | groups | same kind as read with labels "
        "| kind of the factor it follows | seconds |",
        "|---|---|---:|---|---|---:|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    totals = [0, 0, 0]
    for (dataset, method), runs in groups.items():
        read = [g for r in runs for g in r["codes"] if "labelled" in g]
        same = sum(g["found"] == g["labelled"] for g in read)
        kind = sum(g["found"] == g["follows_kind"] for g in read)
        totals = [totals[0] + len(read), totals[1] + same, totals[2] + kind]
        seconds = sorted(r["seconds_codes"] for r in runs)[len(runs) // 2]
        lines.append(
            f"| {dataset} | {method} | {len(read)} | {same}/{len(read)} | {kind}/{len(read)} "
            f"| {seconds:.1f} |"
        )
    unscored = sum(len(r["codes"]) for r in rows) - totals[0]
    lines += [
        "",
        f"All runs: {totals[1]}/{totals[0]} groups read as with labels, {totals[2]}/{totals[0]} "
        "with the kind of the factor they follow (the labels score the reading; it does not "
        "use them). Seconds: the median of a run's label-free reading."
        + (
            f" {unscored} groups that the labelled reading did not read are not scored."
            if unscored
            else ""
        ),
    ]
    return lines


def render(payload: dict[str, Any]) -> str:
    rows = [r for r in payload["results"]["rows"] if r["mode"] != "model"]
    models = [r for r in payload["results"]["rows"] if r["mode"] == "model"]
    settings = payload["results"]["settings"]
    lines = [
        "| dataset | mode | factor | declared | found = declared | symmetry found (declared) "
        "| confidence | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["mode"]), []).append(row)
    for (dataset, mode), runs in groups.items():
        seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
        for i, factor in enumerate(runs[0]["factors"]):
            entries = [next(f for f in r["factors"] if f["name"] == factor["name"]) for r in runs]
            confidence = sum(e["confidence"] for e in entries) / len(entries)
            declared = factor["declared_symmetry"] if factor["declared"] == "loop" else "—"
            if factor.get("declared_symmetry_given"):
                declared = "/".join(map(str, factor["declared_symmetry_given"])) + " by value"
            lines.append(
                f"| {dataset if i == 0 else ''} | {mode if i == 0 else ''} | {factor['name']} "
                f"| {factor['declared']} | {_found(entries)} | {_symmetry(entries)} ({declared}) "
                f"| {confidence:.2f} | {f'{seconds:.1f}' if i == 0 else ''} |"
            )
    every = sum(all(f["found"] == f["declared"] for f in r["factors"]) for r in rows)
    lines += [
        "",
        f"Runs with every factor found as declared: {every}/{len(rows)}. Seeds "
        f"{', '.join(map(str, settings['seeds']))} of base points, {settings['bases']} base "
        f"points per factor, renderers at {settings['image_size']} px; seconds: the median "
        f"time of one whole dataset on {settings['threads']} threads.",
    ]
    if models:
        lines += ["", "Model-based (`prodvae discover RUN_DIR`):", "", *render_models(models)]
    if any("codes" in r for r in models):
        lines += [
            "",
            "Model-based without labels (`prodvae discover RUN_DIR --no-labels`):",
            "",
            *render_codes([r for r in models if "codes" in r]),
        ]
    return "\n".join(lines) + "\n"
