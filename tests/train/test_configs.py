"""Every overlay in configs/ loads, names registered components, and builds where it can;
a dataset overlay and an objective overlay compose into a run."""

from pathlib import Path

import pytest

from prodvae.cli import main
from prodvae.data import get_dataset
from prodvae.models import BACKBONES
from prodvae.objectives import OBJECTIVES, get_objective
from prodvae.train import load_config
from prodvae.train.build import build_components, per_factor_counts

ROOT = Path(__file__).resolve().parents[2] / "configs"
DATA = sorted((ROOT / "data").glob("*.yaml"))
OBJECTIVE = sorted((ROOT / "objective").glob("*.yaml"))
PROCEDURAL = {"torus", "sprites", "orbit"}
PAIRS = [(d, o) for d in DATA for o in OBJECTIVE]


def pair_id(pair) -> str:
    return f"{pair[0].stem}-{pair[1].stem}"


def test_there_is_an_overlay_for_every_dataset_and_objective():
    """README: configs/data/ holds one overlay per dataset, configs/objective/ one per objective,
    and configs/ keeps its single-file runs."""
    from prodvae.data import DATASETS

    library = {name for name in OBJECTIVES if not name.startswith("toy_")}  # not test-only
    assert {p.stem for p in OBJECTIVE} == library
    assert len(DATA) >= 11  # 3 procedural + 8 standard datasets
    assert {p.stem for p in DATA} <= set(DATASETS)
    assert (ROOT / "demo.yaml").is_file()
    assert {p.parent.name for p in ROOT.rglob("*.yaml")} == {"configs", "data", "objective"}


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_composed_config_loads_and_names_registered_components(pair):
    config = load_config(list(pair))
    assert config.data.name == pair[0].stem and config.objective.name == pair[1].stem
    assert config.model.backbone in BACKBONES
    get_objective(config.objective.name, **config.objective.options)  # options checked


@pytest.mark.parametrize("path", DATA, ids=lambda p: p.stem)
def test_dataset_overlays_hold_the_dataset_and_its_protocol_only(path):
    """What an objective decides (latent space, options) is left to the objective overlay."""
    config = load_config(path)
    assert config.data.name == path.stem
    assert (config.train.steps, config.train.batch_size, config.train.lr) == (300_000, 64, 1e-4)
    defaults = load_config()
    assert config.model.space == defaults.model.space
    assert config.objective == defaults.objective


@pytest.mark.parametrize("pair", [p for p in PAIRS if p[0].stem in PROCEDURAL], ids=pair_id)
def test_procedural_runs_build_their_model_and_objective(pair):
    config = load_config(list(pair))
    small = get_dataset(config.data.name, **{**config.data.options, "image_size": 32})
    parts = build_components(config, dataset=small)  # objective.check_model runs here
    assert parts.model.space.dim == parts.space.dim
    varying = sum(s.size > 1 for s in small.spec)
    if config.objective.name == "qlae":  # euclidean^2K: two quantised latents per factor
        assert parts.space.num_factors == 2 * varying
    if config.objective.name == "on_manifold":  # the map names kinds; each applies if present
        wanted = {"loop": "power_spherical", "segment": "kumaraswamy"}
        for factor, family in zip(parts.space.factors, parts.model.posteriors):
            assert family.name == wanted.get(factor.topology, "gaussian")


def test_per_factor_counts_multiply_the_number_of_varying_factors():
    sprites = get_dataset("sprites", image_size=32)  # 6 varying factors
    assert per_factor_counts("euclidean^2K", sprites) == "euclidean^12"
    assert per_factor_counts("loop ^ K * euclidean^3", sprites) == "loop ^6 * euclidean^3"
    assert per_factor_counts("points(4)^2", sprites) == "points(4)^2"


def test_readme_composed_run_is_named_after_both_overlays(tmp_path, capsys):
    """README: ``prodvae train configs/data/sprites.yaml configs/objective/beta_vae.yaml``
    trains beta_vae (beta 4) on sprites in a run named ``sprites-beta_vae``."""
    runs = tmp_path / "runs"
    tiny = [
        "data.options.image_size=32",
        "model.options.width=4",
        "model.options.hidden_dim=16",
        "train.steps=2",
        "train.batch_size=8",
        "train.progress=false",
        "train.num_workers=0",
        "eval.at_end=false",
        "run.tensorboard=false",
        f"run.dir={runs}",
    ]
    command = ["train", str(ROOT / "data/sprites.yaml"), str(ROOT / "objective/beta_vae.yaml")]
    assert main(command + [arg for item in tiny for arg in ("--set", item)]) == 0
    assert f"run folder: {runs / 'sprites-beta_vae'}" in capsys.readouterr().out
    saved = load_config(runs / "sprites-beta_vae" / "config.yaml")
    assert (saved.data.name, saved.objective.name) == ("sprites", "beta_vae")
    assert saved.objective.options["beta"] == 4 and saved.model.space == "euclidean^10"


def test_later_overlays_win_field_by_field(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("train: {steps: 10, lr: 0.5}\nmodel: {backbone: burgess}\n")
    second.write_text("train: {steps: 20}\nmodel: {space: loop}\n")
    config = load_config([first, second], ["train.batch_size=3"])
    assert (config.train.steps, config.train.lr, config.train.batch_size) == (20, 0.5, 3)
    assert (config.model.backbone, config.model.space) == ("burgess", "loop")


@pytest.mark.parametrize("weak", ["none", "ada_gvae"])
def test_an_anchored_product_is_fitted_before_training(weak, monkeypatch):
    """``objective.options.anchor_weight`` > 0: the layout is fitted on training images (and
    pairs, when ``product`` trains on them), and the first step reads it."""
    import numpy as np
    import torch

    import prodvae.objectives.anchor as anchor_module

    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 128)  # a small fit: checks the wiring
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 128)
    paths = [ROOT / "data/torus.yaml", ROOT / "objective/product.yaml"]
    config = load_config(
        paths, ["objective.options.anchor_weight=2", f"objective.options.weak={weak}"]
    )
    small = get_dataset("torus", image_size=32)
    parts = build_components(config, dataset=small)
    anchor = parts.objective.anchor
    assert anchor is not None and anchor.weight.shape == (3 * 32 * 32, parts.space.dim)
    x = small.images_at(np.arange(8)).float() / 255
    if parts.objective.needs_pairs:
        x = torch.stack([x, x.flip(0)], dim=1)
    _, logs = parts.objective(parts.model, x, 0)
    if anchor.anchored.any():
        assert logs["anchor"] > 0
    else:  # no plane held a ring (without pairs the dial's leading planes mix the hands)
        assert logs["anchor"] == 0 and weak == "none"
    again = build_components(config, dataset=small).objective.anchor  # same seed, same layout
    assert torch.equal(again.weight, anchor.weight)
