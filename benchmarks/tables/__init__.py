"""The tables in README.md and benchmarks/README.md, made from ``benchmarks/results/*.json``.

A document marks each generated table with a pair of HTML comments naming the result file::

    <!-- table: train_throughput -->
    ...  (everything here is rewritten)
    <!-- /table -->

The file ``benchmarks/results/train_throughput.json`` names its renderer (``"table"``): the
module ``benchmarks/tables/<renderer>.py``, whose ``render(payload) -> str`` returns Markdown.
Below each table this package adds one line saying when, where and by which command the
figures were measured, so no table can be read apart from its provenance.
``python -m benchmarks.tables`` rewrites the tables; ``--check`` only compares.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS_DIR, load

ROOT = Path(__file__).resolve().parents[2]
#: The documents whose tables are generated.
DOCUMENTS = (ROOT / "README.md", ROOT / "benchmarks" / "README.md")

_BLOCK = re.compile(
    r"(?P<open><!-- table: *(?P<name>[A-Za-z0-9_.-]+) *-->\n)"
    r"(?P<body>.*?)(?P<close><!-- /table -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    """One generated table of a document: its result file's name and its current text."""

    document: Path
    name: str
    body: str


def renderer(table: str) -> Callable[[dict[str, Any]], str]:
    """The ``render`` function of ``benchmarks/tables/<table>.py``; a clear error if absent."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", table):
        raise ValueError(f"table renderer name {table!r} is not a module name")
    try:
        module = importlib.import_module(f"benchmarks.tables.{table}")
    except ModuleNotFoundError as error:
        raise ValueError(f"no table renderer benchmarks/tables/{table}.py") from error
    render = getattr(module, "render", None)
    if not callable(render):
        raise ValueError(f"benchmarks/tables/{table}.py has no render(payload) function")
    return render


def provenance(payload: dict[str, Any]) -> str:
    """The line under a table: date, machine, commit and the command that measured it."""
    machine = payload["machine"]
    where = f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"
    if machine.get("cuda"):
        where += f", {machine['cuda']}"
    return (
        f"<sub>Measured {payload['date']} on {where} (torch {machine.get('torch', '?')}), "
        f"commit {_short(str(payload['commit']))}: `{payload['command']}` "
        f"→ `benchmarks/results/{payload['benchmark']}.json`</sub>"
    )


def _short(commit: str) -> str:
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def make_table(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """The full text of the block for result file ``name`` (table, blank line, provenance)."""
    payload = load(name, results_dir)
    text = renderer(payload["table"])(payload).rstrip("\n")
    return f"{text}\n\n{provenance(payload)}\n"


def blocks(text: str, document: Path) -> list[Block]:
    return [Block(document, m["name"], m["body"]) for m in _BLOCK.finditer(text)]


def regenerate(text: str, results_dir: Path = RESULTS_DIR) -> str:
    """``text`` with every marked block replaced by the table its result file makes."""
    return _BLOCK.sub(
        lambda m: m["open"] + "\n" + make_table(m["name"], results_dir) + "\n" + m["close"], text
    )


def stale(documents: tuple[Path, ...] = DOCUMENTS, results_dir: Path = RESULTS_DIR) -> list[str]:
    """``document: table`` for every block whose committed text differs from what it makes."""
    found = []
    for document in documents:
        text = document.read_text()
        fresh = {b.name: b.body for b in blocks(regenerate(text, results_dir), document)}
        for block in blocks(text, document):
            if block.body != fresh[block.name]:
                found.append(f"{_shown(document)}: {block.name}")
    return found


def _shown(document: Path) -> str:
    return str(document.relative_to(ROOT)) if ROOT in document.parents else str(document)


def unused(documents: tuple[Path, ...] = DOCUMENTS, results_dir: Path = RESULTS_DIR) -> list[str]:
    """Result files that no document shows (written, then forgotten)."""
    shown = {b.name for d in documents for b in blocks(d.read_text(), d)}
    return sorted(p.stem for p in Path(results_dir).glob("*.json") if p.stem not in shown)
