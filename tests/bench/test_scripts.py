"""The performance scripts run here: ``gpu_check`` on the CPU (and fails, exit status 1, without
CUDA or when a check fails), ``memory_rss`` on a small file."""

import importlib
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.gpu_check"), importlib.import_module(
        "benchmarks.memory_rss"
    )


CPU_ARGV = [
    "--device",
    "cpu",
    "--steps",
    "2",
    "--warmup",
    "1",
    "--batch-sizes",
    "16",
    "--image-size",
    "32",
    "--num-images",
    "128",
    "--no-compile",
]


def test_gpu_check_runs_on_cpu(scripts, capsys):
    gpu_check, _ = scripts
    assert gpu_check.main(CPU_ARGV) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failures"] == []
    assert report["resident"] == {
        "dtype": "torch.uint8",
        "device": "cpu",
        "shape": [128, 3, 32, 32],
        "bytes": 128 * 3 * 32 * 32,
        "ok": True,
    }
    assert report["bf16_step"]["ok"] and report["bf16_step"]["loss_finite"]
    rows = report["throughput"]
    assert [(r["bf16"], r["compile"]) for r in rows] == [(False, False), (True, False)]
    assert all(r["ok"] and r["images_per_s"] > 0 for r in rows)
    assert report["protocol"]["hours"] is None  # no batch-64 row to extrapolate from


@pytest.mark.parametrize("device", [[], ["--device", "cuda"], ["--device", "cuda:0"]])
def test_gpu_check_fails_when_cuda_is_asked_for_and_missing(scripts, monkeypatch, capsys, device):
    gpu_check, _ = scripts
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    assert gpu_check.main(device) == 1  # before rendering anything
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["environment"]["cuda_available"] is False
    assert report["failures"] == ["CUDA is not available"] and "throughput" not in report
    assert "gpu_check: FAILED CUDA is not available" in captured.err


def test_gpu_check_fails_when_a_check_fails(scripts, monkeypatch, capsys):
    gpu_check, _ = scripts
    measure = gpu_check.throughput

    def bf16_breaks(images, batch_size, steps, bf16, compile_model, warmup):
        if bf16:
            raise RuntimeError("no bf16 kernel")
        return measure(images, batch_size, steps, bf16, compile_model, warmup)

    monkeypatch.setattr(gpu_check, "throughput", bf16_breaks)
    assert gpu_check.main(CPU_ARGV) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    broken = "RuntimeError: no bf16 kernel"
    assert report["failures"] == [f"bf16: {broken}", f"throughput: {broken}"]
    assert [r["ok"] for r in report["throughput"]] == [True, False]  # fp32 passed, bf16 failed
    assert captured.err.count("gpu_check: FAILED") == 2


def test_gpu_check_counts_a_non_finite_loss_and_foreign_images_as_failures(scripts):
    gpu_check, _ = scripts
    row = {"ok": True, "batch_size": 64, "bf16": True, "compile": False, "loss_finite": False}
    resident = {"ok": False, "dtype": "torch.float32", "device": "cpu"}
    report = {"resident": resident, "bf16_step": {**row, "loss_finite": True}, "throughput": [row]}
    assert gpu_check.failures(report) == [
        "resident: images are torch.float32 on cpu, not uint8 on the device",
        "non-finite loss at batch 64 (bf16=True, compile=False)",
    ]
    assert gpu_check.failures({"resident": {**resident, "ok": True}, "throughput": []}) == []


def test_gpu_check_extrapolates_from_the_fastest_working_batch_64_row(scripts):
    gpu_check, _ = scripts
    rows = [
        {
            "ok": True,
            "batch_size": 64,
            "bf16": False,
            "compile": False,
            "ms_per_step": 30.0,
            "loss_finite": True,
        },
        {
            "ok": True,
            "batch_size": 64,
            "bf16": True,
            "compile": True,
            "ms_per_step": 12.0,
            "loss_finite": True,
        },
        {
            "ok": True,
            "batch_size": 64,
            "bf16": True,
            "compile": False,
            "ms_per_step": 5.0,
            "loss_finite": False,
        },  # diverged: not usable
        {
            "ok": True,
            "batch_size": 256,
            "bf16": True,
            "compile": True,
            "ms_per_step": 1.0,
            "loss_finite": True,
        },
        {"ok": False, "error": "compile: boom"},
    ]
    protocol = gpu_check.extrapolate(rows, 300_000)
    assert protocol["hours"] == pytest.approx(300_000 * 0.012 / 3600)  # 1.0 h
    assert protocol["bf16"] and protocol["compile"] and protocol["batch_size"] == 64


def test_memory_rss_grid_and_file_load_with_the_shapes3d_loader(scripts, tmp_path):
    _, memory_rss = scripts
    assert memory_rss.grid_sizes(480_000) == (10, 10, 10, 8, 4, 15)
    sizes = memory_rss.grid_sizes(500)
    assert math.prod(sizes) <= 500 and len(sizes) == 6
    count = memory_rss.write_file(tmp_path / "3dshapes.h5", sizes, chunk=64)
    assert count == math.prod(sizes)
    for lazy in (False, True):
        row = memory_rss.child(str(tmp_path), lazy, num_batches=2)
        assert row["num_images"] == count and row["peak_rss"] >= row["rss_after_imports"] > 0
    with pytest.raises(ValueError, match="--num-images must be >= 2"):
        memory_rss.grid_sizes(1)
    assert sys.modules["benchmarks.memory_rss"] is memory_rss


def test_row_orbits_read_the_dial_from_rows_with_values_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path))
    row_orbits = importlib.import_module("benchmarks.row_orbits")
    tables = importlib.import_module("benchmarks.tables")
    argv = ["--datasets", "torus", "--missing", "0.2", "--draws", "6", "--record", "row_orbits"]
    rows = row_orbits.main(argv)
    assert [row["factor"] for row in rows] == ["long_hand", "short_hand"]
    for row in rows:
        # three values of the other hand: three orbits of the 40 values, a fifth of the rows
        # gone (32 on average), and every orbit linked well (measured 0.99 or more)
        assert row["orbits"] == 3 and 24 <= row["values"] < 40 and row["rows"] < 120
        assert row["agreement"] > 0.9 and row["pulled"] == 1.0 and row["alignment"] > 0.98
    assert "short_hand" in capsys.readouterr().out
    payload = json.loads((tmp_path / "row_orbits.json").read_text())
    table = tables.renderer(payload["table"])(payload)
    assert "| torus | long_hand | 20% |" in table


def test_orbit_angles_reads_the_dial_and_records_its_table(monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path))
    orbit_angles = importlib.import_module("benchmarks.orbit_angles")
    tables = importlib.import_module("benchmarks.tables")
    argv = ["--datasets", "torus", "--orbits", "4", "--draws", "6", "--record", "orbit_angles"]
    rows = orbit_angles.main(argv)
    # both hands, each read once round from its images (measured 0.9997 or more over 100)
    assert [row["factor"] for row in rows] == ["long_hand", "short_hand"]
    assert all(row["alignment"] > 0.99 and row["agreement"] > 0.99 for row in rows)
    # the frame keeps the reference and every orbit its draws read, all in one frame
    assert all(row["frame_orbits"] >= 2 and row["frame_alignment"] > 0.99 for row in rows)
    # the frame that sorts every orbit for repeats kept the very same angles, and both were timed
    assert all(row["same_as_sorted"] for row in rows)
    assert all(row["sorted_seconds_per_orbit"] > 0 for row in rows)
    assert "long_hand" in capsys.readouterr().out
    payload = json.loads((tmp_path / "orbit_angles.json").read_text())
    table = tables.renderer(payload["table"])(payload)
    assert "| torus | short_hand | 40 | 4 (4) |" in table
    assert "(same angles) |" in table
