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
    assert "| 32 | 580 | 650 | 1.12 | 1.05–1.20 |" in text
    assert "python -m benchmarks.recipe_speed --batches 32" in text


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
    ]
    monkeypatch.setattr(sys, "argv", argv)
    recipe_speed.main()
    out = capsys.readouterr().out
    assert "channels-last img/s" in out
    from benchmarks.results import load

    row = load("recipe_speed", tmp_path)["results"]["rows"][0]
    assert row["batch"] == 4 and row["default_per_s"] > 0 and row["channels_last_per_s"] > 0
    low, high = row["ratio_range"]
    assert low <= row["ratio"] <= high
