import math

import pytest
from tiny_runs import make_tiny

from prodvae.train import TrainConfig, load_config, read_metrics, train
from prodvae.train.state import lr_factor


def test_constant_schedule_is_the_warmup_ramp_then_one():
    factor = lr_factor(TrainConfig(steps=100, warmup_steps=4))
    assert [factor(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert factor(99) == 1.0


def test_cosine_holds_until_decay_start_then_falls_to_the_floor_at_the_last_step():
    config = TrainConfig(steps=101, lr_schedule="cosine", decay_start=40, min_lr_ratio=0.1)
    factor = lr_factor(config)
    assert all(factor(s) == 1.0 for s in range(41))
    assert factor(100) == pytest.approx(0.1, abs=1e-15)  # the last step's factor
    assert factor(70) == pytest.approx(0.55, abs=1e-15)  # half way: (1 + floor) / 2
    quarter = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))
    assert factor(55) == pytest.approx(quarter, abs=1e-15)
    values = [factor(s) for s in range(101)]
    assert all(b <= a for a, b in zip(values, values[1:], strict=False))


def test_cosine_multiplies_the_warmup_ramp():
    factor = lr_factor(TrainConfig(steps=11, warmup_steps=20, lr_schedule="cosine"))
    assert factor(0) == pytest.approx(1 / 20, abs=1e-15)  # ramp 1/20, cosine 1 at step 0
    assert factor(10) == 0.0  # floor 0 at the last step, whatever the ramp


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr_schedule=linear", "train.lr_schedule must be one of 'constant', 'cosine'"),
        ("train.min_lr_ratio=1.5", "train.min_lr_ratio must be in [0, 1], got 1.5"),
        ("train.min_lr_ratio=nan", "train.min_lr_ratio must be finite"),
        ("train.decay_start=-1", "train.decay_start must be >= 0"),
    ],
)
def test_bad_schedule_settings_fail_with_the_key(override, message):
    with pytest.raises(ValueError) as error:
        load_config(None, [override])
    assert message in str(error.value)


def test_a_decay_that_starts_after_the_run_is_refused():
    with pytest.raises(ValueError, match=r"train.decay_start \(10\) must be below train.steps"):
        load_config(None, ["train.steps=10", "train.lr_schedule=cosine", "train.decay_start=10"])


def test_each_logged_lr_is_the_one_its_step_used(tmp_path):
    config = make_tiny(
        tmp_path,
        "objective.name=toy_ae",
        "train.lr=0.01",
        "train.lr_schedule=cosine",
        "train.decay_start=1",
        "train.min_lr_ratio=0.2",
    )
    result = train(config, tmp_path / "run")
    logged = [line["lr"] for line in read_metrics(result.run_dir) if "lr" in line]
    factor = lr_factor(config.train)
    # the logged step s is the s-th update, made with the factor at index s - 1
    assert logged == pytest.approx([0.01 * factor(s) for s in range(6)], rel=1e-12)
    assert logged[:2] == [0.01, 0.01] and logged[-1] == pytest.approx(0.002, rel=1e-12)
