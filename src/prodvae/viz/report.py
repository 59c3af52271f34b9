"""``report.html``: one self-contained page per run, readable offline and by e-mail.

The page holds the config (``config.yaml``), the evaluation table (``metrics.json``, when
``prodvae eval`` has written one), the last logged training values (``metrics.jsonl``),
what ``model.space: discover`` found (``discovery.json`` and its figures, when it ran),
every figure of ``figures/`` inlined as a base64 data URI, and the command that reproduces
the run. Nothing is fetched from elsewhere, and the page has no script.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import yaml

from prodvae.atomic import atomic_write
from prodvae.viz.curves import metric_series, read_metrics_log
from prodvae.viz.figures import FIGURE_FILES

REPORT_FILE = "report.html"
MIME_TYPES = {".png": "image/png", ".gif": "image/gif"}
CAPTIONS = {
    "reconstructions.png": "Inputs (top) and their reconstructions (bottom).",
    "traversals.png": "Each latent factor moved along its topology, the others held fixed: a "
    "loop goes once around (its last frame equals its first), a point set visits its points, "
    "a segment runs end to end, a Euclidean axis sweeps from -2 to +2 standard deviations.",
    "traversals.gif": "All traversals at once; the animation closes on itself.",
    "portraits.png": "Codes of each latent factor against its best-matching ground-truth factor "
    "(loops in their plane, coloured cyclically when the factor is itself a loop).",
    "association.png": "Normalised mutual information of ground-truth factors and latent units.",
    "training_curves.png": "Every numeric value logged during training, grouped by prefix.",
}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1400px;
       color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
"""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    return "n/a" if value is None else str(value)


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    """An HTML table: the first column names the row, the others are values."""
    cells = "".join(
        f"<tr><td>{html.escape(str(row[0]))}</td>"
        + "".join(f"<td class='num'>{html.escape(_format(value))}</td>" for value in row[1:])
        + "</tr>"
        for row in rows
    )
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    return f"<table><tr>{head}</tr>{cells}</table>"


def reproduce_command(run_dir: Path, config: dict[str, Any], meta: dict[str, Any]) -> str:
    """Shell lines that train the same run again (into a new folder, as train requires)."""
    name = str((config.get("run") or {}).get("name") or run_dir.name)
    lines = []
    if meta.get("git_commit"):
        lines.append(f"git checkout {meta['git_commit']}")
    lines.append(f"prodvae train {run_dir / 'config.yaml'} --set run.name={name}-rerun")
    return "\n".join(lines)


def figure_files(run_dir: Path) -> list[Path]:
    """The run's figures: the standard ones in order, then any other PNG/GIF by name."""
    folder = run_dir / "figures"
    if not folder.is_dir():
        return []
    known = [folder / name for name in FIGURE_FILES if (folder / name).is_file()]
    others = sorted(
        p for p in folder.iterdir() if p.suffix in MIME_TYPES and p.name not in FIGURE_FILES
    )
    return known + [p for p in others if p.is_file()]


#: Config fields shown at the top of the report, when the config has them.
SUMMARY_FIELDS = (
    ("data", "name"),
    ("model", "backbone"),
    ("model", "space"),
    ("objective", "name"),
    ("train", "steps"),
    ("train", "seed"),
)


def _summary_html(config: dict[str, Any]) -> str:
    """The main settings of the run as a small table."""
    rows = []
    for section, key in SUMMARY_FIELDS:
        fields = config.get(section)
        value = fields.get(key) if isinstance(fields, dict) else None
        if isinstance(value, (list, dict)):
            value = json.dumps(value)
        if value is not None:
            rows.append((f"{section}.{key}", value))
    return _table(rows, ("setting", "value")) if rows else ""


def _figure_html(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = html.escape(CAPTIONS.get(path.name, path.stem.replace("_", " ")))
    return (
        f"<figure id='{html.escape(path.stem)}-{path.suffix[1:]}'>"
        f"<img src='data:{MIME_TYPES[path.suffix]};base64,{data}' alt='{html.escape(path.name)}'>"
        f"<figcaption><b>{html.escape(path.name)}</b>: {caption}</figcaption></figure>"
    )


def _evaluation_html(run_dir: Path) -> str:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return "<p>No evaluation yet: run <code>prodvae eval RUN_DIR</code>.</p>"
    record = _read_json(path)
    scores = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    info = {k: v for k, v in record.items() if k != "metrics"}
    if not scores:  # a flat file: every numeric entry is a score
        scores = {k: v for k, v in info.items() if isinstance(v, (int, float))}
        info = {k: v for k, v in info.items() if k not in scores}
    details = ", ".join(f"{k}: {_format(v)}" for k, v in info.items())
    return (
        f"<p>{html.escape(details)}</p>"
        + _recovery_html(scores)
        + _table(sorted(scores.items()), ("metric", "value"))
    )


def _recovery_html(scores: dict[str, Any]) -> str:
    """One row per ground-truth factor from the ``factor_recovery`` metric's scores: its
    score, a loop's winding number round its latent block, and whether it is recovered (a
    factor of its own at score >= 0.9, a loop once round); empty when it was not computed."""
    prefix = "factor_recovery.recovered."
    names = [key[len(prefix) :] for key in scores if key.startswith(prefix)]
    if not names:
        return ""
    rows = []
    for name in names:
        winding = scores.get(f"factor_recovery.winding.{name}")
        recovered = scores[prefix + name]
        rows.append(
            (
                name,
                scores.get(f"factor_recovery.score.{name}"),
                "—" if winding is None else f"{winding:+.0f}",
                "yes" if recovered == 1 else "no",
            )
        )
    count = sum(scores[prefix + name] == 1 for name in names)
    summary = f"<p>Factors recovered: {count} of {len(names)}.</p>"
    return (
        "<h3>Each factor with its own topology</h3>"
        + summary
        + _table(rows, ("factor", "score", "winding", "recovered"))
    )


def _training_html(run_dir: Path) -> str:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return "<p>No training log (metrics.jsonl).</p>"
    records = read_metrics_log(path)
    if not records:
        return "<p>The training log is empty.</p>"
    rows = []
    for series in metric_series(records):
        finite = [v for v in series.values if math.isfinite(v)]
        rows.append((series.key, finite[-1] if finite else None))
    last_step = records[-1]["step"]
    return f"<p>Last logged step: {html.escape(_format(last_step))}.</p>" + _table(
        rows, ("logged value", "last")
    )


def _discovery_html(run_dir: Path) -> str:
    """What ``model.space: discover`` read (``discovery.json``, ``discovery/figures/``);
    empty for a run whose space was given."""
    path = run_dir / "discovery.json"
    if not path.is_file():
        return ""
    record = _read_json(path)
    read = "read each factor's kind from the data and " if record.get("read_from") else ""
    text = f"model.space: discover {read}found {record.get('space', '?')}"
    if record.get("constant"):
        text += f"; not read (one value): {', '.join(record['constant'])}"
    keys = ("name", "declared", "found", "symmetry", "confidence")
    findings = [  # a factor that could not be read was found as nothing
        {**finding, "found": finding.get("found") or "not read"}
        for finding in record.get("findings", [])
    ]
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_format(finding.get(key)))}</td>" for key in keys)
        + "</tr>"
        for finding in findings
    )
    header = "".join(
        f"<th>{name}</th>" for name in ("factor", "declared", "found", "symmetry", "conf")
    )
    folder = run_dir / "discovery" / "figures"
    figures = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return (
        f"<h2>Discovery</h2><p>{html.escape(text)}.</p>"
        f"<table><tr>{header}</tr>{rows}</table>" + "".join(_figure_html(p) for p in figures)
    )


def render_report(run_dir: Path | str) -> str:
    """The HTML text of the report of ``run_dir`` (see the module docstring)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise FileNotFoundError(f"{str(run_dir)!r} is not a run folder (no config.yaml)")
    config = _read_yaml(config_path)
    meta_path = run_dir / "meta.json"
    meta = _read_json(meta_path) if meta_path.is_file() else {}
    figures = figure_files(run_dir)
    figure_html = "".join(_figure_html(p) for p in figures) or "<p>No figures yet.</p>"
    config_text = yaml.safe_dump(config, sort_keys=False)
    title = html.escape(f"prodvae run {run_dir.name}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<h1>{title}</h1>{_summary_html(config)}"
        f"<h2>Reproduce</h2><pre>{html.escape(reproduce_command(run_dir, config, meta))}</pre>"
        f"<h2>Evaluation</h2>{_evaluation_html(run_dir)}"
        f"<h2>Training</h2>{_training_html(run_dir)}"
        f"{_discovery_html(run_dir)}"
        f"<h2>Figures</h2>{figure_html}"
        f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>"
        f"<h2>Environment</h2>{_table(sorted(meta.items()), ('item', 'value'))}"
        "</body></html>\n"
    )


def write_report(run_dir: Path | str) -> Path:
    """Write ``run_dir/report.html`` atomically and return its path."""
    text = render_report(run_dir)
    return atomic_write(Path(run_dir) / REPORT_FILE, lambda tmp: tmp.write_text(text, "utf-8"))
