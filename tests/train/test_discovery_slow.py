"""``model.space: discover`` as the README runs it, on the two-hand dial: the images of each
hand trace a loop, and the product prior trained on that space recovers each hand once round
its own loop."""

import json
import shlex
from pathlib import Path

import pytest

from prodvae.cli import main
from prodvae.spaces import ProductSpace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_discover_finds_the_dials_two_loops_and_trains_on_them(tmp_path, monkeypatch):
    (command,) = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("prodvae train") and "model.space=discover" in line
    ]
    monkeypatch.chdir(ROOT)
    settings = ["data.name=torus", "train.progress=false", f"run.dir={tmp_path}"]
    argv = shlex.split(command)[1:] + [a for s in settings for a in ("--set", s)]
    assert main(argv + ["--set", "run.tensorboard=false"]) == 0
    run = tmp_path / "product_weak"
    record = json.loads((run / "discovery.json").read_text())
    print(record["space"], record["findings"])
    assert record["factors"] == {"long_hand": "loop", "short_hand": "loop"}
    assert ProductSpace.parse(record["space"]) == ProductSpace.parse("loop^2")
    assert main(["eval", str(run), "--suite", "topology"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    for hand in ("long_hand", "short_hand"):
        assert metrics[f"factor_recovery.score.{hand}"] >= 0.9, hand
        assert abs(metrics[f"factor_recovery.winding.{hand}"]) == 1, hand
