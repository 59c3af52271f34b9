"""``benchmarks/fault_inventory.py`` classifies the suite's fault cases by known rules."""

from __future__ import annotations

from benchmarks.fault_inventory import classify, inventory


def test_cases_are_classified_by_name_then_module_then_body():
    assert classify("tests/train/test_loop.py::test_sigterm_saves_and_exits", "") == "signals"
    assert classify("tests/train/test_x.py::test_resume_refuses_a_mismatch", "") == "checkpoints"
    assert classify("tests/data/test_files.py::test_bad_width", "") == "files"
    assert classify("tests/train/test_x.py::test_unknown_option_lists_valid", "") == "configs"
    assert classify("tests/spaces/test_x.py::test_nan_mu", "pytest.raises(ValueError)") == "other"
    # a test that tries no fault is not counted, and pytest.raises(SystemExit) alone is no fault
    assert classify("tests/spaces/test_x.py::test_kl_matches_quadrature", "") is None
    assert classify("tests/test_cli.py::test_help", "pytest.raises(SystemExit)") is None


def test_inventory_counts_cases_and_functions(tmp_path):
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "test_a.py").write_text(
        "def test_corrupt_file_is_refused():\n    pass\n\n"
        "def test_plain():\n    pass\n\n"
        "def test_kl(x):\n    with pytest.raises(ValueError):\n        pass\n"
    )
    ids = [
        "tests/test_a.py::test_corrupt_file_is_refused[npz]",
        "tests/test_a.py::test_corrupt_file_is_refused[h5]",
        "tests/test_a.py::test_plain",
        "tests/test_a.py::test_kl",
    ]
    result = inventory(ids, tmp_path)
    rows = {row["category"]: row for row in result["rows"]}
    assert result["num_collected"] == 4 and result["num_fault_cases"] == 3
    assert rows["files"]["count"] == 2 and rows["files"]["functions"] == 1
    assert rows["other"]["count"] == 1 and rows["signals"]["count"] == 0
    assert rows["files"]["examples"] == ["tests/test_a.py::test_corrupt_file_is_refused"]
