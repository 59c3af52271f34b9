"""The bring-your-own file format: round trips, grid detection and every malformed case."""

import json

import h5py
import numpy as np
import pytest
import torch

from prodvae.data import from_file, get_dataset
from prodvae.data.files import save_dataset, write_dataset

SPEC = [{"name": "a", "kind": "loop", "period": 1.0}, {"name": "b", "kind": "points"}]


def grid_arrays(order=None):
    a, b = np.meshgrid(np.arange(4) / 4, np.arange(3.0), indexing="ij")
    factors = np.stack([a.ravel(), b.ravel()], axis=1)
    images = np.random.default_rng(0).integers(0, 256, (12, 5, 6, 3), dtype=np.uint8)
    if order is not None:
        factors, images = factors[order], images[order]
    return images, factors


def write_h5(path, images, factors, spec=SPEC, skip=()):
    with h5py.File(path, "w") as handle:
        if "images" not in skip:
            handle["images"] = images
        if "factors" not in skip:
            handle["factors"] = factors
        if "factor_spec" not in skip:
            handle.attrs["factor_spec"] = spec if isinstance(spec, str) else json.dumps(spec)
    return path


def write_npz(path, images, factors, spec=SPEC, skip=()):
    arrays = {"images": images, "factors": factors}
    arrays["factor_spec"] = np.array(spec if isinstance(spec, str) else json.dumps(spec))
    np.savez(path, **{k: v for k, v in arrays.items() if k not in skip})
    return path


WRITERS = {"h5": write_h5, "npz": write_npz}


@pytest.mark.parametrize("suffix", ["h5", "npz"])
@pytest.mark.parametrize("lazy", [False, True])
def test_user_file_round_trip(tmp_path, suffix, lazy):
    images, factors = grid_arrays()
    dataset = from_file(WRITERS[suffix](tmp_path / f"d.{suffix}", images, factors), lazy=lazy)
    assert len(dataset) == 12 and dataset.image_shape == (3, 5, 6)
    assert [(f.name, f.kind, f.period) for f in dataset.spec] == [
        ("a", "loop", 1.0),
        ("b", "points", None),
    ]
    assert dataset.is_grid and dataset.factor_sizes == (4, 3)
    image, values = dataset[5]
    assert torch.equal(image, torch.from_numpy(images[5]).permute(2, 0, 1))
    assert torch.equal(values, torch.from_numpy(factors[5]))
    cell = torch.tensor([[3, 2], [0, 1]])
    assert torch.equal(
        dataset.factor_values(cell), torch.tensor([[0.75, 2.0], [0.0, 1.0]], dtype=torch.float64)
    )


def test_shuffled_rows_are_still_a_grid(tmp_path):
    order = np.random.default_rng(1).permutation(12)
    images, factors = grid_arrays(order)
    dataset = from_file(write_h5(tmp_path / "s.h5", images, factors))
    reference, _ = grid_arrays()
    picked = dataset.images_from_factors(torch.tensor([[1, 2], [3, 0]]))
    expected = torch.from_numpy(reference[[1 * 3 + 2, 3 * 3 + 0]]).permute(0, 3, 1, 2)
    assert torch.equal(picked, expected)


def test_incomplete_grid_is_not_a_grid(tmp_path):
    images, factors = grid_arrays()
    dataset = from_file(write_npz(tmp_path / "p.npz", images[:-1], factors[:-1]))
    assert not dataset.is_grid
    with pytest.raises(ValueError, match="full grid"):
        dataset.sample_factors(3)


@pytest.mark.parametrize("suffix", ["h5", "npz"])
def test_procedural_dataset_round_trips(tmp_path, suffix):
    torus = get_dataset("torus", image_size=16, factor_sizes=(5, 3))
    dataset = from_file(save_dataset(torus, tmp_path / f"t.{suffix}", batch_size=4))
    assert dataset.factor_sizes == torus.factor_sizes
    assert [f.period for f in dataset.spec] == [f.period for f in torus.spec]
    indices = torus.sample_factors(10, torch.Generator().manual_seed(0))
    assert torch.equal(dataset.images_from_factors(indices), torus.images_from_factors(indices))
    assert torch.allclose(dataset.factor_values(indices), torus.factor_values(indices))


def mutate(case):
    images, factors = grid_arrays()
    spec, skip = SPEC, ()
    if case == "no images":
        skip = ("images",)
    elif case == "no factors":
        skip = ("factors",)
    elif case == "no spec":
        skip = ("factor_spec",)
    elif case == "float images":
        images = images.astype(np.float32)
    elif case == "flat images":
        images = images.reshape(12, -1)
    elif case == "bool factors":
        factors = factors > 0
    elif case == "huge integer factors":
        factors = (factors * 2**60).astype(np.int64)
    elif case == "short factors":
        factors = factors[:-2]
    elif case == "nan factor":
        factors = factors.copy()
        factors[4, 1] = np.nan
    elif case == "spec count":
        spec = SPEC[:1]
    elif case == "unknown kind":
        spec = [SPEC[0], {"name": "b", "kind": "circle"}]
    elif case == "loop without period":
        spec = [{"name": "a", "kind": "loop"}, SPEC[1]]
    elif case == "bad json":
        spec = "[{"
    elif case == "typo key":
        spec = [SPEC[0], {"name": "b", "kind": "points", "peroid": 2}]
    elif case == "same name":
        spec = [SPEC[0], {"name": "a", "kind": "points"}]
    elif case == "repeated end":
        factors = factors.copy()
        factors[0, 0] = 1.0  # the loop at 0 in the other rows: one period on
    elif case.startswith("symmetry_given "):
        given = {
            "symmetry_given folds count": ["b", [4, 2]],
            "symmetry_given unknown factor": ["c", [4, 2, 1]],
            "symmetry_given itself": ["a", [1, 1, 1, 1]],
            "symmetry_given not integers": ["b", [4, 2.5, 1]],
            "symmetry_given a name alone": "b",
        }[case]
        spec = [{**SPEC[0], "symmetry_given": given}, SPEC[1]]
    return images, factors, spec, skip


CASES = {
    "no images": "'images'",
    "no factors": "'factors'",
    "no spec": "'factor_spec'",
    "float images": "uint8",
    "flat images": "shape",
    "bool factors": "float64",
    "huge integer factors": "beyond 2\\^53",
    "short factors": "shape",
    "nan factor": "NaN",
    "spec count": "names 1 factors but factors has 2",
    "unknown kind": "unknown factor kind 'circle'",
    "loop without period": "period",
    "bad json": "JSON",
    "typo key": "peroid",
    "same name": "factor_spec names 'a' twice",
    "repeated end": "loop factor 'a' \\(period 1\\) holds 0 and 1, a whole period apart",
    "symmetry_given folds count": "\\(a\\): symmetry_given lists 2 folds, but 'b' takes 3 values",
    "symmetry_given unknown factor": "\\(a\\): symmetry_given must be \\[name of another factor",
    "symmetry_given itself": "\\(a\\): symmetry_given must be",
    "symmetry_given not integers": "\\(a\\): symmetry_given must be",
    "symmetry_given a name alone": "\\(a\\): symmetry_given must be",
}


@pytest.mark.parametrize("suffix", ["h5", "npz"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_gives_one_clear_error(tmp_path, suffix, case):
    images, factors, spec, skip = mutate(case)
    path = WRITERS[suffix](tmp_path / f"bad.{suffix}", images, factors, spec, skip)
    with pytest.raises(ValueError, match=CASES[case]):
        from_file(path)


@pytest.mark.parametrize("suffix", ["h5", "npz"])
def test_truncated_file_is_reported(tmp_path, suffix):
    path = WRITERS[suffix](tmp_path / f"t.{suffix}", *grid_arrays())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        from_file(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "d.csv").write_text("x")
    with pytest.raises(ValueError, match="suffix '.csv'"):
        from_file(tmp_path / "d.csv")
    with pytest.raises(FileNotFoundError, match="no dataset file"):
        from_file(tmp_path / "missing.h5")


@pytest.mark.parametrize("suffix", ["h5", "npz"])
def test_failed_write_keeps_the_existing_file(tmp_path, suffix):
    path = WRITERS[suffix](tmp_path / f"keep.{suffix}", *grid_arrays())
    before = path.read_bytes()
    torus = get_dataset("torus", image_size=8, factor_sizes=(2, 2))

    def failing_batches():
        yield np.zeros((2, 8, 8, 3), np.uint8), np.zeros((2, 2))
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        write_dataset(path, torus.spec, 4, torus.image_shape, failing_batches())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_npz_with_pickled_objects_is_refused(tmp_path):
    images, factors = grid_arrays()
    path = tmp_path / "p.npz"
    np.savez(path, images=images, factors=factors, factor_spec=np.array([SPEC], dtype=object))
    with pytest.raises(ValueError, match="pickled objects"):
        from_file(path)


@pytest.mark.parametrize(
    ("values", "period", "fails"),
    [
        (np.linspace(-np.pi, np.pi, 9), 2 * np.pi, True),  # -pi and pi: one point
        (np.array([0.0, 120.0, 240.0, 720.0]), 360.0, True),  # two periods on
        (np.linspace(0, 2 * np.pi, 9, endpoint=False), 2 * np.pi, False),
        (np.array([0.0, 0.5, 1.0 - 1e-9]), 1.0, False),  # close to the end, not on it
    ],
)
def test_a_loop_that_holds_one_point_as_two_values_is_refused(tmp_path, values, period, fails):
    factors = values[:, None].astype(np.float64)
    images = np.zeros((len(values), 8, 8, 1), dtype=np.uint8)
    spec = [{"name": "angle", "kind": "loop", "period": period}]
    path = write_npz(tmp_path / "loop.npz", images, factors, spec)
    if fails:
        with pytest.raises(ValueError, match="'angle'.*a whole period apart"):
            from_file(path)
    else:
        assert len(from_file(path).spec[0].values) == len(values)


@pytest.mark.parametrize("suffix", ["h5", "npz"])
@pytest.mark.parametrize("lazy", [False, True])
def test_grey_images_without_a_channel_axis_are_read_as_one_channel(tmp_path, suffix, lazy):
    images, factors = grid_arrays()
    grey = images[..., 0]  # (N, H, W), as dSprites' own arrays
    path = WRITERS[suffix](tmp_path / f"grey.{suffix}", grey, factors)
    dataset = from_file(path, lazy=lazy)
    assert dataset.image_shape == (1, 5, 6)
    assert torch.equal(dataset.images_at(np.arange(12)), torch.from_numpy(grey)[:, None])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_labels_are_read_as_float64(tmp_path, dtype):
    images, factors = grid_arrays()
    labels = (factors * 4).astype(dtype)  # the loop's quarters and the points' classes
    spec = [{"name": "a", "kind": "loop", "period": 4.0}, {"name": "b", "kind": "points"}]
    dataset = from_file(write_npz(tmp_path / "labels.npz", images, labels, spec))
    assert torch.equal(dataset.factors_at(np.arange(12)), torch.from_numpy(factors * 4))
    assert dataset.is_grid


@pytest.mark.parametrize("suffix", ["h5", "npz"])
def test_a_symmetry_given_by_another_factor_round_trips(tmp_path, suffix):
    """A loop whose images repeat a number of times that depends on another factor (as
    dSprites' orientation does on its shape) keeps that record through a file."""
    images, factors = grid_arrays()
    spec = [{**SPEC[0], "symmetry_given": ["b", [4, 2, 1]]}, SPEC[1]]
    path = WRITERS[suffix](tmp_path / f"d.{suffix}", images, factors, spec)
    dataset = from_file(path)
    assert dataset.spec[0].symmetry_given == ("b", (4, 2, 1))
    again = save_dataset(dataset, tmp_path / f"again.{suffix}")
    assert from_file(again).spec == dataset.spec
