"""Every overlay in configs/ loads, names registered components, and builds where it can."""

from pathlib import Path

import pytest

from prodvae.data import get_dataset
from prodvae.models import BACKBONES
from prodvae.objectives import get_objective
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
