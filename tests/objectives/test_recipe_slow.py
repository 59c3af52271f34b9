"""The recipe on the two-hand ``torus`` dial and on ``orbit``, through the CLI as a user runs it.

The README's ``prodvae train configs/product_weak.yaml --set data.name=...`` commands, then
``prodvae eval --suite topology``: each factor checked must come back on a latent factor of its
own (``factor_recovery``, :mod:`prodvae.metrics.recovery`): a loop with circular alignment
>= 0.9 and winding number +-1, a segment at |Spearman| >= 0.9.
``python -m benchmarks.recovery`` runs the same over seeds and datasets.
"""

import json
import shlex
from pathlib import Path

import pytest

from prodvae.cli import main

ROOT = Path(__file__).resolve().parents[2]


def readme_command(dataset: str) -> list[str]:
    """The README's training command for ``dataset``, without its leading ``prodvae``."""
    start = f"prodvae train configs/product_weak.yaml --set data.name={dataset} "
    (command,) = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith(start) and "model.space" not in line
    ]
    return shlex.split(command)[1:]


def train_and_recover(dataset: str, steps: int | None, folder: Path) -> dict[str, float]:
    """Train the README's command (``steps`` shortens it) into ``folder``; the recovery scores."""
    settings = ["train.progress=false", f"run.dir={folder}", "run.tensorboard=false"]
    settings += [f"train.steps={steps}"] if steps else []
    assert main(readme_command(dataset) + [a for s in settings for a in ("--set", s)]) == 0
    run = folder / "product_weak"
    assert main(["eval", str(run), "--suite", "topology"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    print({k: v for k, v in metrics.items() if "recovery" in k})
    return metrics


@pytest.mark.slow
def test_product_weak_puts_each_hand_once_round_its_own_loop(tmp_path, monkeypatch):
    """The README's torus command, shortened to 1000 steps."""
    monkeypatch.chdir(ROOT)
    metrics = train_and_recover("torus", 1000, tmp_path)
    for hand in ("long_hand", "short_hand"):
        assert metrics[f"factor_recovery.score.{hand}"] >= 0.9, hand
        assert abs(metrics[f"factor_recovery.winding.{hand}"]) == 1, hand
    assert metrics["factor_recovery"] == 1.0


@pytest.mark.slow
def test_product_weak_recovers_orbits_loops_and_segments_with_their_topology(tmp_path, monkeypatch):
    """The README's orbit command as it stands (9000 steps; 9 to 10½ minutes at one thread
    beside another run): both hue circles and the camera's orbit once round loop blocks of
    their own, the scale and the elevation along their segments, and the four shapes at the
    four points of their block. ``python -m benchmarks.recovery`` finds all of it in 5 of 5
    seeds (seed 0, which this runs, at one thread and without loader workers: shape 1.00,
    scale 0.98, elevation 0.94). Rounding differs with threads and kernels: at an older recipe
    it once put the shapes two to a well (0.65), so a failure here is worth a look, not an
    alarm."""
    monkeypatch.chdir(ROOT)
    metrics = train_and_recover("orbit", None, tmp_path)
    for factor in ("shape", "object_hue", "floor_hue", "scale", "azimuth", "elevation"):
        assert metrics[f"factor_recovery.score.{factor}"] >= 0.9, factor
    for loop in ("object_hue", "floor_hue", "azimuth"):
        assert abs(metrics[f"factor_recovery.winding.{loop}"]) == 1, loop
