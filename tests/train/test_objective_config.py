"""``objective.options`` is checked when the config loads, like every other section: against
the objective's options dataclass (its field types, then its own value checks)."""

from dataclasses import dataclass

import pytest
import torch

from prodvae.objectives import OBJECTIVES, Objective, ObjectiveOptions
from prodvae.train import load_config
from prodvae.train.build import build_components


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["objective.options.anchr_weight=1"],
            "unknown config key objective.options.anchr_weight; valid keys: likelihood",
        ),
        (
            ["objective.options.anchor_weight=-1"],
            "objective.options.anchor_weight must be a finite",
        ),
        (["objective.options.anchor_weight=x"], "objective.options.anchor_weight must be a number"),
        (
            ["objective.options.anchor_steps=2.5"],
            "objective.options.anchor_steps must be an integer",
        ),
        (["objective.options.beta=[1, x]"], "objective.options.beta: [1, 'x'] fits no type"),
        (
            ["objective.options.label_map={a: 1}"],
            "objective.options.label_map key must be a number",
        ),
        (
            ["objective.options.labelled_fraction=0.5"],
            "objective.options.labelled_fraction > 0 needs a label_map",
        ),
        (["objective.name=tilted", "objective.options.fixed_variance=3"], "must be true or false"),
        (["objective.name=vae", "objective.options.beta=2"], "valid keys: likelihood, likelihood_"),
        (["objective.name=elbo"], "unknown objective 'elbo'; expected one of"),
    ],
)
def test_bad_objective_options_fail_when_the_config_loads(overrides, message):
    with pytest.raises(ValueError) as error:
        load_config(None, overrides)
    assert message in str(error.value)


def test_a_yaml_overlay_is_checked_the_same_way(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("objective: {name: beta_vae, options: {betta: 2}}\n")
    with pytest.raises(ValueError, match="unknown config key objective.options.betta"):
        load_config(path)


def test_values_take_their_fields_types_whatever_the_order_of_the_overrides():
    config = load_config(
        None,
        [
            "objective.options.beta=[1, 2]",
            "objective.options.anneal_steps=1e3",
            "objective.options.label_map={'0': 1}",
            "objective.options.labelled_fraction=1",
        ],
    )
    options = config.objective.options
    assert options["beta"] == (1.0, 2.0) and options["anneal_steps"] == 1000
    assert options["label_map"] == {0: 1} and isinstance(options["labelled_fraction"], float)
    late_name = load_config(None, ["objective.options.beta=4", "objective.name=beta_vae"])
    assert late_name.objective.options == {"beta": 4.0}


@dataclass(frozen=True, kw_only=True)
class ProbeOptions(ObjectiveOptions):
    """A test-only objective's options."""

    scale: float = 1.0


class ProbeObjective(Objective):
    """A test-only objective: its own options, and a ``prepare`` that records what it got."""

    Options = ProbeOptions

    def prepare(self, dataset, space, generator, *, num_changed=1):
        self.prepared = (dataset, space, torch.rand(3, generator=generator), num_changed)


@pytest.fixture
def probe():
    """``ProbeObjective`` registered as "toy_probe" for one test."""
    with OBJECTIVES.temporarily("toy_probe", ProbeObjective):
        yield ProbeObjective


def test_a_new_objective_is_configured_and_prepared_with_no_other_change(probe):
    with pytest.raises(ValueError, match="objective.options.scale must be a number"):
        load_config(None, ["objective.name=toy_probe", "objective.options.scale=big"])
    config = load_config(
        None,
        [
            "objective.name=toy_probe",
            "objective.options.scale=2",
            "data.options={image_size: 32, factor_sizes: [4, 4]}",
            "model.options={width: 4, hidden_dim: 16}",
            "data.num_changed=null",
            "train.seed=11",
        ],
    )
    parts = build_components(config)
    assert parts.objective.options == ProbeOptions(scale=2.0)
    dataset, space, drawn, num_changed = parts.objective.prepared
    assert dataset is parts.dataset and space is parts.space and num_changed is None
    assert torch.equal(drawn, torch.rand(3, generator=torch.Generator().manual_seed(11)))
