"""The factor contract, checked for every registered factor type (a new one is covered too)."""

import dataclasses

import pytest
import torch
from tests.tolerances import float_tol

from prodvae.spaces import FACTORS, GROUND_TRUTH, KINDS, Factor, make_factor, register_factor

NAMES = sorted(FACTORS)


@pytest.fixture(params=NAMES)
def factor(request):
    return make_factor(request.param)


def batch(factor, n=7, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(n, factor.dim, generator=generator).to(dtype)


def test_registry_names_every_kind():
    assert {"points", "segment", "loop", "euclidean", "tilted"} <= set(FACTORS)
    for name, cls in FACTORS.items():
        assert cls.name == name and cls.topology


def test_shapes_and_dtypes(factor):
    for dtype in (torch.float32, torch.float64):
        z = batch(factor, dtype=dtype)
        logvar = torch.full((7, factor.logvar_dim), -1.0, dtype=dtype)
        logvar = logvar.expand(-1, factor.dim) if factor.logvar_dim == 1 else logvar
        assert factor.energy(z).shape == (7,) and factor.energy(z).dtype == dtype
        assert factor.log_prob(z).shape == (7,) and factor.log_prob(z).dtype == dtype
        assert factor.kl(z, logvar).shape == (7,) and factor.kl(z, logvar).dtype == dtype
        assert factor.project(z).shape == (7, factor.dim)
        sample = factor.sample(5, torch.Generator().manual_seed(0), dtype=dtype)
        assert sample.shape == (5, factor.dim) and sample.dtype == dtype
        coordinate = factor.coordinate(z)
        assert coordinate.shape[0] == 7
        expected = (7,) if factor.topology in ("points", "segment", "loop") else (7, factor.dim)
        assert coordinate.shape == expected


def test_logvar_may_be_one_column(factor):
    z = batch(factor, dtype=torch.float64)
    one = torch.full((7, 1), -0.5, dtype=torch.float64)
    assert torch.allclose(factor.kl(z, one), factor.kl(z, one.expand(-1, factor.dim)))


def test_log_prob_is_minus_energy_minus_log_normaliser(factor):
    z = batch(factor, dtype=torch.float64)
    expected = -factor.energy(z) - factor.log_normalizer()
    assert torch.allclose(factor.log_prob(z), expected)


def test_projection_lies_on_the_low_energy_set(factor):
    z = batch(factor, dtype=torch.float64)
    projected = factor.project(z)
    assert torch.allclose(factor.project(projected), projected)
    # float64 energies, each a few roundings of terms no larger than the largest of them
    rounding = float_tol(torch.float64, factor.energy(z).abs().max().item(), 16)
    assert (factor.energy(projected) <= factor.energy(z) + rounding).all()


def test_traversal_follows_the_topology(factor):
    path = factor.traverse(9)
    assert path.dim() == 2 and path.shape[1] == factor.dim
    if factor.topology != "euclidean":  # a Gaussian's traversal sweeps ±2σ instead
        # points of the set, projected again: moved by a few roundings of their size
        rounding = float_tol(path.dtype, path.abs().max().item(), 8)
        assert torch.allclose(factor.project(path), path, rtol=0, atol=rounding)
    if factor.topology in ("loop", "sphere") and factor.dim >= 2:
        assert torch.equal(path[0], path[-1])  # a loop closes on itself
        assert len({tuple(p.tolist()) for p in path[:-1]}) == len(path) - 1
    if factor.topology == "points":
        assert torch.equal(factor.coordinate(path), torch.arange(path.shape[0]))
    if factor.topology == "segment":
        assert path[0, 0] == -factor.half_length and path[-1, 0] == factor.half_length


def test_sampling_is_deterministic_given_a_generator(factor):
    first = factor.sample(50, torch.Generator().manual_seed(3))
    second = factor.sample(50, torch.Generator().manual_seed(3))
    other = factor.sample(50, torch.Generator().manual_seed(4))
    assert torch.equal(first, second) and not torch.equal(first, other)


def test_factors_are_immutable_and_replace_returns_a_validated_copy(factor):
    params = factor.params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(factor, next(iter(params)), 1)
    key = "width" if "width" in params else next(iter(params))
    value = params[key] * 2 if not isinstance(params[key], bool) else params[key]
    changed = factor.replace(**{key: value})
    assert changed.params()[key] == value and factor.params() == params
    with pytest.raises(ValueError, match=key):
        factor.replace(**{key: -1})


def test_kl_gradients_are_finite(factor):
    mu = batch(factor).requires_grad_(True)
    logvar = torch.zeros(7, factor.dim, requires_grad=True)
    factor.kl(mu, logvar).sum().backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(logvar.grad).all()


def test_wrong_input_shapes_are_refused(factor):
    wrong = torch.zeros(3, factor.dim + 1)
    with pytest.raises(ValueError, match="shape"):
        factor.energy(wrong)
    with pytest.raises(ValueError, match="logvar"):
        factor.kl(torch.zeros(3, factor.dim), torch.zeros(4, factor.dim))


def test_the_reading_names_a_kind_per_code_column(factor):
    reading = factor.reading
    z = batch(factor, dtype=torch.float64)
    if reading.columns == "angle":
        assert factor.dim >= 2 and reading.kinds == ("loop",)
    elif reading.columns == "direction":
        assert len(reading.kinds) == factor.dim
    else:
        assert factor.coordinate(z).reshape(7, -1).shape[1] == len(reading.kinds)
    assert set(reading.kinds) <= set(KINDS)


def test_annealing_returns_the_same_kind_and_k_one_changes_nothing(factor):
    assert factor.annealed(1.0, 2.0) == factor
    flat = factor.annealed(3.0, 2.0)
    assert type(flat) is type(factor) and flat.reading.kinds == factor.reading.kinds


def test_a_label_target_is_a_point_of_the_factor_or_a_clear_refusal(factor):
    value = torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64)
    try:
        target = factor.label_target(value)
    except ValueError as error:
        assert factor.name in str(error) or "dim 1" in str(error)
        return
    assert target.shape == (3, factor.dim) and target.dtype == value.dtype
    assert factor.label_width > 0


@pytest.mark.parametrize("kind", KINDS)
def test_every_ground_truth_kind_has_a_registered_model(kind):
    factor = Factor.for_ground_truth(kind, 5)
    assert type(factor) is FACTORS[factor.name] is GROUND_TRUTH[kind]
    assert factor.reading.kinds == (kind,)
    assert Factor.for_ground_truth("points", 5).num_points == 5


def test_ground_truth_kinds_are_checked_and_modelled_once():
    with pytest.raises(ValueError, match="unknown factor kind 'ring'"):
        Factor.for_ground_truth("ring", 3)
    with pytest.raises(ValueError, match="already modelled by 'loop'"):
        register_factor("another_loop", ground_truth="loop")(type("AnotherLoop", (Factor,), {}))
    assert "another_loop" not in FACTORS
