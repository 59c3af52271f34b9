"""Weak-supervision pairs drawn from the rows of a labelled file that is not a grid."""

import math

import numpy as np
import pytest
import torch
from tests.data.labelled_files import objects_at_angles, write_labelled_file
from tests.tolerances import monte_carlo_tol

from prodvae.data import check_pairs, from_file, get_dataset, sample_pair_factors, sample_pairs
from prodvae.data.grid import column_levels
from prodvae.data.matching import distinct_values, factor_levels
from prodvae.data.pairs import _changed_mask, row_pairs
from prodvae.data.row_pairs import RowPairs
from prodvae.data.spec import FactorSpec

KINDS = ("points", "loop", "segment")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "photos.npz"
    return from_file(
        write_labelled_file(path, objects_at_angles(), KINDS, periods={1: 2 * math.pi})
    )


def distance(a, b, period=None):
    gap = np.abs(a - b)
    return gap if period is None else np.minimum(gap % period, period - gap % period)


def factor_distances(dataset, pair):
    """``[n, K]`` distances between the two items' factor values (circular for loops)."""
    a, b = (dataset.factors_at(rows.numpy()).numpy() for rows in (pair.rows1, pair.rows2))
    return np.stack([distance(a[:, k], b[:, k], s.period) for k, s in enumerate(dataset.spec)], 1)


@pytest.mark.parametrize("num_changed", [1, 2, None])
def test_pairs_share_the_unchanged_factors_and_differ_in_the_changed(photos, num_changed):
    assert not photos.is_grid
    index = row_pairs(photos)
    generator = torch.Generator().manual_seed(0)
    changed = _changed_mask(500, torch.tensor(index.changeable), num_changed, generator)
    pair = index.sample(changed, generator)
    gaps, changed = factor_distances(photos, pair), changed.numpy()
    tolerance = np.array(index.tolerance)
    assert tolerance[0] == 0.0 and tolerance[2] < 0.25 and tolerance[1] < 2 * math.pi / 4
    assert (gaps[~changed] <= np.broadcast_to(tolerance, gaps.shape)[~changed] + 1e-12).all()
    assert (gaps[changed] > 0).all()
    codes = np.stack([level.codes for level in index.levels], axis=1)
    first, second = (codes[rows.numpy()] for rows in (pair.rows1, pair.rows2))
    assert np.array_equal(first != second, changed)  # another level, not just another value
    assert np.array_equal(pair.changed.numpy(), changed)  # the pair says what it changes


def test_sample_pairs_draws_from_the_rows_of_a_file(photos):
    pair = sample_pairs(photos, 300, 1, torch.Generator().manual_seed(1))
    gaps = factor_distances(photos, pair)
    beyond = gaps > np.array(row_pairs(photos).tolerance) + 1e-12
    assert (beyond.sum(axis=1) <= 1).all() and (gaps.max(axis=1) > 0).all()
    assert pair.rows1.dtype == torch.long and pair.rows1.shape == (300,)
    # each pair names the one factor it changes; the others are kept within tolerance
    assert pair.changed.dtype == torch.bool and (pair.changed.sum(1) == 1).all()
    assert not beyond[~pair.changed.numpy()].any() and (gaps[pair.changed.numpy()] > 0).all()


def test_pairs_are_a_function_of_the_generator(photos):
    a, b, c = (sample_pairs(photos, 64, None, torch.Generator().manual_seed(s)) for s in (3, 3, 4))
    assert torch.equal(a.rows1, b.rows1) and torch.equal(a.rows2, b.rows2)
    assert not torch.equal(a.rows1, c.rows1)


def test_every_factor_changes(photos):
    pair = sample_pairs(photos, 600, 1, torch.Generator().manual_seed(2))
    gaps = factor_distances(photos, pair)
    assert ((gaps > np.array(row_pairs(photos).tolerance) + 1e-12).sum(axis=0) > 100).all()


def test_a_loop_is_binned_on_the_circle():
    """Values either side of 0 share a bin, whose spread is their circular distance."""
    spec = FactorSpec("angle", "loop", values=(0.0,), period=1.0)
    values = np.array([0.97, 0.98, 0.99, 0.01, 0.02, 0.03, 0.47, 0.48, 0.49, 0.51, 0.52, 0.53])
    levels = factor_levels(distinct_values(values, spec), spec, max_levels=2)
    assert len(set(levels.codes[:6])) == 1 and len(set(levels.codes[6:])) == 1
    assert levels.codes[0] != levels.codes[6]
    assert levels.tolerance == pytest.approx(0.06)
    exact = factor_levels(distinct_values(values + 1.0, spec), spec, max_levels=None)
    assert np.array_equal(exact.codes, column_levels(values).indices)  # modulo the period


def test_a_periodic_factor_is_matched_across_the_wrap(tmp_path):
    """Object 0 is seen just below a full turn, object 1 just above 0 (2 and 3 either side
    of half a turn): the object changes only between rows matched across the wrap."""
    rng = np.random.default_rng(0)
    counts, centres, sides = (75, 125, 75, 125), (0.0, 0.0, 0.5, 0.5), (-1, 1, -1, 1)
    rows = [
        np.stack([np.full(n, k), (c + s * rng.uniform(0.0005, 0.01, n)) % 1.0], axis=1)
        for k, (n, c, s) in enumerate(zip(counts, centres, sides))
    ]
    path = write_labelled_file(
        tmp_path / "wrap.npz", np.concatenate(rows), ("points", "loop"), periods={1: 1.0}
    )
    dataset = from_file(path)
    pair = sample_pairs(dataset, 400, 1, torch.Generator().manual_seed(0))
    a, b = (dataset.factors_at(r.numpy()).numpy() for r in (pair.rows1, pair.rows2))
    new_object = a[:, 0] != b[:, 0]
    assert new_object.sum() > 100
    tolerance = row_pairs(dataset).tolerance[1]
    assert tolerance < 0.02
    assert (distance(a[new_object, 1], b[new_object, 1], 1.0) <= tolerance + 1e-12).all()
    across = np.abs(a[new_object, 1] - b[new_object, 1]) > 0.5
    assert across.sum() > 10  # one item just below a full turn, the other just above 0


def test_a_file_without_pairs_names_the_factors(tmp_path):
    rng = np.random.default_rng(0)
    objects = rng.integers(0, 6, 200).astype(np.float64)
    factors = np.stack([objects, objects * 10, rng.uniform(0, 1, 200)], axis=1)  # colour = object
    dataset = from_file(write_labelled_file(tmp_path / "tied.npz", factors, KINDS[:1] * 3))
    with pytest.raises(ValueError, match=r"factors 'f0', 'f1' never change alone:.*coarsely"):
        check_pairs(dataset, 1)
    with pytest.raises(ValueError, match="'f0', 'f1'"):
        sample_pairs(dataset, 4, 1, torch.Generator())


def test_a_label_unique_to_each_row_leaves_the_others_stuck(tmp_path):
    objects = np.random.default_rng(0).integers(0, 4, 50).astype(np.float64)
    factors = np.stack([objects, np.arange(50.0)], axis=1)  # f1: one label per row
    dataset = from_file(write_labelled_file(tmp_path / "ids.npz", factors, ("points",) * 2))
    with pytest.raises(ValueError, match="factor 'f0' never changes alone"):
        check_pairs(dataset, None)


def test_the_row_index_of_a_grid_pairs_like_the_grid():
    torus = get_dataset("torus", image_size=8, factor_sizes=(6, 5))
    index = RowPairs.build(torus.factors_at(np.arange(len(torus))).numpy(), torus.spec)
    assert index.max_levels is None and index.tolerance == (0.0, 0.0)
    generator = torch.Generator().manual_seed(0)
    changed = _changed_mask(3000, torch.tensor(index.changeable), 1, generator)
    pair = index.sample(changed, generator)
    cells = [np.stack(np.unravel_index(r.numpy(), (6, 5)), axis=1) for r in pair]
    assert np.array_equal(cells[0] != cells[1], changed.numpy())
    moved = changed[:, 0].numpy()
    shift = (cells[1][moved, 0] - cells[0][moved, 0]) % 6
    frequencies = np.bincount(shift, minlength=6) / shift.size  # uniform over the other values
    binomial = monte_carlo_tol(math.sqrt(0.2 * 0.8), shift.size)
    assert frequencies[0] == 0 and np.allclose(frequencies[1:], 0.2, rtol=0, atol=binomial)


def test_a_grid_keeps_its_own_pairs():
    torus = get_dataset("torus", image_size=8, factor_sizes=(6, 5))
    pair = sample_pairs(torus, 50, None, torch.Generator().manual_seed(3))
    cells = sample_pair_factors(torus, 50, None, torch.Generator().manual_seed(3))
    assert torch.equal(pair.rows1, torch.from_numpy(torus.rows_from_factors(cells.indices1)))
    assert torch.equal(pair.rows2, torch.from_numpy(torus.rows_from_factors(cells.indices2)))
    assert torch.equal(pair.changed, cells.indices1 != cells.indices2)
    assert (pair.changed.sum(1) == 1).all()  # num_changed None draws 1..K-1 factors, K = 2


@pytest.mark.parametrize("num_changed", [0, 4])
def test_an_impossible_num_changed_is_rejected_before_sampling(photos, num_changed):
    with pytest.raises(ValueError, match="num_changed"):
        check_pairs(photos, num_changed)


def test_factors_that_change_alone_but_never_together_fail_the_check(tmp_path):
    """f0 moves only between (0,0) and (1,0), f1 only between (2,1) and (2,2): a pair
    changing both is never reached one factor at a time."""
    factors = np.array([[0, 0], [1, 0], [2, 1], [2, 2]], dtype=np.float64)
    dataset = from_file(write_labelled_file(tmp_path / "l.npz", factors, ("points",) * 2))
    check_pairs(dataset, 1)
    with pytest.raises(ValueError, match=r"no pair changes the factors \['f0', 'f1'\] together"):
        check_pairs(dataset, 2)
