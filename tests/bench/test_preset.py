import pytest

from prodvae.bench import load_preset, parse_preset
from prodvae.bench.arguments import resolve_preset
from prodvae.bench.cell import check_cell
from prodvae.objectives import OBJECTIVES


def test_cells_are_datasets_times_variants_times_seeds(tiny_preset):
    tiny_preset["seeds"] = [0, 1, 2]
    tiny_preset["objectives"]["beta_vae"]["sweep"] = {"objective.options.beta": [1, 4]}
    preset = parse_preset(tiny_preset)
    assert preset.variants == ["product", "beta_vae[beta=1]", "beta_vae[beta=4]"]
    assert len(preset.cells) == 1 * 3 * 3
    assert len({cell.cell_id for cell in preset.cells}) == 9
    cell = next(c for c in preset.cells if c.variant == "beta_vae[beta=4]" and c.seed == 2)
    assert cell.overlay["objective"] == {"name": "beta_vae", "options": {"beta": 4}}
    assert cell.overlay["train"]["seed"] == 2
    assert cell.overlay["train"]["steps"] == 3  # from base, merged deeply
    assert cell.overlay["model"]["space"] == "euclidean(4)"  # {latent_dim} from the dataset
    assert cell.overlay["model"]["options"] == {"width": 4, "hidden_dim": 16}


def test_a_lone_placeholder_keeps_the_type_of_its_value(tiny_preset):
    tiny_preset["datasets"]["torus"]["vars"]["size"] = 1600
    tiny_preset["objectives"]["beta_vae"]["objective"] = {
        "name": "beta_tcvae",
        "options": {"dataset_size": "{size}"},
    }
    cell = parse_preset(tiny_preset).cells[1]
    assert cell.overlay["objective"]["options"]["dataset_size"] == 1600


def test_unknown_objective_fails_before_anything_runs(tiny_preset, tmp_path):
    tiny_preset["objectives"]["mystery"] = {"objective": {"name": "no_such_objective"}}
    with pytest.raises(ValueError) as error:
        parse_preset(tiny_preset)
    message = str(error.value)
    assert "'mystery' (objective 'no_such_objective')" in message
    assert "not registered" in message and "product" in message
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(seeds=[]), "seeds must be a non-empty list"),
        (lambda p: p.update(seeds=[1, 1]), "seeds must be distinct"),
        (lambda p: p.update(colour="red"), "unknown key(s) ['colour']"),
        (lambda p: p["evaluation"].update(num_train=1), "evaluation.num_train"),
        (lambda p: p["evaluation"].update(metrics=["nope"]), "evaluation.metrics ['nope']"),
        (lambda p: p["datasets"]["torus"].update(vars={}), "uses {latent_dim}"),
    ],
)
def test_bad_presets_raise_one_clear_error(tiny_preset, change, message):
    change(tiny_preset)
    with pytest.raises(ValueError) as error:
        parse_preset(tiny_preset)
    assert message in str(error.value)


def test_bad_config_in_a_cell_names_the_cell(tiny_preset, tmp_path):
    tiny_preset["objectives"]["beta_vae"]["objective"]["options"] = {"betta": 2}
    preset = parse_preset(tiny_preset)
    with pytest.raises(
        ValueError, match=r"cell torus--beta_vae--seed0: unknown config key objective.options.betta"
    ):
        check_cell(preset.cells[1], tmp_path)


@pytest.mark.parametrize("name", ["smoke", "cpu", "gpu"])
def test_shipped_presets_parse_and_name_registered_objectives(name, tmp_path):
    preset = load_preset(resolve_preset(name))
    assert {cell.objective for cell in preset.cells} <= set(OBJECTIVES)
    first_seed = preset.cells[0].seed
    for cell in preset.cells:
        if cell.seed == first_seed:  # other seeds differ only in train.seed
            check_cell(cell, tmp_path)


def test_cpu_preset_covers_the_issue_objectives():
    preset = load_preset(resolve_preset("cpu"))
    assert set(preset.datasets) == {"sprites", "torus"}
    wanted = {"product", "beta_vae", "beta_tcvae", "factor_vae", "annealed_vae", "tilted"}
    wanted |= {"qlae", "on_manifold"}
    assert wanted <= {cell.objective for cell in preset.cells}
    assert any(c.overlay["objective"].get("options", {}).get("weak") for c in preset.cells)
    assert len({cell.seed for cell in preset.cells}) >= 3


def test_unknown_preset_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown preset 'huge'; known presets: cpu, gpu, smoke"):
        resolve_preset("huge")
