import json

import pytest

from prodvae.bench import load_preset, parse_preset, run_sweep
from prodvae.bench.arguments import resolve_preset
from prodvae.bench.summary import markdown_table


def test_smoke_preset_end_to_end_and_resume(tmp_path):
    preset = load_preset(resolve_preset("smoke"))
    out = tmp_path / "out"
    first = run_sweep(preset, out, executor="inline")
    assert first.failures == {} and len(first.ran) == 4 and first.skipped == []
    for name in ("results.json", "results.md", "results.png"):
        assert (out / name).is_file()
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads((out / "results.json").read_text())
    assert document["num_finished"] == 4 and len(document["cells"]) == 4
    assert set(document["environment"]) >= {"torch", "sklearn", "python"}
    assert document["date"] and document["preset_file"]["name"] == "smoke"
    for cell in document["cells"]:
        assert cell["status"] == "finished" and cell["steps"] == 4
        assert set(preset.headline) <= set(cell["metrics"])
        assert 0.0 <= cell["metrics"]["mig"] <= 1.0
        assert (out / "cells" / cell["cell_id"] / "run" / "config.yaml").is_file()
    table = (out / "results.md").read_text()
    expected = markdown_table(
        document["cells"], ["torus"], ["product", "beta_vae"], preset.headline, num_seeds=2
    )
    assert expected in table and "| product | 2/2 |" in table

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")}
    second = run_sweep(preset, out, executor="inline")
    assert second.ran == [] and len(second.skipped) == 4
    assert {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")} == stamps
    assert json.loads((out / "results.json").read_text())["cells"] == document["cells"]


def test_a_failing_cell_is_reported_and_the_others_finish(tiny_preset, tmp_path):
    tiny_preset["objectives"]["beta_vae"]["model"]["space"] = "loop * loop"
    tiny_preset["objectives"]["beta_vae"]["objective"] = {"name": "qlae"}  # needs euclidean
    result = run_sweep(parse_preset(tiny_preset), tmp_path, executor="inline")
    assert list(result.failures) == ["torus--beta_vae--seed0"]
    assert "euclidean" in next(iter(result.failures.values()))
    assert [r["cell_id"] for r in result.records] == ["torus--product--seed0"]
    assert json.loads((tmp_path / "results.json").read_text())["failures"] == result.failures


@pytest.mark.slow  # ~10 s idle, 25 s on a shared CPU: a subprocess imports torch
def test_submitit_local_executor_runs_a_cell(tiny_preset, tmp_path):
    pytest.importorskip("submitit")
    tiny_preset["objectives"].pop("beta_vae")
    result = run_sweep(parse_preset(tiny_preset), tmp_path, executor="local")
    assert result.failures == {} and len(result.records) == 1
    assert any((tmp_path / "submitit").iterdir())  # the job ran through submitit
