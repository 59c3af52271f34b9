import pytest

from prodvae.objectives import Ramp, get_objective
from prodvae.objectives.annealing import anneal_space
from prodvae.objectives.schedules import SHAPES
from prodvae.spaces import Loop, PointSet, ProductSpace, Segment, Tilted


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_ramps_hit_their_endpoints_and_stay(shape):
    ramp = Ramp(4.0, 1.0, 100, shape)
    assert ramp(0) == pytest.approx(4.0)
    assert ramp(100) == ramp(10**6) == 1.0
    values = [ramp(t) for t in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # monotone


def test_ramp_midpoints():
    assert Ramp(0.0, 2.0, 10)(5) == pytest.approx(1.0)
    assert Ramp(4.0, 1.0, 10, "geometric")(5) == pytest.approx(2.0)
    assert Ramp(4.0, 0.0, 10, "cosine")(5) == pytest.approx(2.0)
    assert Ramp(3.0, 1.0, 0)(0) == 1.0


def test_a_ramp_with_a_period_restarts_and_stays_at_its_end_between_restarts():
    ramp = Ramp(3.0, 1.0, 100, "geometric", period=250)
    once = Ramp(3.0, 1.0, 100, "geometric")
    for step in range(1000):
        assert ramp(step) == once(step % 250)
    assert ramp(250) == ramp(500) == pytest.approx(3.0)
    assert ramp(249) == ramp(350) == 1.0
    assert Ramp(3.0, 1.0, 100, period=100)(150) == pytest.approx(Ramp(3.0, 1.0, 100)(50))


def test_bad_ramps_fail_clearly():
    with pytest.raises(ValueError, match="shape"):
        Ramp(1.0, 0.0, 10, "exponential")
    with pytest.raises(ValueError, match="positive"):
        Ramp(1.0, 0.0, 10, "geometric")
    with pytest.raises(ValueError, match="step"):
        Ramp(1.0, 0.0, 10)(-1)
    with pytest.raises(ValueError, match="period"):
        Ramp(1.0, 0.0, 10, period=5)
    with pytest.raises(ValueError, match="period"):
        Ramp(1.0, 0.0, 10, period=-1)


SPACE = ProductSpace([Loop(3.0, 0.5), Segment(2.0, 0.25), PointSet(3, 3.0, 0.5), Tilted(2, 5.0)])


def test_product_schedule_endpoints():
    objective = get_objective("product", warmup_steps=50, anneal_factor=3.0, anneal_steps=200)
    assert objective.schedule(0) == {"beta_scale": 0.0, "width_scale": pytest.approx(3.0)}
    assert objective.schedule(200) == {"beta_scale": 1.0, "width_scale": 1.0}
    assert objective.space_at(SPACE, 10**6) == SPACE
    start = objective.space_at(SPACE, 0)
    loop, segment, points, tilted = start.factors
    assert loop.width == pytest.approx(1.5)  # radius / width = 2: the ring keeps its hole
    assert segment.width == pytest.approx(0.75)
    assert points.width == pytest.approx(1.5)  # wells 3 apart merge into one basin
    assert tilted.tau == pytest.approx(2.0)  # 5 / 3 would be below min_ring_ratio
    assert loop.radius == 3.0
    mild = get_objective("product", anneal_factor=2.0, anneal_steps=200).space_at(SPACE, 0)
    assert mild.factors[3].tau == pytest.approx(2.5)


def test_cyclical_shape_annealing_restarts_and_each_cycle_ends_on_the_target():
    objective = get_objective("product", anneal_factor=3.0, anneal_steps=200, anneal_cycle=500)
    for start in (0, 500, 1000):
        assert objective.schedule(start)["width_scale"] == pytest.approx(3.0)
        assert objective.space_at(SPACE, start).factors[0].width == pytest.approx(1.5)
        assert objective.space_at(SPACE, start + 200) == SPACE
        assert objective.space_at(SPACE, start + 499) == SPACE
    once = get_objective("product", anneal_factor=3.0, anneal_steps=200)
    assert [objective.schedule(t) for t in range(500)] == [once.schedule(t) for t in range(500)]


def test_rings_are_never_widened_past_the_hole():
    wide = anneal_space(SPACE, 100.0, min_ring_ratio=2.0)
    loop, _, _, tilted = wide.factors
    assert loop.width == pytest.approx(1.5)
    assert loop.radius == 3.0
    assert tilted.tau == pytest.approx(2.0)
    # A target ring that is already wider than the cap is left at its target.
    fat = anneal_space(ProductSpace([Loop(1.0, 1.0)]), 10.0, min_ring_ratio=2.0)
    assert fat.factors[0].width == pytest.approx(1.0)


def test_annealed_vae_capacity_endpoints():
    objective = get_objective("annealed_vae", capacity_max=20.0, capacity_steps=1000)
    assert objective.schedule(0) == {"capacity": 0.0}
    assert objective.schedule(500) == {"capacity": pytest.approx(10.0)}
    assert objective.schedule(1000) == objective.schedule(5000) == {"capacity": 20.0}
