"""The recipe speed benchmark (``benchmarks/recipe_speed.py``) and its table."""

from __future__ import annotations

import sys

import pytest
from benchmarks import recipe_speed, tables
from benchmarks.results import record


def test_the_table_shows_each_batch_its_ratio_and_range(tmp_path):
    rows = [
        {
            "batch": 32,
            "default_per_s": 580.0,
            "channels_last_per_s": 650.0,
            "ratio": 1.12,
            "ratio_range": [1.05, 1.2],
        }
    ]
    record(
        "recipe_speed",
        {"settings": {"threads": 2}, "rows": rows},
        argv=["benchmarks/recipe_speed.py", "--batches", "32"],
        directory=tmp_path,
    )
    text = tables.make_table("recipe_speed", tmp_path)
    assert "| batch (pairs) | default img/s | channels-last img/s |" in text
    assert "| 32 | 580 | 650 | 1.12 | 1.05–1.20 |" in text
    assert "python -m benchmarks.recipe_speed --batches 32" in text
    # another change names itself in the header
    rows = [{**rows[0], "changed_per_s": rows[0].pop("channels_last_per_s")}]
    settings = {"threads": 2, "change": ["objective.options.orbit_workers=1"], "set": []}
    payload = {"settings": settings, "rows": rows}
    record("workers", payload, table="recipe_speed", argv=["x"], directory=tmp_path)
    text = tables.make_table("workers", tmp_path)
    assert "| `objective.options.orbit_workers=1` img/s |" in text
    assert "| 32 | 580 | 650 | 1.12 | 1.05–1.20 |" in text


@pytest.mark.slow
def test_the_benchmark_trains_the_recipe_both_ways_and_records_paired_ratios(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path))
    argv = [
        "recipe_speed",
        "--batches",
        "4",
        "--steps",
        "2",
        "--repeats",
        "2",
        "--num-workers",
        "0",
        "--change",
        "objective.options.orbit_workers=1",
        "--set",
        "model.options.width=8",
        "--record",
        "workers",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    recipe_speed.main()
    out = capsys.readouterr().out
    assert "changed: objective.options.orbit_workers=1; both: model.options.width=8" in out
    from benchmarks.results import load

    payload = load("workers", tmp_path)["results"]
    assert payload["settings"]["change"] == ["objective.options.orbit_workers=1"]
    row = payload["rows"][0]
    assert row["batch"] == 4 and row["default_per_s"] > 0 and row["changed_per_s"] > 0
    low, high = row["ratio_range"]
    assert low <= row["ratio"] <= high
