"""``configs/product_weak.yaml`` is one recipe for every dataset: it loads, names no dataset
option, and trains a few steps on every built-in dataset (the standard ones on tiny files
with their real schemas and image sizes) and on a user's labelled file, through the CLI."""

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from prodvae.cli import main
from prodvae.data import DATASETS
from prodvae.train import load_config, load_run, read_metrics

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "product_weak.yaml"
TINY = [
    "model.options.width=4",
    "model.options.hidden_dim=16",
    "train.steps=3",
    "train.batch_size=8",
    "train.log_every=1",
    "train.progress=false",
    "train.num_workers=0",
    "run.tensorboard=false",
    "objective.options.anchor_steps=2",
]


def grid(*axes):
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1).astype(np.float64)


def noise_images(n, shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def write_shapes3d(folder):
    labels = grid([0.0, 0.5], [0.1, 0.9], [0.5, 0.6], [0.75, 1.25], [0.0, 3.0], [-30, 0, 30])
    with h5py.File(folder / "3dshapes.h5", "w") as handle:
        handle["images"], handle["labels"] = noise_images(len(labels), (64, 64, 3)), labels
    return []


def write_dsprites(folder):
    orientation = np.linspace(0, 2 * math.pi, 5)  # the end-point repeats the start, as there
    values = grid([1.0], [1.0, 2.0, 3.0], [0.5, 1.0], orientation, [0.0, 1.0], [0.0, 1.0])
    classes = grid([0], range(3), range(2), range(5), range(2), range(2)).astype(np.int64)
    metadata = np.array({"latents_sizes": np.array([1, 3, 2, 5, 2, 2])}, dtype=object)
    np.savez(
        folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        metadata=metadata,
        imgs=noise_images(len(values), (64, 64)) // 255,
        latents_values=values,
        latents_classes=classes,
    )
    return []


def writer_mpi3d(variant):
    sizes = (2, 1, 2, 1, 1, 3, 2)

    def write(folder):
        np.savez(folder / f"mpi3d_{variant}.npz", images=noise_images(24, (64, 64, 3)))
        return [f"data.options.factor_sizes={list(sizes)}"]

    return write


def write_cars3d(folder):
    labels = grid([0, 3], range(0, 24, 6), [0, 1, 182]).astype(np.int64)
    np.savez(folder / "cars3d.npz", images=noise_images(len(labels), (64, 64, 3)), labels=labels)
    return []


def write_smallnorb(folder):
    labels = grid([0, 4], [1], [0, 8], [0, 10, 20, 34], [0, 5]).astype(np.int64)
    np.savez(folder / "smallnorb.npz", images=noise_images(len(labels), (96, 96)), labels=labels)
    return []


STANDARD = {
    "shapes3d": write_shapes3d,
    "dsprites": write_dsprites,
    **{f"mpi3d_{v}": writer_mpi3d(v) for v in ("toy", "realistic", "real", "complex")},
    "cars3d": write_cars3d,
    "smallnorb": write_smallnorb,
}
PROCEDURAL = ("torus", "sprites", "orbit")


def test_every_built_in_dataset_is_covered():
    assert set(DATASETS) - {"file"} == set(STANDARD) | set(PROCEDURAL)


def test_the_recipe_names_no_dataset_option():
    """What the data dictates (image size, grid sizes) comes from the command line only."""
    config = load_config(RECIPE)
    assert config.data.options == {} and config.model.space == "auto"
    assert config.objective.name == "product" and config.objective.options["weak"] != "none"
    assert config.data.num_changed == 1


@pytest.fixture(autouse=True)
def small_anchor(monkeypatch):
    """The recipe's anchor fitted on 64 images and pairs, not 1024 and 2048: it checks the
    wiring (at 64 px the full fit is a 5120 x 12288 SVD per run)."""
    import prodvae.objectives.anchor as anchor_module

    monkeypatch.setattr(anchor_module, "ANCHOR_IMAGES", 64)
    monkeypatch.setattr(anchor_module, "ANCHOR_PAIRS", 64)


def train(tmp_path, settings):
    runs = tmp_path / "runs"
    argv = ["train", str(RECIPE)]
    for item in [*TINY, f"run.dir={runs}", *settings]:
        argv += ["--set", item]
    assert main(argv) == 0
    lines = read_metrics(runs / "product_weak")
    assert [line["step"] for line in lines] == [1, 2, 3]
    assert all(math.isfinite(line["loss"]) for line in lines)
    return runs / "product_weak"


@pytest.mark.parametrize("name", PROCEDURAL)
def test_recipe_trains_on_each_procedural_dataset(tmp_path, name):
    run = train(tmp_path, [f"data.name={name}", "data.options.image_size=32"])
    saved = json.loads((run / "meta.json").read_text())
    assert saved["seed"] == 0


@pytest.mark.parametrize("name", sorted(STANDARD))
def test_recipe_trains_on_each_standard_dataset(tmp_path, name):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    extra = STANDARD[name](data_dir)
    train(tmp_path, [f"data.name={name}", f"data.path={data_dir}", *extra])


def test_recipe_trains_on_a_labelled_file_that_is_no_grid(tmp_path):
    """Photographs of objects at continuous angles and scales: pairs matched by value."""
    from tests.data.labelled_files import objects_at_angles, write_labelled_file

    path = tmp_path / "mine.npz"
    kinds = ["points", "loop", "segment"]
    write_labelled_file(path, objects_at_angles(), kinds, periods={1: 2 * math.pi}, image_size=32)
    train(tmp_path, ["data.name=file", f"data.path={path}"])


def test_recipe_trains_on_a_file_whose_factors_are_all_points(tmp_path):
    """Classes alone (two of them, every combination): each block is a classifier, which the
    code normalisation the recipe fades leaves alone."""
    from tests.data.labelled_files import write_labelled_file

    path = tmp_path / "classes.npz"
    factors = grid([0.0, 1.0, 2.0], [0.0, 1.0]).repeat(10, axis=0)
    write_labelled_file(path, factors, ["points", "points"], image_size=32)
    train(tmp_path, ["data.name=file", f"data.path={path}"])


def test_recipe_trains_scores_and_draws_a_file_of_images_that_are_not_square(tmp_path):
    """Photographs 48 px high and 64 wide: the recipe trains on them as they are (no size is
    asked of a user's images but 8 px a side), and the run is scored and drawn at that size."""
    from tests.data.labelled_files import objects_at_angles, write_labelled_file

    path = tmp_path / "wide.npz"
    kinds = ["points", "loop", "segment"]
    periods = {1: 2 * math.pi}
    write_labelled_file(path, objects_at_angles(), kinds, periods=periods, image_size=(48, 64))
    run = train(tmp_path, ["data.name=file", f"data.path={path}", "train.checkpoint_every=3"])
    loaded = load_run(run)
    images = loaded.dataset.images_at(np.arange(2)).float() / 255
    assert loaded.model(images).x_recon.shape == (2, 3, 48, 64)
    assert main(["eval", str(run), "--suite", "topology"]) == 0
    assert "factor_recovery" in (run / "metrics.json").read_text()
    assert main(["viz", str(run)]) == 0
    assert (run / "report.html").is_file() and (run / "figures" / "reconstructions.png").is_file()


def test_recipe_pulls_loops_toward_orbits_read_from_the_rows_of_a_file_that_is_no_grid(
    tmp_path, caplog
):
    """A file with a fifth of a grid's rows missing: each loop's orbits are read from its rows,
    and training pulls the loop blocks toward them (the plane start left out, which would
    start these loops itself)."""
    from tests.objectives.test_row_orbits import gappy_blobs

    from prodvae.data import save_dataset

    path = save_dataset(gappy_blobs(size=32), tmp_path / "gappy.npz")
    settings = ["objective.options.anchor_weight=0", "objective.options.orbit_start=0"]
    with caplog.at_level("INFO"):
        run = train(tmp_path, ["data.name=file", f"data.path={path}", *settings])
    assert "loop block 0 (outer) is pulled" in caplog.text
    assert "loop block 1 (inner) is pulled" in caplog.text
    assert all(line["orbits"] > 0 for line in read_metrics(run))
