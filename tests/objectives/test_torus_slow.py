"""The recipe on the two-hand ``torus`` dial, through the CLI as a user runs it.

``prodvae train configs/product_weak.yaml --set data.name=torus`` (shortened), then
``prodvae eval --suite topology``: each hand must be carried by a loop block of its own with
circular alignment >= 0.9 and winding number +-1 (``factor_recovery``,
:mod:`prodvae.metrics.recovery`). ``python -m benchmarks.recovery`` runs the same over seeds
and datasets.
"""

import json
import shlex
from pathlib import Path

import pytest

from prodvae.cli import main

ROOT = Path(__file__).resolve().parents[2]
STEPS = 1000


@pytest.mark.slow
def test_product_weak_puts_each_hand_once_round_its_own_loop(tmp_path, monkeypatch):
    """The README's command, shortened to 1000 steps."""
    (command,) = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("prodvae train configs/product_weak.yaml --set data.name=torus")
    ]
    monkeypatch.chdir(ROOT)
    settings = [f"train.steps={STEPS}", "train.progress=false", f"run.dir={tmp_path}"]
    argv = shlex.split(command)[1:] + [a for s in settings for a in ("--set", s)]
    assert main(argv + ["--set", "run.tensorboard=false"]) == 0
    run = tmp_path / "product_weak"
    assert main(["eval", str(run), "--suite", "topology"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    print({k: v for k, v in metrics.items() if "recovery" in k or "winding" in k})
    for hand in ("long_hand", "short_hand"):
        assert metrics[f"factor_recovery.score.{hand}"] >= 0.9, hand
        assert abs(metrics[f"factor_recovery.winding.{hand}"]) == 1, hand
    assert metrics["factor_recovery"] == 1.0
