"""``product(balance_weight)``: each ``point_logits`` softmax drawn toward its target in an
even split of the batch over the points (``prodvae.objectives.coverage.points_balance``)."""

import math

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.coverage import balanced_targets, points_balance
from prodvae.spaces import ProductSpace

LOGITS = {"points": "point_logits"}


def merged(lean: float = 0.08) -> torch.Tensor:
    """Log-shares of 16 codes over 4 points: four values, four codes each; values 0 and 1 sure
    of points 0 and 1, values 2 and 3 both at point 2, value 3 leaning toward point 3 (which
    no code holds) by ``lean`` and value 2 by a tenth of it."""
    p = torch.full((16, 4), 0.01, dtype=torch.float64)
    for value, point in enumerate((0, 1, 2, 2)):
        p[4 * value : 4 * value + 4, point] = 0.97
    p[8:12, 3], p[12:16, 3] = lean / 10, lean
    return (p / p.sum(-1, keepdim=True)).log()


def test_balanced_targets_are_rows_that_split_the_batch_evenly():
    targets = balanced_targets(merged(), iterations=5000)
    ones = torch.ones(16, dtype=torch.float64)
    assert torch.allclose(targets.sum(-1), ones, rtol=0, atol=float_tol(torch.float64, 1, 4))
    # Sinkhorn converges: after many rounds every point holds a quarter of the 16 codes
    quarter = torch.full((4,), 4.0, dtype=torch.float64)
    assert torch.allclose(targets.sum(0), quarter, rtol=0, atol=float_tol(torch.float64, 4, 64))
    # the default three rounds go part of the way (the last leaves the rows exact)
    start = (merged().exp() ** 2 / (merged().exp() ** 2).sum(-1, keepdim=True)).sum(0)
    three = balanced_targets(merged()).sum(0)
    assert (three - quarter).abs().max() < 0.5 * (start - quarter).abs().max()
    assert not targets.requires_grad


def test_the_codes_that_lean_toward_an_empty_point_are_sent_to_it():
    log_p = merged()
    targets = balanced_targets(log_p)  # the default three rounds
    # value 3's codes go mostly to the empty point, value 2's stay at the shared one
    assert targets[12:, 3].min() > 0.5 and targets[8:12, 2].min() > 0.5
    assert targets[12:, 3].min() > 5 * targets[8:12, 3].max()
    # and the gradient raises value 3's logit of point 3 although its softmax is sure
    logits = log_p.clone().requires_grad_()
    points_balance({0: logits.log_softmax(-1)}).backward()
    pushed, left = logits.grad[12:, 3], logits.grad[8:12, 3]
    assert bool((pushed < 0).all()) and bool((pushed < 10 * left).all())
    # where nothing leans, nothing tells values 2 and 3 apart: their targets are alike
    even = balanced_targets(merged(lean=0.0))
    assert torch.allclose(even[8:12], even[12:16], rtol=0, atol=1e-12)


def test_the_balance_is_the_kl_of_each_softmax_from_its_target():
    torch.manual_seed(0)
    log_p = torch.randn(10, 3, dtype=torch.float64).log_softmax(-1)
    q = balanced_targets(log_p)
    expected = (
        sum(
            sum(q[i, j].item() * (math.log(q[i, j].item()) - log_p[i, j].item()) for j in range(3))
            for i in range(10)
        )
        / 10
    )
    got = points_balance({0: log_p, 2: log_p}).item()
    assert got == pytest.approx(2 * expected, rel=0, abs=float_tol(torch.float64, 10, 30))
    assert points_balance({}).item() == 0.0


def test_a_sure_even_split_costs_nothing_and_one_point_for_all_costs_most():
    sure = torch.full((8, 4), -40.0, dtype=torch.float64)
    sure[torch.arange(8), torch.arange(8) % 4] = 0.0
    assert points_balance({0: sure.log_softmax(-1)}).item() < 1e-12
    crowded = torch.full((8, 4), -3.0, dtype=torch.float64)
    crowded[:, 0] = 0.0
    assert points_balance({0: crowded.log_softmax(-1)}).item() > 0.5


def test_balance_weight_needs_point_logits_and_is_logged():
    space = ProductSpace.parse("points(3) * segment")
    objective = get_objective("product", weak="ada_gvae", changed="known", balance_weight=2.0)
    gaussian = build_vae(space, "burgess", (1, 32, 32), width=4)
    with pytest.raises(ValueError, match="balance_weight > 0 reads the points blocks' logits"):
        objective.check_model(gaussian)
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), posterior=LOGITS, width=4)
    objective.check_model(model)
    pairs = torch.rand(4, 2, 1, 32, 32)
    changed = torch.tensor([[True, False], [False, True], [True, False], [False, True]])
    loss, logs = objective(model, pairs, 10, changed=changed)
    first, second = (model.encode_with_shares(pairs[:, i])[1][0] for i in (0, 1))
    expected = points_balance({0: torch.cat([first, second])}).item()
    assert logs["balance"] == pytest.approx(expected, rel=float_tol(torch.float32, 1, 64))
    plain = get_objective("product", weak="ada_gvae", changed="known")
    torch.manual_seed(1)
    base, base_logs = plain(model, pairs, 10, changed=changed)
    torch.manual_seed(1)
    loss, _ = objective(model, pairs, 10, changed=changed)
    assert "balance" not in base_logs
    assert loss.item() == pytest.approx(
        base.item() + 2.0 * logs["balance"], rel=float_tol(torch.float32, 1, 64)
    )


def test_half_precision_shares_get_float32_targets():
    log_p = merged().to(torch.bfloat16)
    targets = balanced_targets(log_p)
    assert targets.dtype == torch.float32
    ones = torch.ones(16)
    assert torch.allclose(targets.sum(-1), ones, rtol=0, atol=float_tol(torch.float32, 1, 4))
    # the same targets as the bf16 values read in float32
    assert torch.equal(targets, balanced_targets(log_p.float()))
