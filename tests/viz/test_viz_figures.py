"""All figures of a model at once, and the TensorBoard images."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from tests.tolerances import float_tol

from prodvae.viz.figures import FIGURE_FILES, sample_dataset, write_figures
from prodvae.viz.tensorboard import log_figures_to_tensorboard
from prodvae.viz.tiles import PAD


def _metrics_log(path):
    lines = [json.dumps({"step": s, "loss": 10.0 / (s + 1), "kl/z0": 0.5}) for s in range(5)]
    path.write_text("\n".join(lines) + "\n")


def test_write_figures_writes_every_file_of_a_run(toy_model, toy_grid, tmp_path):
    _metrics_log(tmp_path / "metrics.jsonl")
    files = write_figures(toy_model, toy_grid, tmp_path / "figures", num_samples=200)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(FIGURE_FILES)
    for figure in files.values():
        with Image.open(figure.path) as image:
            assert image.size == (figure.width, figure.height)
    with Image.open(files["traversal_animation"].path) as gif:
        assert gif.n_frames == 9
    assert toy_model.training  # the model's mode is restored


def test_write_figures_is_deterministic_and_skips_missing_curves(toy_model, toy_grid, tmp_path):
    first = write_figures(toy_model, toy_grid, tmp_path / "a", num_samples=100, num_images=4)
    second = write_figures(toy_model, toy_grid, tmp_path / "b", num_samples=100, num_images=4)
    assert "training_curves" not in first
    for name, figure in first.items():
        assert figure.path.read_bytes() == second[name].path.read_bytes(), name


def test_sample_dataset_is_seeded(toy_grid):
    a, b = sample_dataset(toy_grid, 16, seed=3), sample_dataset(toy_grid, 16, seed=3)
    c = sample_dataset(toy_grid, 16, seed=4)
    torch.testing.assert_close(a.images, b.images)
    assert not torch.equal(a.factors, c.factors)
    assert a.images.dtype == torch.float32 and float(a.images.max()) <= 1.0
    with pytest.raises(ValueError, match="num_samples"):
        sample_dataset(toy_grid, 0)


def test_bad_num_images_raises(toy_model, toy_grid, tmp_path):
    with pytest.raises(ValueError, match="num_images"):
        write_figures(toy_model, toy_grid, tmp_path, num_samples=4, num_images=8)


class FakeWriter:
    def __init__(self):
        self.images = {}

    def add_image(self, tag, image, step, dataformats):
        assert dataformats == "HWC"
        self.images[tag] = (np.asarray(image), step)


def test_tensorboard_gets_reconstructions_and_traversals(toy_model, toy_grid):
    writer = FakeWriter()
    log_figures_to_tensorboard(writer, 7, toy_model, toy_grid, num_images=4, num_steps=5)
    recon, step = writer.images["figures/reconstructions"]
    assert step == 7
    assert recon.shape == (2 * (16 + PAD) + PAD, 4 * (16 + PAD) + PAD, 3)
    traversals, _ = writer.images["figures/traversals"]
    # loop, segment and a three-point set: three rows of at most five steps
    assert traversals.shape == (3 * (16 + PAD) + PAD, 5 * (16 + PAD) + PAD, 3)
    loop_row = traversals[PAD : PAD + 16]
    first, last = loop_row[:, PAD : PAD + 16], loop_row[:, PAD + 4 * 18 : PAD + 4 * 18 + 16]
    # one picture (angles 0 and 2 pi) rendered twice in float32 values <= 1: a rounding apart
    np.testing.assert_allclose(first, last, rtol=0, atol=float_tol(np.float32, 1.0, 1))


def test_tensorboard_event_file_is_written(toy_model, toy_grid, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as writer:
        log_figures_to_tensorboard(writer, 0, toy_model, toy_grid, num_images=2, num_steps=3)
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 1000
