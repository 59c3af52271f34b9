"""``python -m benchmarks.discover`` reads dataset files as ``prodvae discover FILE`` does: a
grid on its grid, any other file on its rows, and renders their rows in its table."""

import json
import math
import os
from pathlib import Path

import numpy as np
from benchmarks import discover
from benchmarks.tables.discover import render

from prodvae.data import FactorSpec
from prodvae.data.files import write_dataset


def _turns(path, n, *, grid):
    """A wedge turned (a loop), at two brightnesses (a grid of 24 x 2) or each row at a
    random turn and brightness of its own."""
    rng = np.random.default_rng(0)
    if grid:
        turns, bright = (a.ravel() for a in np.meshgrid(np.arange(24) / 24 * 2 * math.pi, [0.5, 1]))
    else:
        turns, bright = rng.uniform(0, 2 * math.pi, n), rng.uniform(0.5, 1, n)
    y, x = np.mgrid[-1:1:16j, -1:1:16j]
    level = 0.5 + 0.5 * np.cos(np.arctan2(y, x)[None] - turns[:, None, None])
    images = (255 * level * bright[:, None, None] * (np.hypot(x, y) < 0.9)).astype(np.uint8)
    images = np.repeat(images[..., None], 3, axis=-1)
    spec = (
        FactorSpec("turn", "loop", (0.0,), period=2 * math.pi),
        FactorSpec("brightness", "segment", (0.0,)),
    )
    factors = np.c_[turns, bright]
    return write_dataset(path, spec, len(factors), (3, 16, 16), iter([(images, factors)]))


def test_files_are_read_on_their_grid_or_their_rows(tmp_path, capsys):
    grid = _turns(tmp_path / "wedge.npz", 48, grid=True)
    rows = _turns(tmp_path / "wedges.h5", 1200, grid=False)
    args = ["--datasets", str(grid), str(rows), "--seeds", "0", "--bases", "4"]
    discover.main([*args, "--record", "files"])
    out = capsys.readouterr().out
    assert "wedge        file     seed 0" in out and "turn:loop brightness:segment" in out
    assert "wedges       file, no grid seed 0" in out
    # the whole file's rows: each turn at a brightness of its own, read on mean paths
    lines = [line for line in out.splitlines() if line.startswith("wedges")]
    assert "turn:loop" in lines[0] and "(!)" not in lines[0]
    payload = json.loads((Path(os.environ["PRODVAE_BENCH_RESULTS"]) / "files.json").read_text())
    table = render(payload)
    assert "| wedge | file | turn | loop | 1/1 |" in table
    assert "| wedges | file, no grid | turn | loop | 1/1 |" in table
