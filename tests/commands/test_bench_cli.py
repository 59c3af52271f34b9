import importlib
import json
from pathlib import Path

import yaml

from prodvae.cli import main

ROOT = Path(__file__).resolve().parents[2]

ONE_CELL = {
    "name": "one",
    "base": {
        "data": {"name": "torus", "options": {"image_size": 32, "factor_sizes": [8, 8]}},
        "model": {"backbone": "burgess", "options": {"width": 4, "hidden_dim": 16}},
        "train": {
            "steps": 2,
            "batch_size": 8,
            "log_every": 1,
            "checkpoint_every": 2,
            "progress": False,
            "num_workers": 0,
            "device": "cpu",
        },
        "eval": {"at_end": False},
        "run": {"tensorboard": False},
    },
    "datasets": {"torus": {}},
    "objectives": {"product": {"objective": {"name": "product"}}},
    "seeds": [7],
    "evaluation": {"num_train": 60, "num_test": 30, "metrics": ["mig"]},
    "headline": {"mig": "MIG"},
}


def test_bench_lists_the_cells_of_a_named_preset(capsys):
    assert main(["bench", "smoke", "--list"]) == 0
    out = capsys.readouterr().out
    assert "preset smoke: 4 cells" in out and "torus--beta_vae--seed1" in out


def test_bench_runs_a_preset_file_and_resumes(tmp_path, capsys):
    preset = tmp_path / "one.yaml"
    preset.write_text(yaml.safe_dump(ONE_CELL))
    out = tmp_path / "out"
    argv = ["bench", str(preset), "--out", str(out), "--executor", "inline"]
    assert main([*argv, "--set", "train.lr=0.002"]) == 0
    assert "1 cells run, 0 skipped as done, 0 failed" in capsys.readouterr().out
    document = json.loads((out / "results.json").read_text())
    assert document["overrides"] == ["train.lr=0.002"]
    assert document["cells"][0]["config"]["train"]["lr"] == 0.002
    assert document["cells"][0]["config"]["train"]["seed"] == 7
    assert "| product | 1/1 |" in (out / "results.md").read_text()
    assert main(argv) == 0
    assert "0 cells run, 1 skipped as done" in capsys.readouterr().out


def test_bench_with_an_unknown_objective_fails_with_one_line(tmp_path, capsys):
    bad = dict(ONE_CELL, objectives={"x": {"objective": {"name": "wizard_vae"}}})
    preset = tmp_path / "bad.yaml"
    preset.write_text(yaml.safe_dump(bad))
    assert main(["bench", str(preset), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "'x' (objective 'wizard_vae')" in err and "not registered" in err
    assert not (tmp_path / "out").exists()


def test_python_dash_m_benchmarks_disentangle_is_the_same_harness(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module("benchmarks.disentangle.__main__")
    assert module.main(["cpu", "--list"]) == 0
    assert "preset cpu: 54 cells" in capsys.readouterr().out
    assert module.main(["nope"]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err
