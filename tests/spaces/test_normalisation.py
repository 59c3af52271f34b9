"""Every prior's log_prob integrates to one (scipy quadrature, independent of our formulas)."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special
from tests.tolerances import QUAD_TARGET, float_tol

from prodvae.spaces import Euclidean, Loop, PointSet, Segment, Tilted


def density_1d(factor, x: float) -> float:
    z = torch.tensor([[x]], dtype=torch.float64)
    return math.exp(factor.log_prob(z).item())


def around(points, width: float) -> list[float]:
    """Break points that resolve a feature of size ``width`` at each of ``points``."""
    return [p + d * width for p in points for d in (-8, -5, -3, -1, 0, 1, 3, 5, 8)]


def integrate_1d(factor, centre: float, scale: float, breakpoints=()) -> tuple[float, float]:
    """∫ p over R: quad on a finite window covering all the mass, with break points.
    Returns the mass and the error quad aims at (QUAD_TARGET per piece)."""
    lo, hi = centre - 40 * scale, centre + 40 * scale
    edges = [lo, *sorted(p for p in breakpoints if lo < p < hi), hi]
    pieces = [
        integrate.quad(lambda x: density_1d(factor, x), a, b, limit=200)[0]
        for a, b in zip(edges[:-1], edges[1:])
    ]
    return sum(pieces), len(pieces) * QUAD_TARGET


@pytest.mark.parametrize(
    "factor",
    [
        PointSet(num_points=2, spacing=3.0, width=0.5),
        PointSet(num_points=5, spacing=1.0, width=0.01),
        PointSet(num_points=3, spacing=4.0, width=10.0),
    ],
)
def test_point_set_integrates_to_one(factor):
    wells = factor.points.tolist()
    extent = max(abs(w) for w in wells) + factor.width
    breaks = around(wells, factor.width)
    mass, error = integrate_1d(factor, 0.0, extent, breaks)
    assert mass == pytest.approx(1.0, abs=error)


@pytest.mark.parametrize(
    "half_length, width", [(2.0, 0.25), (0.0, 1.0), (1.0, 0.01), (0.5, 10.0), (100.0, 0.1)]
)
def test_segment_integrates_to_one(half_length, width):
    factor = Segment(half_length=half_length, width=width)
    scale = half_length + width
    breaks = around([-half_length, half_length], width)
    mass, error = integrate_1d(factor, 0.0, scale, breaks)
    assert mass == pytest.approx(1.0, abs=error)


@pytest.mark.parametrize("tau", [0.0, 0.7, 3.0, 25.0])
def test_tilted_1d_integrates_to_one(tau):
    factor = Tilted(dim=1, tau=tau)
    breaks = around([-tau, 0.0, tau], 1.0)
    mass, error = integrate_1d(factor, 0.0, tau + 1.0, breaks)
    assert mass == pytest.approx(1.0, abs=error)


def radial_mass(factor, dim: int, scale: float, peak: float) -> tuple[float, float]:
    """∫_{R^d} p = |S^{d-1}| ∫_0^∞ r^{d-1} p(r e₁) dr for a radially symmetric density.
    Returns the mass and the error quad aims at (QUAD_TARGET, times the sphere's area)."""
    sphere_area = 2 * math.pi ** (dim / 2) / special.gamma(dim / 2)

    def integrand(r: float) -> float:
        z = torch.zeros(1, dim, dtype=torch.float64)
        z[0, 0] = r
        return r ** (dim - 1) * math.exp(factor.log_prob(z).item())

    upper = peak + 40 * scale
    total, _ = integrate.quad(integrand, 0.0, upper, points=[peak], limit=500)
    return sphere_area * total, sphere_area * QUAD_TARGET


@pytest.mark.parametrize(
    "radius, width", [(3.0, 0.5), (0.0, 1.0), (1.0, 0.01), (2.0, 10.0), (100.0, 0.5)]
)
def test_loop_integrates_to_one(radius, width):
    mass, error = radial_mass(Loop(radius=radius, width=width), 2, width, radius)
    assert mass == pytest.approx(1.0, abs=error)


@pytest.mark.parametrize("dim", [2, 3, 10])
@pytest.mark.parametrize("tau", [0.0, 1.0, 5.0, 30.0])
def test_tilted_integrates_to_one(dim, tau):
    factor = Tilted(dim=dim, tau=tau)
    peak = 0.5 * (tau + math.sqrt(tau * tau + 4 * (dim - 1)))
    mass, error = radial_mass(factor, dim, 1.0, peak)
    assert mass == pytest.approx(1.0, abs=error)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_euclidean_integrates_to_one(dim):
    mass, error = radial_mass(Euclidean(dim), dim, 1.0, 0.0)
    assert mass == pytest.approx(1.0, abs=error)


def test_loop_on_a_cartesian_grid():
    """A grid over the plane, not relying on radial symmetry."""
    factor = Loop(radius=2.0, width=0.3)
    axis = np.linspace(-5.0, 5.0, 1001)
    x, y = np.meshgrid(axis, axis)
    z = torch.from_numpy(np.stack([x.ravel(), y.ravel()], axis=1))
    density = factor.log_prob(z).exp().numpy().reshape(x.shape)
    mass = integrate.trapezoid(integrate.trapezoid(density, axis, axis=1), axis)
    # the trapezoid rule is spectrally accurate on a smooth density that has decayed at the
    # grid's edge (spacing w / 30): what is left is rounding, two float64 sums of 1001 terms
    assert mass == pytest.approx(1.0, abs=float_tol(np.float64, 1.0, 2 * axis.size))


@pytest.mark.parametrize("radius, width", [(3.0, 0.5), (1.0, 0.05), (0.2, 2.0)])
def test_loop_normaliser_matches_the_direct_formula(radius, width):
    """Z = 2π [w² e^{-r²/2w²} + r w √(π/2) (1 + erf(r / (w√2)))] (REFERENCE.md §1)."""
    direct = (
        2
        * math.pi
        * (
            width**2 * math.exp(-(radius**2) / (2 * width**2))
            + radius
            * width
            * math.sqrt(math.pi / 2)
            * (1 + math.erf(radius / (width * math.sqrt(2))))
        )
    )
    # two float64 formulas, a handful of roundings each; ours cancels tau² / 2 = r² / 2w²
    # (200 for r / w = 20) against the log of the radial integral
    rounding = float_tol(np.float64, abs(math.log(direct)) + radius**2 / (2 * width**2), 16)
    assert Loop(radius=radius, width=width).log_normalizer() == pytest.approx(
        math.log(direct), abs=rounding
    )


@pytest.mark.parametrize("tau", [0.3, 2.0, 6.0])
def test_tilted_normaliser_matches_the_hypergeometric_formula(tau):
    """Z_τ = 1F1(d/2; ½; τ²/2) + τ√2 Γ((d+1)/2)/Γ(d/2) 1F1((d+1)/2; 3/2; τ²/2) (REFERENCE.md §1)."""
    for dim in (1, 2, 3, 7):
        mgf = special.hyp1f1(dim / 2, 0.5, tau**2 / 2) + tau * math.sqrt(2) * math.exp(
            special.gammaln((dim + 1) / 2) - special.gammaln(dim / 2)
        ) * special.hyp1f1((dim + 1) / 2, 1.5, tau**2 / 2)
        expected = math.log(mgf) + 0.5 * dim * math.log(2 * math.pi) - 0.5 * tau**2
        # log mgf cancels against tau² / 2: rounding of terms of that size, scipy's series
        # (and ours, summed in log space) a few dozen roundings each
        size = 0.5 * tau**2 + abs(expected)
        rounding = float_tol(np.float64, size, 64)
        assert Tilted(dim=dim, tau=tau).log_normalizer() == pytest.approx(expected, abs=rounding)
