"""Two CPU processes (gloo) against one process with the same global batch."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import tiny_runs
import torch
import torch.multiprocessing as mp
import toy_objectives  # noqa: F401  (registers toy_ae in spawned processes too)
from tests.processes import leave
from tests.tolerances import float_tol

from prodvae.train import load_config, read_metrics, train

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, overrides: list, run_dir: str) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    train(load_config(None, overrides), run_dir)
    leave()


def _losses(run_dir):
    return [line["loss"] for line in read_metrics(run_dir) if "loss" in line]


@pytest.mark.parametrize("channels_last", ["false", "true"])
def test_two_processes_match_one_with_the_same_global_batch(tmp_path, channels_last):
    overrides = [
        *tiny_runs.TINY,
        "objective.name=toy_ae",
        "train.steps=4",
        "train.device=cpu",
        f"train.channels_last={channels_last}",
    ]
    single = train(load_config(None, overrides), tmp_path / "one")
    context = mp.get_context("spawn")
    port = _free_port()
    processes = [
        context.Process(target=_worker, args=(rank, 2, port, overrides, str(tmp_path / "two")))
        for rank in (0, 1)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    one, two = _losses(single.run_dir), _losses(tmp_path / "two")
    assert len(one) == len(two) == 4
    # the same batches and averaged gradients: equal up to float32 summation order, which can
    # move each image's sum of 3 x 32 x 32 positive BCE terms by up to that many eps relative
    assert two == pytest.approx(one, rel=float_tol(torch.float32, 1.0, 3 * 32 * 32))
    assert one[0] != one[-1]  # the weights did change


@pytest.mark.slow
def test_torchrun_launches_the_cli_on_two_cpu_processes(tmp_path):
    config = tmp_path / "ddp.yaml"
    config.write_text(
        "data: {name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}\n"
        "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
        "train: {steps: 3, batch_size: 8, log_every: 1, progress: false, device: cpu}\n"
        f"run: {{dir: {tmp_path / 'runs'}, tensorboard: false}}\n"
        "eval: {at_end: false}\n"
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        "-m",
        "prodvae",
        "train",
        str(config),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(_losses(tmp_path / "runs" / "ddp")) == 3
    assert (tmp_path / "runs" / "ddp" / "checkpoints" / "step_00000003").is_dir()
