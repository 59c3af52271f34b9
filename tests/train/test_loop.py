import os
import signal

import pytest
import torch
import yaml
from tests.tolerances import float_tol
from tiny_runs import SAMPLED

from prodvae.train import load_config, read_metrics, train
from prodvae.train.checkpoint import latest_checkpoint, list_checkpoints


def _losses(run_dir):
    return [(line["step"], line["loss"]) for line in read_metrics(run_dir) if "loss" in line]


def test_a_run_writes_its_folder(tiny_config):
    config = tiny_config("objective.name=toy_ae", "run.tensorboard=true")
    result = train(config, config.run.dir + "/tiny")
    run = result.run_dir
    assert result.status == "finished" and result.step == 6
    assert {"config.yaml", "meta.json", "metrics.jsonl", "checkpoints", "figures", "tb"} <= set(
        os.listdir(run)
    )
    assert load_config(run / "config.yaml") == config
    meta = yaml.safe_load((run / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["prodvae_version"]
    assert [step for step, _ in _losses(run)] == [1, 2, 3, 4, 5, 6]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == [
        "step_00000003",
        "step_00000006",
    ]
    assert any((run / "tb").iterdir())


def test_training_reduces_the_loss(tiny_config):
    config = tiny_config("objective.name=toy_ae", "train.steps=12", "train.lr=0.003")
    result = train(config, config.run.dir + "/tiny")
    losses = [loss for _, loss in _losses(result.run_dir)]
    assert sum(losses[-3:]) / 3 < 0.97 * sum(losses[:3]) / 3  # 2124 -> 2021 here


def test_same_seed_same_losses(tiny_config, tmp_path, sampled_losses):
    again = train(tiny_config(*SAMPLED), tmp_path / "a")
    assert _losses(again.run_dir) == sampled_losses
    other = train(tiny_config(*SAMPLED, "train.seed=1", "train.steps=2"), tmp_path / "c")
    assert _losses(other.run_dir) != sampled_losses[:2]


def test_resume_gives_the_losses_of_an_uninterrupted_run(tiny_config, tmp_path, sampled_losses):
    # posterior samples read the global RNG: the checkpoint must restore it exactly
    part = train(tiny_config(*SAMPLED, "train.steps=3"), tmp_path / "part")
    assert part.step == 3
    resumed = train(tiny_config(*SAMPLED, "train.steps=6"), tmp_path / "part", resume=True)
    assert resumed.step == 6
    assert _losses(resumed.run_dir) == sampled_losses


def test_resume_drops_metric_lines_past_the_checkpoint(tiny_config, tmp_path):
    config = tiny_config("objective.name=toy_ae", "train.checkpoint_every=4")
    train(config, tmp_path / "run")
    # pretend the run died at step 6 before its final checkpoint
    for path in list_checkpoints(tmp_path / "run" / "checkpoints")[1:]:
        import shutil

        shutil.rmtree(path)
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").name == "step_00000004"
    train(config, tmp_path / "run", resume=True)
    assert [step for step, _ in _losses(tmp_path / "run")] == [1, 2, 3, 4, 5, 6]


def test_resume_with_another_config_is_refused(tiny_config, tmp_path):
    train(tiny_config("objective.name=toy_ae", "train.steps=2"), tmp_path / "run")
    with pytest.raises(ValueError, match="different config.*train.lr"):
        train(tiny_config("objective.name=toy_ae", "train.lr=0.1"), tmp_path / "run", resume=True)


def test_an_existing_run_is_never_overwritten(tiny_config, tmp_path):
    config = tiny_config("objective.name=toy_ae", "train.steps=2")
    train(config, tmp_path / "run")
    before = (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.raises(ValueError, match="already holds a run; resume it"):
        train(config, tmp_path / "run")
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == before


def test_non_finite_losses_are_skipped_then_stop_the_run(tiny_config, tmp_path):
    skipped = tiny_config("objective.name=toy_ae", "objective.options={nan_steps: [1, 3]}")
    result = train(skipped, tmp_path / "skip")
    assert result.status == "finished" and result.num_nonfinite == 2
    assert [step for step, _ in _losses(result.run_dir)] == [1, 3, 5, 6]  # steps 1, 3 are 0-based

    stopping = tiny_config(
        "objective.name=toy_ae", "objective.options={nan_steps: [2, 3, 4]}", "train.max_nonfinite=1"
    )
    result = train(stopping, tmp_path / "stop")
    assert result.status == "nonfinite" and result.step == 4 and result.num_nonfinite == 2
    # the checkpoint holds the last good weights and loads for a resume
    assert latest_checkpoint(result.run_dir / "checkpoints").name == "step_00000004"
    more_patience = tiny_config(
        "objective.name=toy_ae", "objective.options={nan_steps: [2, 3, 4]}", "train.max_nonfinite=5"
    )
    again = train(more_patience, result.run_dir, resume=True)
    assert again.status == "finished" and again.step == 6 and again.num_nonfinite == 3


class _SendSignal:
    """A hook that sends this process a signal after a given step."""

    name = "signal"

    def __init__(self, every: int, signum: int) -> None:
        self.every, self.signum = every, signum

    def __call__(self, context):
        os.kill(os.getpid(), self.signum)
        return {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_and_resumes_exactly(
    tiny_config, tmp_path, signum, sampled_losses
):
    options = [*SAMPLED, "train.checkpoint_every=100"]
    stopped = train(tiny_config(*options), tmp_path / "run", hooks=[_SendSignal(2, signum)])
    assert stopped.status == "interrupted" and stopped.step == 3
    assert stopped.checkpoint.name == "step_00000003"
    assert signal.getsignal(signum) is not None  # handlers restored
    resumed = train(tiny_config(*options), tmp_path / "run", resume=True, hooks=[])
    assert _losses(resumed.run_dir) == sampled_losses


class _Recorder:
    name = "recorder"

    def __init__(self, every):
        self.every, self.steps = every, []

    def __call__(self, context):
        import torch

        torch.rand(100)  # hooks must not shift the training's random numbers
        assert not context.model.training
        self.steps.append(context.step)
        return {"eval/recorded": float(context.step)}


def test_hooks_run_every_n_steps_and_at_the_end_without_touching_the_rng(
    tiny_config, tmp_path, sampled_losses
):
    recorder = _Recorder(every=2)
    with_hooks = train(tiny_config(*SAMPLED, "eval.at_end=true"), tmp_path / "a", hooks=[recorder])
    assert recorder.steps == [2, 4, 6]
    assert _losses(with_hooks.run_dir) == sampled_losses
    recorded = [line for line in read_metrics(with_hooks.run_dir) if "eval/recorded" in line]
    assert [line["step"] for line in recorded] == [2, 4, 6]


def test_missing_metrics_or_viz_do_not_stop_training(tiny_config, tmp_path, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_metrics(name, *args, **kwargs):
        if name in ("prodvae.metrics", "prodvae.viz"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_metrics)
    config = tiny_config("objective.name=toy_ae", "eval.every=3", "eval.figures_every=3")
    assert train(config, tmp_path / "run").status == "finished"
    skipped = [r.getMessage() for r in caplog.records if "hook skipped" in r.getMessage()]
    assert any(m.startswith("metrics hook skipped at step 3") for m in skipped)
    assert any(m.startswith("figures hook skipped at step 3") for m in skipped)


def test_metrics_and_figures_hooks_write_scores_and_pictures(tiny_config, tmp_path):
    config = tiny_config(
        "objective.name=toy_ae",
        "train.steps=4",
        "eval.every=2",
        "eval.figures_every=4",
        "eval.suite=topology",
        "eval.num_train=100",
        "eval.num_test=50",
    )
    result = train(config, tmp_path / "run")
    scored = [
        line for line in read_metrics(result.run_dir) if any(k.startswith("eval/") for k in line)
    ]
    assert [line["step"] for line in scored] == [2, 4]
    assert all(isinstance(v, float) for line in scored for k, v in line.items() if k != "step")
    assert any((result.run_dir / "figures").glob("*.png"))


def test_figures_reach_tensorboard_during_training(tiny_config, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_config(
        "objective.name=toy_ae", "train.steps=4", "eval.figures_every=2", "run.tensorboard=true"
    )
    result = train(config, tmp_path / "run")
    events = EventAccumulator(str(result.run_dir / "tb"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()["images"]
    assert {"figures/reconstructions", "figures/traversals"} <= set(tags)
    assert [event.step for event in events.Images("figures/traversals")] == [2, 4]


def test_weakly_supervised_objectives_train_on_pairs(tiny_config, tmp_path):
    config = tiny_config("objective.name=ada_gvae", "train.steps=2", "data.num_changed=1")
    result = train(config, tmp_path / "run")
    assert result.status == "finished" and len(_losses(result.run_dir)) == 2


def test_semi_supervised_objectives_get_labels(tiny_config, tmp_path):
    config = tiny_config(
        "objective.name=product",
        "objective.options={labelled_fraction: 0.5, label_map: {0: 0, 1: 1}}",
        "train.steps=2",
    )
    result = train(config, tmp_path / "run")
    lines = read_metrics(result.run_dir)
    assert len(lines) == 2 and all(line["supervised"] > 0 for line in lines)  # labels arrived


def test_the_progress_bar_shows_loss_and_throughput(tiny_config, tmp_path, capsys):
    train(tiny_config("objective.name=toy_ae", "train.progress=true"), tmp_path / "run")
    err = capsys.readouterr().err
    assert "6/6" in err and "loss=" in err and "img_s=" in err


@pytest.mark.slow
def test_compiled_model_trains_like_the_eager_one(tiny_config, tmp_path):
    eager = train(tiny_config("objective.name=toy_ae", "train.steps=3"), tmp_path / "eager")
    compiled = train(
        tiny_config("objective.name=toy_ae", "train.steps=3", "train.compile=true"),
        tmp_path / "compiled",
    )
    # compiled kernels fuse and reorder the float32 sums: each image's sum of 3 x 32 x 32
    # positive BCE terms may move by up to that many eps relative
    assert [l for _, l in _losses(compiled.run_dir)] == pytest.approx(
        [l for _, l in _losses(eager.run_dir)], rel=float_tol(torch.float32, 1.0, 3 * 32 * 32)
    )
    # compiling in place keeps the checkpoint's parameter names: it loads uncompiled
    from prodvae.train import load_run

    assert load_run(compiled.run_dir).step == 3


def test_channels_last_trains_the_same_run_up_to_rounding_and_resumes(tiny_config, tmp_path):
    default = train(tiny_config(*SAMPLED, "train.steps=3"), tmp_path / "default")
    last = tiny_config(*SAMPLED, "train.channels_last=true")
    whole = train(last, tmp_path / "whole")
    again = train(last, tmp_path / "again")
    assert _losses(again.run_dir) == _losses(whole.run_dir)  # same seed, same numbers
    # the first step's loss before any update: oneDNN's channels-last kernels add each
    # image's 3 x 32 x 32 positive BCE terms' inputs in another order
    first, reference = _losses(whole.run_dir)[0][1], _losses(default.run_dir)[0][1]
    assert first == pytest.approx(reference, rel=float_tol(torch.float32, 1.0, 3 * 32 * 32))
    part = train(tiny_config(*SAMPLED, "train.channels_last=true", "train.steps=3"), tmp_path / "p")
    resumed = train(last, part.run_dir, resume=True)
    assert _losses(resumed.run_dir) == _losses(whole.run_dir)
    from prodvae.train import load_run

    assert load_run(whole.run_dir).step == 6  # its weights load into a default-order model
