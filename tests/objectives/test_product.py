import math

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.data import FactorSpec, get_dataset
from prodvae.metrics.circular import circular_alignment
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.semi_supervision import (
    image_folds,
    latent_coordinate,
    latent_labels,
    supervised_pull,
)
from prodvae.spaces import Euclidean, Loop, PointSet, ProductSpace, Segment

from .toy import blob_images, ring_angles

MIXED = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)")


def test_codes_settle_on_the_ring_after_annealing():
    """The default schedule (β warm-up, ring widened only to radius / 2) ends on the ring."""
    torch.manual_seed(0)
    theta = ring_angles(16, 1, torch.Generator().manual_seed(0))
    x = blob_images(theta)
    space = ProductSpace.parse("loop(3, 0.5)")
    model = build_vae(space, "burgess", (1, 32, 32), width=16, hidden_dim=64)
    objective = get_objective("product", warmup_steps=100, anneal_steps=100)
    objective.check_model(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for step in range(300):
        loss, _ = objective(model, x, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        codes = model.codes(x)
    radius = codes.norm(dim=-1)
    assert radius.mean().item() == pytest.approx(3.0, rel=0.10)
    assert radius.min().item() > 1.5  # nobody stuck in the centre
    angles = space.factors[0].coordinate(codes)
    assert circular_alignment(angles.double().numpy(), theta[:, 0].double().numpy()) > 0.8
    assert sum(losses[-10:]) < sum(losses[100:110])


def test_per_factor_beta_weights_each_kl():
    torch.manual_seed(0)
    model = build_vae(MIXED, "burgess", (1, 32, 32), width=4)
    objective = get_objective("product", beta=(1.0, 2.0, 3.0), anneal_steps=0)
    objective.check_model(model)
    _, logs = objective(model, torch.rand(4, 1, 32, 32), 0)
    weighted = logs["kl/0"] + 2 * logs["kl/1"] + 3 * logs["kl/2"]
    # loss (~700) and recon are float32 sums: their difference is off by a few eps of the loss
    rounding = float_tol(torch.float32, logs["loss"], 4)
    assert logs["loss"] - logs["recon"] == pytest.approx(weighted, abs=rounding)
    with pytest.raises(ValueError, match="beta has 2 values"):
        get_objective("product", beta=(1.0, 2.0)).check_model(model)


def test_warmup_starts_with_no_kl_weight():
    torch.manual_seed(0)
    model = build_vae(MIXED, "burgess", (1, 32, 32), width=4)
    _, logs = get_objective("product", warmup_steps=10)(model, torch.rand(4, 1, 32, 32), 0)
    assert logs["loss"] == pytest.approx(logs["recon"])
    assert logs["beta_scale"] == 0.0


def test_block_total_correlation_option_is_logged_and_differentiable():
    torch.manual_seed(0)
    model = build_vae(MIXED, "burgess", (1, 32, 32), width=4)
    objective = get_objective("product", tc_weight=2.0, dataset_size=1000)
    loss, logs = objective(model, torch.rand(8, 1, 32, 32), 0)
    loss.backward()
    assert "tc" in logs and math.isfinite(logs["tc"])
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_supervised_pull_targets_each_topology():
    mu = torch.tensor([[3.0, 0.0, 1.0, 0.0], [0.0, 3.0, -1.0, 3.0]])
    labels = torch.tensor(
        [[math.pi / 2, 1.0, 2.0], [float("nan"), float("nan"), float("nan")]], dtype=torch.float64
    )
    pull = supervised_pull(MIXED, mu, labels, {0: 0, 1: 1, 2: 2})
    # Row 0: loop (3, 0) vs (0, 3): 18 / (2 · 0.25); segment 0; point 2 is at 3: 9 / (2 · 0.25).
    # divided by the batch size; float32 sums of a few squares of size up to 9
    expected = (36.0 + 0.0 + 18.0) / 2
    assert pull.item() == pytest.approx(expected, abs=float_tol(torch.float32, expected, 8))


def test_semi_supervision_pulls_codes_toward_labels():
    torch.manual_seed(0)
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25)")
    model = build_vae(space, "burgess", (1, 32, 32), width=4)
    objective = get_objective("product", labelled_fraction=0.5, label_map={0: 0})
    assert objective.needs_labels
    objective.check_model(model)
    x = torch.rand(4, 1, 32, 32)
    labels = torch.tensor([[0.0], [1.0], [float("nan")], [float("nan")]], dtype=torch.float64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(30):
        loss, logs = objective(model, x, step, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        angles = space.factors[0].coordinate(model.codes(x)[:2, :2])
    assert torch.allclose(angles, torch.tensor([0.0, 1.0]), atol=0.2)
    assert "supervised" in logs


def test_label_map_errors_are_clear():
    model = build_vae(ProductSpace.parse("loop * tilted(2, 3)"), "burgess", (1, 32, 32), width=4)
    with pytest.raises(ValueError, match="out of range"):
        get_objective("product", labelled_fraction=0.1, label_map={0: 5}).check_model(model)
    with pytest.raises(ValueError, match="cannot supervise a 'tilted'"):
        get_objective("product", labelled_fraction=0.1, label_map={0: 1}).check_model(model)
    with pytest.raises(ValueError, match="weak"):
        get_objective("product", labelled_fraction=0.1, label_map={0: 0}, weak="ada_gvae")


def test_free_bits_floors_each_factor_batch_mean_kl():
    """Below the floor a factor's KL is constant (no gradient); above it, the usual KL."""
    torch.manual_seed(0)
    model = build_vae(MIXED, "burgess", (1, 32, 32), width=4)
    x = torch.rand(6, 1, 32, 32)
    plain = get_objective("product", anneal_steps=0)
    _, logs = plain(model, x, 0)
    kls = [logs[f"kl/{i}"] for i in range(3)]
    floor = sorted(kls)[1]  # one factor below, one at, one above the floor
    objective = get_objective("product", anneal_steps=0, free_bits=floor)
    terms = objective.terms(model, x, 0)
    penalty, _ = objective.regularise(model, terms, 0, None)
    mean_kl = terms.kl.mean(0).tolist()
    floored = sum(max(floor, k) for k in mean_kl)
    # a float32 sum of the three floored means: two roundings, and headroom
    assert penalty.item() == pytest.approx(floored, abs=float_tol(torch.float32, floored, 4))
    grad = torch.autograd.grad(penalty, terms.posterior.mu)[0]
    below = min(range(3), key=kls.__getitem__)
    assert grad[:, MIXED.slices[below]].abs().max().item() == 0.0
    above = max(range(3), key=kls.__getitem__)
    assert grad[:, MIXED.slices[above]].abs().max().item() > 0.0


def test_free_bits_must_be_a_non_negative_number():
    for bad in (-1.0, float("nan"), "4"):
        with pytest.raises(ValueError, match="free_bits"):
            get_objective("product", free_bits=bad)


def test_normalise_steps_holds_the_code_normalisation_then_fades_it_out():
    space = ProductSpace.parse("loop * segment")
    model = build_vae(space, "burgess", (1, 32, 32), width=4, normalise_codes=True)
    objective = get_objective("product", normalise_steps=100)
    objective.check_model(model)
    blends = [objective.code_blend(step) for step in (0, 99, 100, 150, 200, 1000)]
    assert blends == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert objective.schedule(150)["code_blend"] == 0.5
    x = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    objective(model, x, 150)
    assert model.code_blend.item() == 0.5  # the model encodes with the blend of the step
    objective(model, x, 250)
    assert model.code_blend.item() == 0.0
    assert "code_blend" not in get_objective("product").schedule(0)  # 0: nothing faded
    plain = build_vae(space, "burgess", (1, 32, 32), width=4)
    with pytest.raises(
        ValueError, match=r"normalise_steps > 0 .* \(model.options.normalise_codes: true\)"
    ):
        objective.check_model(plain)
    with pytest.raises(ValueError, match="normalise_steps"):
        get_objective("product", normalise_steps=-1)


def test_normalise_steps_trains_a_space_whose_every_block_is_a_classifier():
    """Points read as classifiers have no code normalisation: a data set of classes alone
    leaves the model built with normalise_codes nothing to normalise, which is no error."""
    space = ProductSpace.parse("points(3) * points(2)")
    model = build_vae(
        space,
        "burgess",
        (1, 32, 32),
        width=4,
        normalise_codes=True,
        posterior={"points": "point_logits"},
    )
    assert len(model.code_norms) == 0
    objective = get_objective("product", normalise_steps=100)
    objective.check_model(model)
    x = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(objective(model, x, 150).loss)


NAN = float("nan")


def assert_close(actual, expected):
    expected = torch.as_tensor(expected, dtype=torch.float64)
    # a product and a quotient of float64 values of order 1: a few eps
    torch.testing.assert_close(
        actual, expected, rtol=float_tol(torch.float64, 1.0, 4), atol=0.0, equal_nan=True
    )


def test_latent_coordinate_maps_the_data_values_onto_each_kind():
    hue = FactorSpec("hue", "loop", (0.0, 0.25, 0.5, 0.75), 1.0)
    x = FactorSpec("x", "segment", (0.0, 0.5, 1.0))
    shape = FactorSpec("shape", "points", (10.0, 20.0, 30.0))
    ring, segment = Loop(radius=3.0), Segment(half_length=2.0)
    points, line = PointSet(num_points=3, spacing=3.0), Euclidean()
    value = torch.tensor([0.0, 0.25, 0.9, NAN], dtype=torch.float64)
    # a loop's values by 2π / period, whatever its grid
    assert_close(latent_coordinate(value, hue, ring), value * 2 * math.pi)
    # a range over [-L, L] on a segment, [-1, 1] on a Euclidean factor, half a turn on a ring
    assert_close(latent_coordinate(value, x, segment), [-2.0, -1.0, 1.6, NAN])
    assert_close(latent_coordinate(value, x, line), [-1.0, -0.5, 0.8, NAN])
    assert_close(latent_coordinate(value, x, ring), [0.0, math.pi / 4, 0.9 * math.pi, NAN])
    # the nearest grid value's index on points; on a loop's grid the nearest round the loop
    shapes = torch.tensor([10.0, 19.0, 26.0, NAN], dtype=torch.float64)
    assert_close(latent_coordinate(shapes, shape, points), [0.0, 1.0, 2.0, NAN])
    assert_close(latent_coordinate(value, hue, points), [0.0, 1.0, 0.0, NAN])


def test_latent_coordinate_keeps_values_it_cannot_place():
    value = torch.tensor([0.3, 7.0], dtype=torch.float64)
    one = FactorSpec("floor", "segment", (5.0,))  # one grid value: no range
    bare = FactorSpec("mass", "segment")  # no grid values at all
    for spec in (one, bare):
        assert torch.equal(latent_coordinate(value, spec, Segment()), value)


def test_latent_labels_maps_the_mapped_columns_only():
    specs = (
        FactorSpec("hue", "loop", (0.0, 0.5), 1.0),
        FactorSpec("x", "segment", (0.0, 1.0)),
        FactorSpec("y", "segment", (0.0, 1.0)),
    )
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25)")
    labels = torch.tensor([[0.5, 1.0, 0.25], [NAN, NAN, NAN]], dtype=torch.float64)
    mapped = latent_labels(labels, specs, space, {0: 0, 1: 1})
    assert_close(mapped, [[math.pi, 2.0, 0.25], [NAN, NAN, NAN]])
    with pytest.raises(ValueError, match="labels have 3 columns, the data 2 factors"):
        latent_labels(labels, specs[:2], space, {0: 0})


def test_a_loop_s_turns_go_once_round_a_segment_and_fold_by_its_symmetry():
    hue = FactorSpec("hue", "loop", (0.0, 0.5), 1.0)
    # continuous values up to a period past the grid's start: once round, not the grid's range
    turns = torch.tensor([0.25, 0.99, 1.25], dtype=torch.float64)
    assert_close(latent_coordinate(turns, hue, Segment(half_length=2.0)), [-1.0, 1.96, -1.0])
    square = FactorSpec("angle", "loop", (0.0, math.pi / 2), 2 * math.pi, symmetry=4)
    quarter = torch.tensor([0.0, math.pi / 2], dtype=torch.float64)
    ring = latent_coordinate(quarter, square, Loop(), fold=square.symmetry)
    assert_close(torch.cos(ring), [1.0, 1.0])  # a quarter turn of a square: the same target


def test_symmetry_given_folds_each_row_by_the_factor_it_names():
    specs = (
        FactorSpec("shape", "points", (0.0, 1.0, 2.0)),
        FactorSpec(
            "angle", "loop", (0.0, math.pi), 2 * math.pi, symmetry_given=("shape", (4, 2, 1))
        ),
    )
    labels = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], dtype=torch.float64)
    assert_close(image_folds(labels, specs, 1), [4.0, 2.0, 1.0])
    space = ProductSpace.parse("points(3, 3.0, 0.5) * loop(3, 0.5)")
    mapped = latent_labels(labels, specs, space, {0: 0, 1: 1})
    assert_close(mapped, [[0.0, 4.0], [1.0, 2.0], [2.0, 1.0]])


def test_the_trainer_s_labels_are_pulled_in_the_latent_coordinates(tmp_path):
    """After prepare, a call takes the data's values: a hue of 0.25 (a quarter turn) pulls the
    ring code toward (0, 3), not toward 0.25 rad; x = 1 toward the segment's end, 2."""
    torch.manual_seed(0)
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25)")
    model = build_vae(space, "burgess", (3, 32, 32), width=4)
    dataset = get_dataset("sprites", image_size=32, factor_sizes=(1, 1, 1, 4, 2, 1))
    objective = get_objective("product", labelled_fraction=1.0, label_map={3: 0, 4: 1})
    objective.check_model(model)
    objective.prepare(dataset, space, torch.Generator().manual_seed(0))
    x = dataset.images_from_factors(torch.tensor([[0, 0, 0, 1, 1, 0]])).float() / 255
    labels = torch.tensor([[0.0, 0.5, 0.0, 0.25, 1.0, 0.0]], dtype=torch.float64)
    mapped = torch.tensor([[math.pi / 2, 2.0]], dtype=torch.float64)
    assert_close(latent_labels(labels, dataset.spec, space, {3: 0, 4: 1})[:, [3, 4]], mapped)
    _, logs = objective(model, x, 0, labels)
    with torch.no_grad():
        mu = model.encode(x).mu
    expected = supervised_pull(space, mu, mapped, {0: 0, 1: 1})
    # the same float32 sums of a few squares of codes of size ~3
    assert logs["supervised"] == pytest.approx(expected.item(), rel=float_tol(torch.float32, 1, 8))
    raw = supervised_pull(space, mu, labels[:, [3, 4]], {0: 0, 1: 1})
    assert abs(raw.item() - expected.item()) > 0.1  # the raw values would pull elsewhere


@pytest.mark.parametrize(
    ("label_map", "message"),
    [
        ({6: 0}, "column 6 is not a factor of the data"),
        ({-1: 0}, "column -1 is not a factor of the data"),
        ({0: 0}, r"column 0 \(shape\) takes one value"),
    ],
)
def test_a_label_column_the_data_cannot_give_is_named(label_map, message):
    space = ProductSpace.parse("loop(3, 0.5)")
    dataset = get_dataset("sprites", image_size=32, factor_sizes=(1, 1, 1, 4, 2, 1))
    objective = get_objective("product", labelled_fraction=1.0, label_map=label_map)
    with pytest.raises(ValueError, match=message):
        objective.prepare(dataset, space, torch.Generator().manual_seed(0))


def test_more_values_than_points_is_named():
    space = ProductSpace.parse("points(2, 3.0, 0.5)")
    dataset = get_dataset("sprites", image_size=32, factor_sizes=(3, 1, 1, 1, 1, 1))
    objective = get_objective("product", labelled_fraction=1.0, label_map={0: 0})
    with pytest.raises(ValueError, match=r"column 0 \(shape\) takes 3 values, latent factor 0"):
        objective.prepare(dataset, space, torch.Generator().manual_seed(0))
