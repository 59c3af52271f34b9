"""A Ctrl-C in the terminal reaches every process of its group, DataLoader workers too:
the run must still stop once, after a step, with a checkpoint and exit status 130."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_with_loader_workers_stops_once_with_a_checkpoint(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)
    factors = np.stack([np.arange(256) % 4, np.arange(256) // 4], axis=1).astype(np.float64)
    with h5py.File(tmp_path / "data.h5", "w") as out:
        out["images"], out["factors"] = images, factors
        spec = [{"name": "a", "kind": "points"}, {"name": "b", "kind": "segment"}]
        out.attrs["factor_spec"] = json.dumps(spec)
    (tmp_path / "run.yaml").write_text(
        "data: {name: file, path: data.h5, hold_on_device: never}\n"
        "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
        "objective: {name: beta_vae}\n"
        "train: {steps: 1000000, batch_size: 16, num_workers: 2, log_every: 1, progress: false}\n"
        "eval: {at_end: false}\n"
        "run: {tensorboard: false, dir: runs, name: stop}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "prodvae", "train", "run.yaml"],
        cwd=tmp_path,
        start_new_session=True,  # its own process group, as a terminal gives a job
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    metrics = tmp_path / "runs" / "stop" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 3):
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert output.count("SIGINT received") == 1, output  # the workers leave it to the trainer
    assert "Traceback" not in output, output
    checkpoints = list((tmp_path / "runs" / "stop" / "checkpoints").glob("step_*"))
    assert len(checkpoints) == 1
