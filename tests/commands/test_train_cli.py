import json
from pathlib import Path

import pytest

from prodvae.cli import main
from prodvae.train import load_config, read_metrics

TINY = (
    "data: {name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}\n"
    "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
    "objective: {name: product, options: {anneal_steps: 2}}\n"
    "train: {steps: 4, batch_size: 8, log_every: 1, checkpoint_every: 2, progress: false,"
    " num_workers: 0}\n"
    "eval: {at_end: false}\n"
    "run: {tensorboard: false}\n"
)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_train_writes_a_run_named_after_the_config(config_file, tmp_path, capsys):
    runs = tmp_path / "runs"
    status = main(["train", str(config_file), "--set", f"run.dir={runs}"])
    assert status == 0
    run = runs / "tiny"
    assert "run folder: " + str(run) in capsys.readouterr().out
    lines = read_metrics(run)
    assert [line["step"] for line in lines] == [1, 2, 3, 4]
    assert all(isinstance(line["loss"], float) for line in lines)
    raw = (run / "metrics.jsonl").read_text().splitlines()
    assert json.loads(raw[0])["step"] == 1
    saved = load_config(run / "config.yaml")
    assert saved.run.name == "tiny" and saved.objective.name == "product"
    meta = json.loads((run / "meta.json").read_text())
    assert set(meta) >= {"prodvae_version", "git_commit", "seed", "torch_version"}


def test_resume_continues_to_more_steps(config_file, tmp_path):
    runs = tmp_path / "runs"
    assert main(["train", str(config_file), "--set", f"run.dir={runs}"]) == 0
    assert main(["train", "--resume", str(runs / "tiny"), "--set", "train.steps=6"]) == 0
    assert [line["step"] for line in read_metrics(runs / "tiny")] == [1, 2, 3, 4, 5, 6]
    assert load_config(runs / "tiny" / "config.yaml").train.steps == 4  # the original record


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", "unknown config key train.stepz; valid keys: steps"),
        ("train.lr=fast", "train.lr must be a number"),
        ("objective.name=nope", "unknown objective 'nope'; expected one of"),
        ("objective.options.betta=2", "unknown config key objective.options.betta; valid keys:"),
        ("objective.options.beta=-2", "objective.options.beta must be a finite number >= 0"),
        ("model.backbone=vgg", "unknown backbone 'vgg'"),
        ("data.name=nowhere", "unknown dataset 'nowhere'"),
        ("model.space=loop * wobble", "wobble"),
    ],
)
def test_bad_configs_fail_before_training(config_file, tmp_path, capsys, override, message):
    runs = tmp_path / "runs"
    status = main(["train", str(config_file), "--set", f"run.dir={runs}", "--set", override])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("prodvae train: error:") and message in err
    assert not runs.exists()  # nothing was created


def test_resume_refuses_a_changed_config_and_a_missing_run(config_file, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", str(config_file), "--set", f"run.dir={runs}"]) == 0
    capsys.readouterr()
    status = main(["train", "--resume", str(runs / "tiny"), "--set", "train.lr=0.5"])
    assert status == 2 and "different config" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert main(["train"]) == 2


def test_a_second_train_into_the_same_folder_is_refused(config_file, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", str(config_file), "--set", f"run.dir={runs}"]) == 0
    assert main(["train", str(config_file), "--set", f"run.dir={runs}"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_make_demo_in_reduced_form(tmp_path, capsys):
    """The `make demo` sequence (train configs/product_weak.yaml with configs/demo.yaml, eval,
    viz) on a few tiny steps."""
    runs = tmp_path / "runs"
    shrink = [
        f"run.dir={runs}",
        "train.steps=2",
        "train.batch_size=8",
        "train.progress=false",
        "run.tensorboard=false",
        "data.options={image_size: 32, factor_sizes: [4, 4]}",
        "model.options={width: 4, hidden_dim: 16, normalise_codes: true}",
    ]
    sets = [arg for item in shrink for arg in ("--set", item)]
    configs = Path(__file__).resolve().parents[2] / "configs"
    recipe, demo = configs / "product_weak.yaml", configs / "demo.yaml"
    assert main(["train", str(recipe), str(demo), *sets]) == 0
    run = runs / "demo"
    quick = ["--fast", "--suite", "topology", "--num-train", "100", "--num-test", "50"]
    assert main(["eval", str(run), *quick]) == 0
    assert (run / "metrics.json").is_file()
    assert (
        main(["viz", str(run), "--num-samples", "16", "--num-images", "4", "--num-steps", "3"]) == 0
    )
    assert any((run / "figures").glob("*.png"))
    assert "run folder: " in capsys.readouterr().out
