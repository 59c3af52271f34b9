"""The measurements of ``benchmarks/torus_loops.py`` on maps whose answers are known."""

import math

import pytest
import torch
from benchmarks.torus_loops import LoopResult, feature_r2, winding_number


@pytest.mark.parametrize(
    ("make_phi", "turns"),
    [
        (lambda t: t + 1.0, 1),
        (lambda t: -t, -1),
        (lambda t: 2 * t + 0.3 * torch.sin(t), 2),
        (lambda t: 2.5 * torch.sin(t), 0),  # a folded arc: out and back
        (lambda t: torch.zeros_like(t), 0),
        (lambda t: t + 1.2 * torch.sin(t), 1),  # uneven speed, still once round
    ],
)
def test_winding_number_counts_turns(make_phi, turns):
    theta = torch.rand(2000, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    assert winding_number(make_phi(theta), theta) == turns


def test_winding_number_on_the_dataset_grid_with_noise():
    theta = torch.arange(40).repeat(25) * (2 * math.pi / 40)
    noise = 0.2 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(1))
    assert winding_number(-theta + noise, theta) == -1


def test_separation_takes_the_better_assignment_of_hands_to_blocks():
    result = LoopResult([], [[0.1, 0.9], [0.85, 0.2]], [[0, 1], [1, 0]], [3.0, 3.0], [1.0, 1.0])
    assert result.separation == pytest.approx(0.85)  # block 0 short, block 1 long
    mixed = LoopResult([], [[0.9, 0.95], [0.3, 0.1]], [[1, 1], [0, 0]], [3.0, 3.0], [1.0, 1.0])
    assert mixed.separation == pytest.approx(0.3)  # one block cannot hold both hands


def test_the_script_runs_and_reports_every_seed(capsys):
    from benchmarks.torus_loops import main

    argv = ["--steps", "3", "--seeds", "0", "1", "--free-bits", "4", "--anneal-steps", "2"]
    options = ["--hsic-weight", "5", "--encoder-activation", "leaky_relu", "--normalise-loops"]
    main([*argv, "--anneal-cycle", "2", *options])
    out = capsys.readouterr().out
    assert (
        "weak=ada_gvae, free bits 4.0, shape annealed over 2 steps every 2, HSIC weight 5.0, "
        "leaky_relu encoder, loops normalised: True, anchor weight 0.0 over 500 steps, 3 steps"
    ) in out
    assert "seed 0 (" in out and "seed 1 (" in out
    assert out.count("  block ") == 4
    assert out.count("encoder features carry (R²): long_hand ") == 2
    assert out.rstrip().endswith("of 2 seeds")


def test_feature_r2_sees_an_angle_the_features_carry_and_not_one_they_lack():
    generator = torch.Generator().manual_seed(2)
    carried, lacking = (torch.rand(1000, generator=generator) * 2 * math.pi for _ in range(2))
    noise = torch.randn(1000, 30, generator=generator)
    features = torch.cat([noise, torch.stack([carried.cos(), carried.sin()], -1) * 5], -1)
    features = features @ torch.randn(32, 32, generator=generator)  # mixed, still linear
    assert feature_r2(features, carried) > 0.99
    assert abs(feature_r2(features, lacking)) < 0.1
    # A hand seen only through a non-linear feature (its cosine's square) is half-carried:
    # cos^2 = (1 + cos 2t) / 2 holds neither cos t nor sin t.
    assert abs(feature_r2(torch.cat([noise, carried.cos()[:, None] ** 2], -1), carried)) < 0.1
    half = torch.cat([noise, carried.cos()[:, None]], -1)  # cos without sin: R² 1/2
    assert feature_r2(half, carried) == pytest.approx(0.5, abs=0.06)


def test_the_script_passes_every_option_to_the_training(monkeypatch):
    import benchmarks.torus_loops as torus_loops

    calls = []

    def fake(seed, steps, **options):
        calls.append((seed, steps, options))
        return torus_loops.LoopResult(
            [0.0], [[0.9, 0.1], [0.1, 0.9]], [[1, 0], [0, 1]], [3, 3], [1, 1]
        )

    monkeypatch.setattr(torus_loops, "train_loops", fake)
    torus_loops.main(
        ["--weak", "ada_ml_vae", "--steps", "7", "--free-bits", "2", "--anneal-steps", "5"]
        + ["--anneal-cycle", "10", "--hsic-weight", "3", "--encoder-activation", "leaky_relu"]
        + ["--normalise-loops", "--anchor-weight", "1.5", "--anchor-steps", "30"]
        + ["--log-every", "4", "--seeds", "9"]
    )
    assert calls == [
        (
            9,
            7,
            dict(
                weak="ada_ml_vae",
                free_bits=2.0,
                anneal_steps=5,
                anneal_cycle=10,
                hsic_weight=3.0,
                encoder_activation="leaky_relu",
                normalise_loops=True,
                hand="both",
                anchor_weight=1.5,
                anchor_steps=30,
                log_every=4,
            ),
        )
    ]


def test_separation_of_one_hand_is_its_best_block():
    one = LoopResult([], [[0.3], [0.9]], [[0], [1]], [3.0, 3.0], [1.0], [0.2, 0.3], ("short_hand",))
    assert one.separation == pytest.approx(0.9)


def test_one_hand_mode_trains_one_loop_on_images_where_only_that_hand_moves(capsys):
    import benchmarks.torus_loops as torus_loops

    from prodvae.data import get_dataset

    dataset = get_dataset("torus", image_size=32)
    values = torus_loops.sample_angles(dataset, 50, torch.Generator().manual_seed(0), "short_hand")
    assert (values[:, 0] == 0).all() and values[:, 1].std() > 1.0  # long hand held, short moves
    result = torus_loops.train_loops(0, 3, anneal_steps=2, hand="short_hand")
    assert result.hands == ("short_hand",)
    assert len(result.alignment) == len(result.radii) == len(result.spreads) == 1
    assert len(result.alignment[0]) == len(result.winding[0]) == len(result.features) == 1
    argv = ["--hand", "long_hand", "--weak", "none", "--steps", "3", "--seeds", "4"]
    torus_loops.main([*argv, "--anchor-weight", "2", "--anchor-steps", "2"])
    out = capsys.readouterr().out
    assert "anchor weight 2.0 over 2 steps" in out
    assert "moving: long_hand" in out and out.count("  block ") == 1
    assert "short_hand" not in out.split("moving: long_hand")[1]
    assert "mean radius" in out and " ± " in out
    assert out.rstrip().endswith("separated (the hand >= 0.8): 0 of 1 seeds")


@pytest.mark.parametrize(
    "options",
    [
        dict(hand="minute_hand"),
        dict(hand="long_hand"),
        dict(hand="long_hand", weak="none", hsic_weight=1.0),
    ],
)
def test_one_hand_mode_refuses_what_needs_two(options):
    from benchmarks.torus_loops import train_loops

    options.setdefault("weak", "ada_gvae")
    with pytest.raises(ValueError, match="hand"):
        train_loops(0, 1, **options)


def test_the_script_refuses_pairs_for_one_hand(capsys):
    from benchmarks.torus_loops import main

    with pytest.raises(SystemExit):
        main(["--hand", "long_hand", "--steps", "1"])
    assert "--hand long_hand trains one loop unsupervised" in capsys.readouterr().err
