import numpy as np
import pytest

from prodvae.data.grid import column_levels, detect_grid, ravel_indices, unravel_flat


def full_product(sizes):
    axes = [np.arange(s, dtype=np.float64) * 0.1 for s in sizes]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def test_ravel_matches_hand_computed_strides():
    sizes = (3, 4, 5)
    indices = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [2, 3, 4]])
    assert ravel_indices(indices, sizes).tolist() == [0, 1, 5, 20, 59]


def test_unravel_inverts_ravel():
    sizes = (2, 7, 3)
    flat = np.arange(42)
    assert np.array_equal(ravel_indices(unravel_flat(flat, sizes), sizes), flat)


@pytest.mark.parametrize("bad", [[[0, 0, 3]], [[-1, 0, 0]]])
def test_ravel_rejects_out_of_range(bad):
    with pytest.raises(ValueError, match="out of range"):
        ravel_indices(np.array(bad), (2, 2, 3))


def test_ravel_rejects_wrong_width():
    with pytest.raises(ValueError, match="shape"):
        ravel_indices(np.zeros((4, 2), dtype=int), (2, 2, 3))


def test_detect_grid_in_storage_order():
    grid = detect_grid(full_product((3, 2, 4)))
    assert grid is not None and grid.sizes == (3, 2, 4) and grid.rows is None


def test_detect_grid_in_shuffled_order_maps_cells_to_rows():
    factors = full_product((3, 2, 4))
    order = np.random.default_rng(0).permutation(len(factors))
    shuffled = factors[order]
    grid = detect_grid(shuffled)
    assert grid is not None and grid.sizes == (3, 2, 4)
    cells = np.array([[2, 1, 3], [0, 0, 0], [1, 0, 2]])
    rows = grid.rows_of(cells)
    assert np.allclose(shuffled[rows], cells * 0.1)


def test_detect_grid_tolerates_float_noise():
    factors = full_product((2, 3))
    factors[:, 1] += np.random.default_rng(1).normal(0, 1e-12, size=len(factors))
    assert detect_grid(factors).sizes == (2, 3)


def test_missing_or_duplicated_cell_is_not_a_grid():
    factors = full_product((2, 3))
    assert detect_grid(factors[:-1]) is None
    duplicated = factors.copy()
    duplicated[-1] = duplicated[0]
    assert detect_grid(duplicated) is None


def test_column_levels_round_rather_than_compare():
    levels = column_levels(np.array([0.1 + 0.2, 0.3, 0.7]))
    assert levels.values.size == 2
    assert levels.indices.tolist() == [0, 0, 1]
