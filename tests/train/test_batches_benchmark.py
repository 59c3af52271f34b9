"""The throughput table (``benchmarks/tables/train_throughput.py``) from a result file."""

from __future__ import annotations

from benchmarks import tables
from benchmarks.results import record


def _row(source: str, raw: float, loop: float) -> dict:
    return {
        "backbone": "burgess",
        "batch": 64,
        "source": source,
        "raw_per_s": raw,
        "loop_per_s": loop,
        "ratio": loop / raw,
        "ratio_range": [loop / raw - 0.05, loop / raw + 0.04],
        "raw_range": [raw - 50, raw + 50],
        "loop_range": [loop - 10, loop + 10],
    }


def test_the_table_shows_each_row_its_ratio_and_verdict(tmp_path):
    settings = {"device": "cpu", "threads": 2, "steps": 10, "repeats": 3, "target": 0.95}
    rows = [_row("held", 1000.0, 1060.0), _row("rendered", 1031.0, 872.0)]
    record(
        "train_throughput",
        {"settings": settings, "rows": rows},
        argv=["benchmarks/train_throughput.py", "--batches", "64"],
        directory=tmp_path,
    )
    text = tables.make_table("train_throughput", tmp_path)
    assert (
        "| burgess | 64 | held | 1,000 | 1,060 | 1.06 | ok | 1.01–1.10 | 950–1,050 | 1,050–1,070 |"
        in text
    )
    assert "| burgess | 64 | rendered | 1,031 | 872 | 0.85 | below 0.95 | 0.80–0.89 |" in text
    assert "python -m benchmarks.train_throughput --batches 64" in text
