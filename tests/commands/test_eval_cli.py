import json
import math

import pytest
from tests.data.labelled_files import objects_at_angles, write_labelled_file

from prodvae.cli import main

TINY = (
    "data: {name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}\n"
    "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
    "train: {steps: 2, batch_size: 8, progress: false}\n"
    "eval: {at_end: false}\n"
    "run: {tensorboard: false}\n"
)
QUICK = ["--suite", "topology", "--fast", "--num-train", "200", "--num-test", "100"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    config = root / "tiny.yaml"
    config.write_text(TINY)
    assert main(["train", str(config), "--set", f"run.dir={root / 'runs'}"]) == 0
    return root / "runs" / "tiny"


def test_eval_writes_metrics_json_and_prints_a_table(run_dir, capsys):
    assert main(["eval", str(run_dir), *QUICK]) == 0
    out = capsys.readouterr().out
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["step"] == 2 and record["dataset"] == "torus"
    metrics = record["metrics"]
    assert metrics["suite"] == "topology" and metrics["fast"] is True
    assert metrics["num_train"] == 200
    scores = {k: v for k, v in metrics.items() if isinstance(v, float) and "seconds" not in k}
    assert scores  # at least one score, each printed in the table
    for name in scores:
        assert name in out
    assert f"wrote {run_dir / 'metrics.json'}" in out


def test_eval_on_another_dataset_name(run_dir, capsys):
    assert main(["eval", str(run_dir), *QUICK, "--dataset", "torus"]) == 0
    assert main(["eval", str(run_dir), *QUICK, "--dataset", "nowhere"]) == 2
    assert "unknown dataset 'nowhere'" in capsys.readouterr().err


def test_every_evaluation_is_kept_in_the_history(run_dir):
    history = run_dir / "evaluations.jsonl"
    before = history.read_text().splitlines() if history.exists() else []
    assert main(["eval", str(run_dir), *QUICK]) == 0
    assert main(["eval", str(run_dir), *QUICK[:3], "--num-train", "120", "--num-test", "60"]) == 0
    records = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(records) == len(before) + 2
    assert [r["metrics"]["num_train"] for r in records[-2:]] == [200, 120]
    assert json.loads((run_dir / "metrics.json").read_text()) == records[-1]


def test_eval_refuses_a_folder_without_a_run(tmp_path, capsys):
    assert main(["eval", str(tmp_path), *QUICK]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_eval_refuses_a_run_without_checkpoints(run_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "config.yaml").write_text((run_dir / "config.yaml").read_text())
    assert main(["eval", str(empty), *QUICK]) == 2
    assert "has no checkpoint yet" in capsys.readouterr().err


def test_eval_scores_a_file_that_is_no_grid_on_its_rows(tmp_path, capsys):
    path = write_labelled_file(
        tmp_path / "photos.npz",
        objects_at_angles(),
        ("points", "loop", "segment"),
        periods={1: 2 * math.pi},
        image_size=32,
    )
    config = tmp_path / "tiny.yaml"
    config.write_text(
        TINY.replace(
            "{name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}",
            f"{{name: file, path: {path}}}",
        )
    )
    assert main(["train", str(config), "--set", f"run.dir={tmp_path / 'runs'}"]) == 0
    run_dir = tmp_path / "runs" / "tiny"
    assert main(["eval", str(run_dir), *QUICK]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    assert metrics["drawn"] == "rows" and metrics["binned"] == "f1 (20), f2 (20)"
    assert 0 <= metrics["factor_recovery"] <= 1
    standard = ["--suite", "standard", "--fast", "--num-train", "200", "--num-test", "100"]
    assert main(["eval", str(run_dir), *standard]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    assert "left_out" not in metrics and "mig" in metrics
    assert 0 <= metrics["factor_vae.eval_accuracy"] <= 1 and "beta_vae.eval_accuracy" in metrics
