"""Faults during and between runs: a SIGKILL inside a checkpoint write, then ``--resume``; a
truncated or corrupted newest checkpoint, which resuming skips for the one before it."""

from __future__ import annotations

import hashlib
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from hang_in_checkpoint_write import PAUSED
from tiny_runs import SAMPLED, TINY, make_tiny

from prodvae.train import read_metrics, train
from prodvae.train.checkpoint import list_checkpoints, load_weights, read_state

HANG_SCRIPT = Path(__file__).with_name("hang_in_checkpoint_write.py")


def _losses(run_dir):
    return [(line["step"], line["loss"]) for line in read_metrics(run_dir) if "loss" in line]


def _digests(root: Path, *, skip=lambda path: False) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not skip(path.relative_to(root))
    }


# --- a real SIGKILL inside a checkpoint write ----------------------------------------------------


def _cli_config(tmp_path: Path) -> Path:
    """TINY as a YAML overlay: beta_vae (it samples posterior noise), checkpoints at 2, 4, 6."""
    overlay: dict = {}
    for item in TINY:
        key, value = item.split("=", 1)
        section, field = key.split(".")
        overlay.setdefault(section, {})[field] = yaml.safe_load(value)
    overlay["objective"] = {"name": "beta_vae"}
    overlay["train"]["checkpoint_every"] = 2
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


def _python(*args: str, log: Path, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    """``python ARGS...`` on one thread (same numbers in every run), stderr to ``log``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "w") as stderr:
        return subprocess.Popen(
            [sys.executable, *args], env=env, stdout=stdout, stderr=stderr, text=True
        )


def _finish(process: subprocess.Popen, log: Path) -> None:
    assert process.wait(timeout=240) == 0, log.read_text()[-2000:]


def _wait_for_line(process: subprocess.Popen, expected: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        line = process.stdout.readline() if ready else ""
        if line.strip() == expected:
            return
        if ready and not line:  # end of output: the process ended before the write
            pytest.fail(f"the run ended before pausing: {log.read_text()[-2000:]}")
    process.kill()
    pytest.fail(f"no {expected!r} within {timeout} s")


def _metric_lines(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock throughput (the one value a rerun may change)."""
    return [
        {k: v for k, v in line.items() if k != "images_per_s"} for line in read_metrics(run_dir)
    ]


def test_sigkill_inside_a_checkpoint_write_then_resume_gives_the_uninterrupted_losses(tmp_path):
    config, logs = str(_cli_config(tmp_path)), {n: tmp_path / f"{n}.log" for n in "wkr"}
    # the uninterrupted run and the doomed one side by side: one thread each
    whole = _python(
        "-m", "prodvae", "train", config, "--set", f"run.dir={tmp_path / 'whole'}", log=logs["w"]
    )
    doomed = _python(
        str(HANG_SCRIPT),
        "4",
        "train",
        config,
        "--set",
        f"run.dir={tmp_path / 'killed'}",
        log=logs["k"],
        stdout=subprocess.PIPE,
    )
    run = tmp_path / "killed" / "tiny"
    try:
        _wait_for_line(doomed, PAUSED, logs["k"], timeout=240)
        # what was on disk before the interrupted write (metric lines past the last
        # checkpoint are meant to be dropped on resume, so they are checked separately)
        before = _digests(run, skip=lambda p: p.name == "metrics.jsonl" or ".tmp-" in str(p))
        logged_before = read_metrics(run)
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        doomed.kill()
        doomed.communicate()
    assert doomed.returncode == -signal.SIGKILL
    _finish(whole, logs["w"])

    # the kill landed inside the write: complete weights, half a state.pt, no rename
    (temp,) = (run / "checkpoints").glob(".tmp-step_00000004-*")
    assert sorted(p.name for p in temp.iterdir()) == ["model.safetensors", "state.pt"]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step_00000002"]
    assert [line["step"] for line in logged_before] == [1, 2, 3, 4]

    _finish(_python("-m", "prodvae", "train", "--resume", str(run), log=logs["r"]), logs["r"])

    assert _metric_lines(run) == _metric_lines(tmp_path / "whole" / "tiny")  # exact
    assert [line["step"] for line in read_metrics(run)] == [1, 2, 3, 4, 5, 6]
    assert read_metrics(run)[:2] == logged_before[:2]  # lines before the checkpoint kept as is
    after = _digests(run)
    assert {name: after.get(name) for name in before} == before  # nothing earlier was lost
    assert not temp.exists()  # the dead process's temporary folder was cleaned up
    checkpoints = [p.name for p in list_checkpoints(run / "checkpoints")]
    assert checkpoints == ["step_00000002", "step_00000004", "step_00000006"]


# --- a corrupt newest checkpoint -----------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 6-step run (checkpoints at steps 3 and 6) that samples posterior noise."""
    root = tmp_path_factory.mktemp("finished")
    result = train(make_tiny(root, *SAMPLED), root / "run")
    return result.run_dir


@pytest.fixture
def copied_run(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    return run


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated weights": ("model.safetensors", _truncate, "model.safetensors fails its checksum"),
    "truncated state": ("state.pt", _truncate, "state.pt fails its checksum"),
    "flipped byte in state": ("state.pt", _flip_a_byte, "state.pt fails its checksum"),
    "flipped byte in weights": ("model.safetensors", _flip_a_byte, "fails its checksum"),
    "missing state": ("state.pt", Path.unlink, "incomplete: state.pt is missing"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_resume_falls_back_past_a_corrupt_newest_checkpoint(
    damage, copied_run, tmp_path, caplog, finished_run
):
    name, spoil, problem = DAMAGE[damage]
    newest = copied_run / "checkpoints" / "step_00000006"
    spoil(newest / name)
    older = _digests(copied_run / "checkpoints" / "step_00000003")

    with caplog.at_level(logging.WARNING, logger="prodvae.train"):
        result = train(make_tiny(tmp_path, *SAMPLED), copied_run, resume=True)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(newest) in w and problem in w and "falling back" in w for w in warnings)
    assert result.status == "finished" and result.step == 6
    assert _losses(copied_run) == _losses(finished_run)  # steps 4-6 trained again, exactly
    # the bad checkpoint is kept aside for inspection; step 6 was written afresh
    assert (copied_run / "checkpoints" / "step_00000006.corrupt").is_dir()
    assert read_state(newest)["step"] == 6
    assert _digests(copied_run / "checkpoints" / "step_00000003") == older


def test_a_checkpoint_written_before_state_digests_is_still_read(copied_run):
    newest = copied_run / "checkpoints" / "step_00000006"
    (newest / "state.sha256").unlink()
    assert read_state(newest)["step"] == 6
    _truncate(newest / "state.pt")  # without its digest, corruption is caught by unpickling
    with pytest.raises(ValueError, match="is corrupt"):
        read_state(newest)


def test_resume_refuses_when_no_checkpoint_is_intact(copied_run, tmp_path):
    _truncate(copied_run / "checkpoints" / "step_00000006" / "state.pt")
    _flip_a_byte(copied_run / "checkpoints" / "step_00000003" / "model.safetensors")
    before = _digests(copied_run)
    with pytest.raises(ValueError, match="no intact checkpoint") as error:
        train(make_tiny(tmp_path, *SAMPLED), copied_run, resume=True)
    assert "step_00000006" in str(error.value) and "step_00000003" in str(error.value)
    assert _digests(copied_run) == before  # nothing moved, nothing truncated


def test_the_refusal_reaches_the_command_line_as_one_line(copied_run, capsys):
    from prodvae.cli import main

    for path in list_checkpoints(copied_run / "checkpoints"):
        _truncate(path / "model.safetensors")
    assert main(["train", "--resume", str(copied_run)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("prodvae train: error: cannot resume from") and "\n" not in message


def test_a_corrupt_newest_checkpoint_does_not_hide_a_config_change(copied_run, tmp_path):
    _truncate(copied_run / "checkpoints" / "step_00000006" / "state.pt")
    changed = make_tiny(tmp_path, *SAMPLED, "train.lr=0.1")
    with pytest.raises(ValueError, match="different config.*train.lr"):
        train(changed, copied_run, resume=True)


def test_the_fallback_past_a_truncated_checkpoint_restores_the_older_weights(copied_run):
    """The weights in the model after a fall-back are those of the older checkpoint."""
    from prodvae.train import load_config
    from prodvae.train.build import build_components
    from prodvae.train.checkpoint import load_latest

    config = load_config(base=yaml.safe_load((copied_run / "config.yaml").read_text()))
    _truncate(copied_run / "checkpoints" / "step_00000006" / "model.safetensors")
    model = build_components(config).model
    found = load_latest(copied_run / "checkpoints", model, config.identity())
    assert found.step == 3 and found.skipped == (copied_run / "checkpoints" / "step_00000006",)
    reference = build_components(config).model
    older = copied_run / "checkpoints" / "step_00000003"
    load_weights(older, reference, read_state(older))
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
