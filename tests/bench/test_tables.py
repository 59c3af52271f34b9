"""The docs' tables are made from result files: ``python -m benchmarks.tables``."""

from __future__ import annotations

import json

import pytest
from benchmarks import tables
from benchmarks.results import load, record
from benchmarks.tables.__main__ import main


def test_the_committed_tables_are_what_the_committed_results_make():
    assert main(["--check"]) == 0
    assert tables.stale() == []


def _document(tmp_path, body="old text\n"):
    path = tmp_path / "README.md"
    path.write_text(f"# Title\n\nprose\n<!-- table: render_throughput -->\n{body}<!-- /table -->\n")
    return path


def _result(tmp_path, ratio=27.0):
    rows = [
        {
            "dataset": "torus",
            "render_batch": 64,
            "render_per_s": 27.0 * 600,
            "train_per_s": 600.0,
            "ratio": ratio,
        },
    ]
    settings = {"device": "cpu", "seconds": 3.0, "clock": "wall", "threads": 2, "target": 10.0}
    return record(
        "render_throughput",
        {"settings": settings, "rows": rows},
        argv=["benchmarks/render_throughput.py", "--seconds", "3"],
        directory=tmp_path,
    )


def test_a_block_is_rewritten_from_its_result_file_with_its_provenance(tmp_path):
    results = tmp_path / "results"
    path = _result(results)
    payload = load("render_throughput", results)
    assert payload["command"] == "python -m benchmarks.render_throughput --seconds 3"
    assert payload["table"] == "render_throughput" and payload["machine"]["cores"] >= 1
    document = _document(tmp_path)
    fresh = tables.regenerate(document.read_text(), results)
    assert "old text" not in fresh and fresh.startswith("# Title\n\nprose\n")
    assert "| torus | 64 | 16,200 | 600 | 27.0× | ok |" in fresh
    assert payload["date"] in fresh and "--seconds 3" in fresh and path.name in fresh
    # regenerating is idempotent
    assert tables.regenerate(fresh, results) == fresh


def test_check_names_a_table_that_drifted_from_its_result(tmp_path):
    results = tmp_path / "results"
    _result(results)
    document = _document(tmp_path)
    assert tables.stale((document,), results) == [f"{document}: render_throughput"]
    document.write_text(tables.regenerate(document.read_text(), results))
    assert tables.stale((document,), results) == []
    _result(results, ratio=9.0)  # a new measurement: the committed table is now stale
    assert len(tables.stale((document,), results)) == 1


def test_missing_or_malformed_results_fail_clearly(tmp_path):
    document = _document(tmp_path)
    with pytest.raises(FileNotFoundError, match="render_throughput.json"):
        tables.regenerate(document.read_text(), tmp_path)
    (tmp_path / "render_throughput.json").write_text(json.dumps({"results": {}}))
    with pytest.raises(ValueError, match="lacks"):
        tables.regenerate(document.read_text(), tmp_path)
    with pytest.raises(ValueError, match="no table renderer"):
        tables.renderer("no_such_table")
    with pytest.raises(ValueError, match="plain file stem"):
        record("../escape", {}, directory=tmp_path)


def test_results_written_by_tests_never_land_in_the_committed_folder(tmp_path):
    path = record("test_only", {"x": 1})
    assert tables.RESULTS_DIR not in path.parents


def test_the_label_free_discovery_rows_count_every_group():
    from benchmarks.tables.discover import render_codes

    def group(found, labelled=None, kind="loop"):
        entry = {"name": "z0", "found": found}
        if labelled is not None:
            entry.update(labelled=labelled, follows="a", follows_kind=kind)
        return entry

    rows = [
        {"dataset": "torus", "method": "product", "seconds_codes": 2.0,
         "codes": [group("loop", "loop"), group("segment", "loop")]},
        {"dataset": "torus", "method": "product", "seconds_codes": 4.0,
         "codes": [group("segment", "segment", kind="segment"), group("loop")]},
    ]  # fmt: skip
    lines = render_codes(rows)
    assert "| torus | product | 3 | 2/3 | 2/3 | 4.0 |" in lines
    assert lines[-1].startswith("All runs: 2/3 groups read as with labels, 2/3 with the kind")
    assert lines[-1].endswith("1 groups that the labelled reading did not read are not scored.")
