import pytest
import yaml

from prodvae.train import Config, load_config
from prodvae.train.overrides import read_yaml


def test_defaults_are_in_code():
    config = load_config()
    assert config == Config()
    assert config.objective.name == "product"
    assert config.train.steps > 0 and config.train.batch_size > 0 and config.train.lr > 0


def test_yaml_overlay_then_set_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "data: {name: sprites}\n"
        "model:\n  space: [{kind: loop, radius: 3, width: 0.5}, {kind: segment}]\n"
        "train: {steps: 50, lr: 0.0005}\n"
    )
    config = load_config(path, ["train.steps=7", "objective.options.beta=4", "train.amp=false"])
    assert config.data.name == "sprites"
    assert config.model.space == [{"kind": "loop", "radius": 3, "width": 0.5}, {"kind": "segment"}]
    assert config.train.steps == 7 and config.train.lr == 0.0005 and config.train.amp is False
    assert config.objective.options == {"beta": 4}
    assert config.train.batch_size == Config().train.batch_size  # untouched default


def test_values_are_converted_to_field_types():
    config = load_config(None, ["train.lr=1e-3", "train.steps=1e3", "run.name=42"])
    assert config.train.lr == pytest.approx(1e-3) and isinstance(config.train.lr, float)
    assert config.train.steps == 1000 and isinstance(config.train.steps, int)
    assert config.run.name == "42"
    assert load_config(None, ["data.num_changed=null"]).data.num_changed is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=1", "valid keys: steps, batch_size"),
        ("trian.steps=1", "valid sections: data, model, objective, train, eval, run"),
        ("train.steps=abc", "train.steps must be a number"),
        ("train.steps=2.5", "train.steps must be an integer"),
        ("train.steps=0", "train.steps must be > 0"),
        ("train.lr=-1", "train.lr must be > 0"),
        ("train.lr=nan", "train.lr must be finite"),
        ("train.amp=3", "train.amp must be true or false"),
        ("train.steps=true", "train.steps must be a number"),
        ("eval.suite=everything", "eval.suite must be one of 'standard', 'topology', 'all'"),
        ("data.num_changed=0", "data.num_changed must be >= 1 or null"),
        ("train.steps", "expected section.key=value"),
        ("train.steps.x=1", "train.steps is not a mapping"),
        ("data.options=3", "data.options must be a mapping"),
    ],
)
def test_bad_overrides_fail_with_the_key_and_what_is_valid(override, message):
    with pytest.raises(ValueError, match=None) as error:
        load_config(None, [override])
    assert message in str(error.value)


def test_bad_yaml_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {steps: [1, 2}\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        load_config(bad)
    bad.write_text("train: {batchsize: 3}\n")
    with pytest.raises(ValueError, match="unknown config key train.batchsize"):
        load_config(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_resolved_config_round_trips_through_yaml(tmp_path):
    config = load_config(None, ["model.space=loop(3, 0.5) * segment", "objective.options.beta=2"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    assert load_config(path) == config
    assert read_yaml(path)["train"]["seed"] == config.train.seed


def test_config_is_frozen():
    config = Config()
    with pytest.raises(AttributeError):
        config.train.steps = 3  # type: ignore[misc]


def test_identity_ignores_only_resumable_fields():
    base = load_config()
    same = load_config(None, ["train.steps=99", "eval.every=5", "run.name=x", "train.device=cpu"])
    assert same.identity() == base.identity()
    for changed in ("train.lr=0.5", "model.backbone=resnet", "data.name=sprites", "train.seed=3"):
        assert load_config(None, [changed]).identity() != base.identity(), changed
