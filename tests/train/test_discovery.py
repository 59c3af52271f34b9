"""``model.space: discover``: a scout through the same trainer, its reading, the space it
writes into the run, and resuming."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from prodvae.discover.model import ModelFinding
from prodvae.discover.report import Discovery
from prodvae.spaces import ProductSpace
from prodvae.train import discovery as discovery_module
from prodvae.train import load_config, load_run, train
from prodvae.train.build import build_space
from prodvae.train.discovery import SCOUT_SPACE, scout_config, space_from

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "data.name=torus",
    "data.options={image_size: 32, factor_sizes: [8, 8]}",
    "model.space=discover",
    "model.options={width: 4, hidden_dim: 16}",
    "train.steps=6",
    "train.batch_size=8",
    "train.progress=false",
    "train.num_workers=0",
    "eval.at_end=false",
    "run.tensorboard=false",
    "run.name=found",
]


def finding(name, follows, found, size):
    values = np.arange(6.0)
    distances = np.abs(values[:, None] - values[None, :])
    return ModelFinding(
        name=name,
        declared="euclidean",
        found=found,
        symmetry=1,
        confidence=1.0,
        size=size,
        evidence={"loop": 0.0, "loop_gap": 0.0, "separation": 0.0, "spread": 0.2, "groups": 1},
        example=(values, distances),
        follows=follows,
        follows_kind="loop",
    )


def test_the_scout_is_a_euclidean_ada_gvae_on_a_third_of_the_steps():
    recipe = ROOT / "configs" / "product_weak.yaml"
    config = load_config(recipe, ["model.space=discover", "train.steps=9000"])
    scout = scout_config(config)
    assert scout.model.space == SCOUT_SPACE == "euclidean(2)^5"
    # the network as the run's, without the code normalisation the run's objective fades
    assert config.model.options["normalise_codes"] is True
    network = {k: v for k, v in config.model.options.items() if k != "normalise_codes"}
    assert scout.model.options == network and scout.model.backbone == "burgess"
    assert scout.objective.name == "ada_gvae"
    assert scout.objective.options == {"likelihood": "bernoulli"}
    assert scout.train.steps == 3000  # a third of the run's 9000
    assert scout.train.lr == config.train.lr
    assert scout.data == config.data and scout.data.num_changed == 1
    assert scout.eval.at_end is False


def test_the_space_has_one_factor_per_factor_read_in_the_datasets_order():
    from prodvae.data import get_dataset

    spec = get_dataset("torus", factor_sizes=(8, 1)).spec + get_dataset("sprites").spec[:1]
    findings = [finding("z0+z3", "shape", "points", 4), finding("z1+z2", "long_hand", "loop", 8)]
    space, kinds, missing = space_from(findings, spec)
    assert space == ProductSpace.parse("loop * points(4)")  # short_hand has one value
    assert kinds == {"long_hand": "loop", "shape": "points"} and missing == []
    space, kinds, missing = space_from(findings[1:], spec)
    assert space == ProductSpace.parse("loop")
    assert kinds == {"long_hand": "loop"} and missing == ["shape"]
    # pairs that say what they change need every varying factor: shape keeps its own kind
    space, kinds, missing = space_from(findings[1:], spec, keep_all=True)
    assert space == ProductSpace.parse("loop * points(4)")
    assert kinds == {"long_hand": "loop"} and missing == ["shape"]
    with pytest.raises(ValueError, match="follow no factor"):
        space_from([], spec)


def test_build_space_says_discover_is_the_trainers(tmp_path):
    config = load_config(overrides=TINY)
    from prodvae.data import get_dataset

    with pytest.raises(ValueError, match="model.space=discover is found by training"):
        build_space(config.model, get_dataset("torus", image_size=32, factor_sizes=(8, 8)))


def test_a_run_trains_on_the_space_its_scout_found_and_resumes(tmp_path, monkeypatch):
    calls = []

    def read(model, dataset, **options):
        calls.append(model.space)
        found = (finding("z0", "long_hand", "loop", 8), finding("z3", "short_hand", "segment", 8))
        return Discovery(found, by_factor=found)

    monkeypatch.setattr(discovery_module, "discover_model", read)
    config = load_config(overrides=TINY + [f"run.dir={tmp_path}"])
    run = tmp_path / "found"
    assert train(config, run).status == "finished"
    assert calls == [ProductSpace.parse(SCOUT_SPACE)]
    scout = load_run(run / "discovery" / "scout")
    assert scout.step == 2 and scout.config.objective.name == "ada_gvae"
    written = "loop(radius=3.0, width=0.5) * segment(half_length=2.0, width=0.25)"
    record = json.loads((run / "discovery.json").read_text())
    assert record["space"] == written and record["factors"] == {
        "long_hand": "loop",
        "short_hand": "segment",
    }
    assert [g["follows"] for g in record["groups"]] == ["long_hand", "short_hand"]
    assert sorted(p.name for p in (run / "discovery" / "figures").iterdir()) == [
        "factor-long_hand.png",
        "factor-short_hand.png",
        "z0.png",
        "z3.png",
    ]
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["space"] == written
    loaded = load_run(run)
    assert loaded.step == 6 and loaded.space == ProductSpace.parse(written)
    from prodvae.viz.report import render_report

    page = render_report(run)
    assert "<h2>Discovery</h2>" in page and f"found {written}" in page
    assert "<td>z3</td><td>short_hand</td><td>loop</td><td>segment</td>" in page
    assert "alt='z0.png'" in page and "alt='factor-short_hand.png'" in page
    # resuming reads the space from the run; a run stopped after its discovery reuses it
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert train(load_config(base=saved, overrides=["train.steps=8"]), run, resume=True).step == 8
    (run / "config.yaml").unlink()
    for folder in ("checkpoints", "figures"):
        for path in sorted((run / folder).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    assert train(config, run).status == "finished"
    assert len(calls) == 1  # no second scout


def test_torchrun_uses_a_recorded_discovery_and_refuses_to_scout(tmp_path, monkeypatch):
    from prodvae.train.discovery import discover_space

    config = load_config(overrides=TINY + [f"run.dir={tmp_path}"])
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="trains its scout in one process"):
        discover_space(config, tmp_path / "found")
    (tmp_path / "found").mkdir()
    (tmp_path / "found" / "discovery.json").write_text(json.dumps({"space": "loop^2"}))
    assert discover_space(config, tmp_path / "found").model.space == "loop^2"


def test_a_scout_that_learned_nothing_is_one_clear_error(tmp_path):
    config = load_config(overrides=TINY + [f"run.dir={tmp_path}", "train.steps=3"])
    with pytest.raises(ValueError, match="no latent block of the model varies"):
        train(config, tmp_path / "found")
    assert not (tmp_path / "found" / "config.yaml").exists()
