"""The measurements of ``benchmarks/torus_loops.py`` on maps whose answers are known."""

import math

import pytest
import torch
from benchmarks.torus_loops import LoopResult, winding_number


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
    result = LoopResult([], [[0.1, 0.9], [0.85, 0.2]], [[0, 1], [1, 0]], [3.0, 3.0])
    assert result.separation == pytest.approx(0.85)  # block 0 short, block 1 long
    mixed = LoopResult([], [[0.9, 0.95], [0.3, 0.1]], [[1, 1], [0, 0]], [3.0, 3.0])
    assert mixed.separation == pytest.approx(0.3)  # one block cannot hold both hands


def test_the_script_runs_and_reports_every_seed(capsys):
    from benchmarks.torus_loops import main

    main(["--steps", "3", "--seeds", "0", "1", "--free-bits", "4"])
    out = capsys.readouterr().out
    assert "weak=ada_gvae, free bits 4.0, 3 steps" in out
    assert "seed 0 (" in out and "seed 1 (" in out
    assert out.count("  block ") == 4
    assert out.rstrip().endswith("of 2 seeds")
