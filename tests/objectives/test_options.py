"""Every objective's options are a frozen dataclass checked on creation, and every objective
answers what the trainer asks through the base class (no attribute probing)."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from tests.data.labelled_files import objects_at_angles, write_labelled_file

from prodvae.data import from_file, get_dataset, sample_pair_factors
from prodvae.objectives import OBJECTIVES, Objective, ObjectiveOptions, get_objective
from prodvae.objectives import anchor as anchor_module
from prodvae.objectives.anchor import Anchor, anchor_images
from prodvae.objectives.beta_vae import BetaVAE
from prodvae.objectives.options import OptionError
from prodvae.objectives.product import ProductOptions
from prodvae.spaces import ProductSpace

LIBRARY = sorted(name for name, cls in OBJECTIVES.items() if cls.__module__.startswith("prodvae."))


@pytest.fixture(scope="module")
def dial():
    return get_dataset("torus", image_size=16, factor_sizes=(8, 8))


@pytest.mark.parametrize("name", LIBRARY)
def test_options_are_a_frozen_dataclass_with_every_default(name):
    options_type = OBJECTIVES[name].Options
    assert issubclass(options_type, ObjectiveOptions)
    assert dataclasses.is_dataclass(options_type) and options_type.__dataclass_params__.frozen
    defaults = options_type()  # every field has a default
    objective = get_objective(name)
    assert objective.options == defaults
    first = dataclasses.fields(defaults)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(defaults, first, None)


@pytest.mark.parametrize("name", LIBRARY)
def test_every_objective_answers_the_trainer_through_the_base_class(name):
    objective = get_objective(name)
    assert isinstance(objective, Objective)
    assert isinstance(objective.needs_pairs, bool) and isinstance(objective.needs_labels, bool)
    assert isinstance(objective.labelled_fraction, float)
    assert isinstance(objective.weight_decay, float)
    assert isinstance(objective.schedule(0), dict)
    assert objective.state_dict() == {}
    objective.load_state_dict({})
    assert objective.to(torch.device("cpu")) is objective


@pytest.mark.parametrize("name", LIBRARY)
def test_preparing_draws_nothing_unless_the_objective_needs_data(name, dial):
    generator = torch.Generator().manual_seed(3)
    before = generator.get_state()
    get_objective(name).prepare(dial, ProductSpace.parse("loop * loop"), generator)
    assert torch.equal(generator.get_state(), before)


def test_a_bad_value_names_its_key_and_the_objective_names_itself():
    with pytest.raises(OptionError, match=r"^anchor_weight must be a finite number >= 0"):
        ProductOptions(anchor_weight=-1.0)
    with pytest.raises(ValueError, match=r"^product: anchor_weight must be a finite number"):
        get_objective("product", anchor_weight=-1.0)
    with pytest.raises(TypeError, match="ProductOptions"):
        OBJECTIVES["product"](OBJECTIVES["beta_vae"].Options())


def test_options_are_normalised_to_their_types():
    options = ProductOptions(beta=[1, 2], label_map={"0": 1}, anchor_weight=2)
    assert options.beta == (1.0, 2.0) and options.label_map == {0: 1}
    assert isinstance(options.anchor_weight, float)
    assert get_objective("product", anneal_steps=1000).options.anneal_steps == 1000  # README


def test_weakly_supervised_baselines_are_beta_vae_with_the_aggregation_fixed():
    for name, weak in (("ada_gvae", "ada_gvae"), ("ada_ml_vae", "ada_ml_vae")):
        objective = get_objective(name, beta=2.0)
        assert isinstance(objective, BetaVAE) and objective.needs_pairs
        assert objective.options.weak == weak and objective.options.beta == 2.0
        assert "weak" not in {f.name for f in dataclasses.fields(objective.options)}
    assert get_objective("vae").options.beta == 1.0
    with pytest.raises(ValueError, match=r"unknown option\(s\) beta"):
        get_objective("vae", beta=2.0)


@pytest.mark.parametrize("weak", ["none", "ada_gvae"])
def test_product_prepares_its_anchor_from_one_generator_images_first(weak, dial, monkeypatch):
    """The trainer's draws: ANCHOR_IMAGES rows, then ANCHOR_PAIRS pairs, then the anchor's own
    k-subspace restarts, all from the one generator it is given."""
    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 64)
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 32)
    space = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5)")
    objective = get_objective("product", anchor_weight=1.0, weak=weak)
    objective.prepare(dial, space, torch.Generator().manual_seed(5), num_changed=1)

    generator = torch.Generator().manual_seed(5)
    rows = torch.randint(len(dial), (64,), generator=generator).numpy()
    images, pairs = dial.images_at(rows).float() / 255, None
    if weak != "none":
        pair = sample_pair_factors(dial, 32, 1, generator)
        first, second = (dial.images_from_factors(i) for i in (pair.indices1, pair.indices2))
        pairs = (first.float() / 255, second.float() / 255)
    expected = Anchor.fit(space, images, pairs, generator)
    assert torch.equal(objective.anchor.weight, expected.weight)
    assert torch.equal(objective.anchor.offset, expected.offset)


def test_anchor_images_are_training_images_in_the_unit_interval(dial, monkeypatch):
    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 16)
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 8)
    images, pairs, _ = anchor_images(dial, torch.Generator().manual_seed(0), with_pairs=True)
    assert images.shape == (16, *dial.image_shape) and pairs[0].shape == (8, *dial.image_shape)
    assert 0.0 <= images.min() and images.max() <= 1.0
    differ = (pairs[0] != pairs[1]).flatten(1).any(1).numpy()
    assert np.mean(differ) > 0.5  # one hand moved in each pair (rarely onto the same pixels)


def test_anchor_pairs_come_from_a_file_that_is_not_a_grid(tmp_path, monkeypatch):
    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 16)
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 8)
    kinds, periods = ("points", "loop", "segment"), {1: 2 * math.pi}
    photos = from_file(
        write_labelled_file(tmp_path / "p.npz", objects_at_angles(), kinds, periods=periods)
    )
    images, pairs, changed = anchor_images(photos, torch.Generator().manual_seed(0), True, None)
    assert not photos.is_grid and pairs[0].shape == pairs[1].shape == (8, *photos.image_shape)
    assert (pairs[0] != pairs[1]).flatten(1).any(1).all()  # random images: every pair differs
