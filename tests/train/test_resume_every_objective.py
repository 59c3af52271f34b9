"""Same seed, same config: a run stopped at a checkpoint and resumed logs exactly what an
uninterrupted run logs, for every registered objective (their auxiliary networks, optimisers
and random generators are all in the checkpoint)."""

from __future__ import annotations

import pytest

from prodvae.objectives import OBJECTIVES
from prodvae.train import train
from prodvae.train.run_folder import read_metrics

LIBRARY = sorted(name for name in OBJECTIVES if not name.startswith("toy_"))
EUCLIDEAN = ("model.space=euclidean(4)",)
MODEL = {  # objectives that need another latent space or posterior than the tiny default
    "dip_vae": EUCLIDEAN,
    "qlae": EUCLIDEAN,
    "tilted": ("model.space=tilted(4, 2.0)",),
    "on_manifold": (
        "model.space=auto",
        "model.options={width: 4, hidden_dim: 16, posterior: {loop: power_spherical}}",
    ),
}


def _logged(run_dir):
    """Every logged value but the wall-clock speed, step by step."""
    skip = {"images_per_s", "seconds", "time"}
    return [{k: v for k, v in line.items() if k not in skip} for line in read_metrics(run_dir)]


@pytest.mark.parametrize("name", LIBRARY)
def test_resume_logs_what_an_uninterrupted_run_logs(name, tiny_config, tmp_path):
    options = [f"objective.name={name}", *MODEL.get(name, ("model.space=auto",))]
    whole = train(tiny_config(*options), tmp_path / "whole")
    train(tiny_config(*options, "train.steps=3"), tmp_path / "part")
    resumed = train(tiny_config(*options), tmp_path / "part", resume=True)
    assert whole.status == resumed.status == "finished"
    assert _logged(resumed.run_dir) == _logged(whole.run_dir)
