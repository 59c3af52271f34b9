"""ProductSpace: structure, per-factor maps, the one-line grammar and configs."""

import pytest
import torch

from prodvae.spaces import (
    Euclidean,
    Loop,
    PointSet,
    ProductSpace,
    Segment,
    Tilted,
    make_factor,
    parse_space,
)


@pytest.fixture
def space():
    return ProductSpace([Loop(3.0, 0.5), Segment(1.0, 0.2), PointSet(4, 2.0, 0.3), Euclidean(2)])


def test_structure(space):
    assert space.dim == 6 and space.num_factors == 4 and space.logvar_dim == 5
    assert space.slices == (slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 6))
    z = torch.randn(5, 6)
    parts = space.split(z)
    assert [p.shape[1] for p in parts] == [2, 1, 1, 2]
    assert torch.equal(space.join(parts), z)


def test_per_factor_results_are_stacked(space):
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 6, generator=generator)
    logvar = space.expand_logvar(torch.randn(5, 5, generator=generator))
    kl = space.kl(mu, logvar)
    assert kl.shape == (5, 4)
    for i, (factor, s) in enumerate(zip(space.factors, space.slices)):
        assert torch.allclose(kl[:, i], factor.kl(mu[:, s], logvar[:, s]))
    assert space.energy(mu).shape == (5, 4) and space.log_prob(mu).shape == (5, 4)


def test_kl_takes_one_divergence_per_factor(space):
    mu, logvar = torch.randn(5, 6), torch.zeros(5, 6)

    def squared_mean(factor, mu_f, logvar_f):
        return (mu_f * mu_f).sum(-1) * factor.dim

    kl = space.kl(mu, logvar, divergences=[squared_mean] * 4)
    expected = [(mu[:, s] ** 2).sum(-1) * f.dim for f, s in zip(space.factors, space.slices)]
    assert torch.equal(kl, torch.stack(expected, dim=-1))
    with pytest.raises(ValueError, match="expected 4 divergences, got 1"):
        space.kl(mu, logvar, divergences=[squared_mean])
    assert torch.allclose(
        space.log_prob(mu).sum(-1),
        (-space.energy(mu)).sum(-1) - sum(f.log_normalizer() for f in space.factors),
    )


def test_expand_logvar_repeats_isotropic_factors(space):
    logvar = torch.arange(5.0).reshape(1, 5)
    assert space.expand_logvar(logvar).tolist() == [[0.0, 0.0, 1.0, 2.0, 3.0, 4.0]]


def test_sample_project_and_coordinates(space):
    z = space.sample(11, torch.Generator().manual_seed(1))
    assert z.shape == (11, 6)
    coordinates = space.coordinates(z)
    assert [c.shape for c in coordinates] == [(11,), (11,), (11,), (11, 2)]
    projected = space.project(z)
    assert torch.allclose(projected[:, :2].norm(dim=-1), torch.full((11,), 3.0))


def test_traverse_moves_one_factor_and_holds_the_others(space):
    base = torch.tensor([0.0, 3.0, 0.5, 2.0, 0.1, -0.2], dtype=torch.float64)
    path = space.traverse(0, 8, base)
    assert path.shape == (8, 6)
    assert torch.equal(path[:, 2:], base[2:].expand(8, -1))
    assert torch.equal(path[0], path[-1])
    points = space.traverse(2, 8)
    assert points.shape == (4, 6) and points[:, 3].tolist() == [-3.0, -1.0, 1.0, 3.0]
    with pytest.raises(ValueError, match="factor_index"):
        space.traverse(4, 8)


def test_parse_the_one_line_grammar():
    space = parse_space("loop(3, 0.5) * segment(half_length=1) * points(4)^2 × euclidean(2)")
    assert space.factors == (
        Loop(3.0, 0.5),
        Segment(half_length=1.0),
        PointSet(4),
        PointSet(4),
        Euclidean(2),
    )
    assert parse_space("tilted") == ProductSpace([Tilted()])


@pytest.mark.parametrize(
    "text, message",
    [
        ("cube(3)", "unknown factor kind 'cube'"),
        ("loop(radius=-1)", "radius"),
        ("loop(3, width=0)", "width"),
        ("points(1)", "num_points"),
        ("loop(3) * ", "cannot parse"),
        ("loop(1, 2, 3)", "at most 2"),
        ("loop(foo)", "cannot read value"),
        ("loop(colour=1)", "unknown option.s. colour; valid options: "),
    ],
)
def test_parse_errors_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_space(text)


def test_config_round_trip(space):
    config = space.to_config()
    assert config[0] == {"kind": "loop", "radius": 3.0, "width": 0.5}
    assert ProductSpace.from_config(config) == space
    with pytest.raises(ValueError, match="kind"):
        ProductSpace.from_config([{"radius": 3}])


def test_map_and_replace_factor_leave_the_original_alone(space):
    wide = space.map(lambda f: f.replace(width=2.0) if "width" in f.params() else f)
    assert wide.factors[0].width == 2.0 and space.factors[0].width == 0.5
    swapped = space.replace_factor(1, make_factor("segment", half_length=5.0))
    assert swapped.factors[1].half_length == 5.0 and space.factors[1].half_length == 1.0


def test_split_refuses_the_wrong_width(space):
    with pytest.raises(ValueError, match=r"\[batch, 6\]"):
        space.split(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="parts"):
        space.join([torch.zeros(3, 2)])


@pytest.mark.parametrize(
    "build, name, value",
    [
        (lambda: Loop(radius=-1.0), "radius", "-1.0"),
        (lambda: Loop(width=0.0), "width", "0.0"),
        (lambda: Segment(width=-0.5), "width", "-0.5"),
        (lambda: Segment(half_length=-2.0), "half_length", "-2.0"),
        (lambda: PointSet(num_points=1), "num_points", "1"),
        (lambda: PointSet(spacing=0.0), "spacing", "0.0"),
        (lambda: PointSet(width=float("nan")), "width", "nan"),
        (lambda: Tilted(tau=-1.0), "tau", "-1.0"),
        (lambda: Tilted(dim=0), "dim", "0"),
        (lambda: Euclidean(dim=2.5), "dim", "2.5"),
    ],
)
def test_invalid_parameters_name_parameter_and_value(build, name, value):
    with pytest.raises(ValueError, match=rf"{name}.*{value}"):
        build()


def test_describe_is_the_line_parse_reads_back():
    space = ProductSpace.parse(
        "loop(3, 0.5)^2 * segment * points(4) * euclidean(2) * loop(2, 0.1) * tilted(3)"
    )
    line = space.describe()
    assert line.startswith("loop(radius=3.0, width=0.5)^2 * segment(")
    assert ProductSpace.parse(line) == space
