"""Every overlay in configs/ loads, names registered components, and builds where it can."""

from pathlib import Path

import pytest

from prodvae.data import get_dataset
from prodvae.models import BACKBONES
from prodvae.objectives import OBJECTIVES, get_objective
from prodvae.train import load_config
from prodvae.train.build import build_components

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").rglob("*.yaml"))
PROCEDURAL = {"torus", "sprites", "orbit"}


def test_there_are_overlays_for_the_demo_and_each_dataset():
    names = {path.relative_to(path.parents[1]).as_posix() for path in CONFIGS}
    assert "configs/demo.yaml" in {
        f"configs/{p.name}" for p in CONFIGS if p.parent.name == "configs"
    }
    assert {"torus/product.yaml", "sprites/product.yaml", "shapes3d/beta_vae.yaml"} <= names


def test_every_dataset_has_an_overlay_for_every_objective():
    """README: configs/ holds an overlay for every dataset x objective."""
    folders = {p.parent for p in CONFIGS if p.parent.name != "configs"}
    assert len(folders) >= 11  # 3 procedural + 8 standard datasets
    for folder in folders:
        library = {name for name in OBJECTIVES if not name.startswith("toy_")}  # not test-only
        assert {p.stem for p in folder.glob("*.yaml")} >= library, folder.name
        for path in folder.glob("*.yaml"):
            config = load_config(path)
            assert config.objective.name == path.stem and config.data.name == folder.name


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_loads_and_names_registered_components(path):
    config = load_config(path)
    assert config.model.backbone in BACKBONES
    get_objective(config.objective.name, **config.objective.options)  # options checked
    assert config.run.name, "every overlay names its run"


@pytest.mark.parametrize(
    "path",
    [p for p in CONFIGS if load_config(p).data.name in PROCEDURAL],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_procedural_configs_build_their_model_and_objective(path):
    config = load_config(path)
    small = get_dataset(config.data.name, **{**config.data.options, "image_size": 32})
    parts = build_components(config, dataset=small)  # objective.check_model runs here
    assert parts.model.space.dim == parts.space.dim


@pytest.mark.parametrize("weak", ["none", "ada_gvae"])
def test_an_anchored_product_is_fitted_before_training(weak, monkeypatch):
    """``objective.options.anchor_weight`` > 0: the layout is fitted on training images (and
    pairs, when ``product`` trains on them), and the first step reads it."""
    import numpy as np
    import torch

    import prodvae.objectives.anchor as anchor_module

    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 128)  # a small fit: checks the wiring
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 128)
    path = Path(__file__).resolve().parents[2] / "configs/torus/product.yaml"
    config = load_config(
        path, ["objective.options.anchor_weight=2", f"objective.options.weak={weak}"]
    )
    small = get_dataset("torus", image_size=32)
    parts = build_components(config, dataset=small)
    anchor = parts.objective.anchor
    assert anchor is not None and anchor.weight.shape == (3 * 32 * 32, parts.space.dim)
    x = small.images_at(np.arange(8)).float() / 255
    if parts.objective.needs_pairs:
        x = torch.stack([x, x.flip(0)], dim=1)
    _, logs = parts.objective(parts.model, x, 0)
    assert logs["anchor"] > 0
    again = build_components(config, dataset=small).objective.anchor  # same seed, same layout
    assert torch.equal(again.weight, anchor.weight)
