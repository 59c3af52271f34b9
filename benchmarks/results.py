"""Where every benchmark writes what it measured: ``benchmarks/results/<name>.json``.

A result file holds the benchmark's own figures under ``"results"`` and, beside them, what is
needed to trust and rerun them: the command line, the git commit (with ``-dirty`` when the
work tree had uncommitted changes), the date (UTC) and the machine (CPU, cores, library
versions, torch threads). The tables in README.md and benchmarks/README.md are made from these
files by ``python -m benchmarks.tables``, never typed by hand.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Set (as the test suite does) to write result files elsewhere than the committed folder.
RESULTS_DIR_ENV = "PRODVAE_BENCH_RESULTS"


def git_commit(cwd: Path = RESULTS_DIR.parent) -> str:
    """The checked-out commit (``-dirty`` if tracked files differ); ``unknown`` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What ran the benchmark: CPU, cores, OS and the versions that change the numbers."""
    import numpy
    import sklearn
    import torch

    info: dict[str, Any] = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch_threads": torch.get_num_threads(),
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.cuda.get_device_name(0)
    return info


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it again (``python -m benchmarks.x ...``)."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]) if argv else Path("?")
    if script.name == "__main__.py":
        head = ["python", "-m", f"benchmarks.{script.parent.name}"]
    elif script.suffix == ".py":
        head = ["python", "-m", f"benchmarks.{script.stem}"]
    else:
        head = [script.name]
    return shlex.join(head + argv[1:])


def record(
    name: str,
    results: Any,
    *,
    table: str | None = None,
    argv: list[str] | None = None,
    directory: Path | None = None,
) -> Path:
    """Write ``results`` (JSON-able) with the command, commit, date and machine; return the path.

    ``name`` is the file's stem (``train_throughput``, ``recovery_cpu``, ...); ``table`` names
    the renderer in :mod:`benchmarks.tables` that turns it into Markdown (default: ``name``,
    so several files of one benchmark can share a renderer). The file is
    written next to its final place and renamed over it, so an interrupted run never leaves a
    half-written result where a table reads it. The folder is ``directory``, else
    ``$PRODVAE_BENCH_RESULTS``, else ``benchmarks/results/``.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"result name must be a plain file stem, got {name!r}")
    if directory is None:
        directory = Path(os.environ.get(RESULTS_DIR_ENV) or RESULTS_DIR)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "table": table or name,
        "command": command_line(argv),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "results": results,
    }
    path = directory / f"{name}.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(payload, indent=1, allow_nan=True) + "\n")
    partial.replace(path)
    return path


def load(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The result file ``name`` as written by :func:`record`; a clear error if it is missing."""
    path = (RESULTS_DIR if directory is None else Path(directory)) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no result file {path}: run the benchmark that writes it")
    payload = json.loads(path.read_text())
    missing = {"benchmark", "table", "command", "commit", "date", "machine", "results"} - set(
        payload
    )
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}: not written by benchmarks.results")
    return payload
