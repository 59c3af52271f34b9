"""``prodvae viz RUN_DIR`` on a real run folder (an untrained model saved as train saves it)."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from prodvae.cli import main
from prodvae.train import RunFolder, load_config
from prodvae.train.build import build_dataset, build_model, build_space
from prodvae.train.checkpoint import save_checkpoint
from prodvae.viz import FIGURE_FILES


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder of the torus data at 32 pixels with a small, untrained model at step 3."""
    overlay = {
        "data": {"name": "torus", "options": {"image_size": 32, "factor_sizes": [8, 8]}},
        "model": {"backbone": "burgess", "space": "loop(3, 0.5) * loop(3, 0.5)"},
        "train": {"seed": 0},
        "run": {"dir": str(tmp_path_factory.mktemp("runs")), "name": "tiny"},
    }
    config = load_config(base=overlay)
    folder = RunFolder.for_config(config)
    folder.create(config)
    dataset = build_dataset(config.data)
    torch.manual_seed(0)
    model = build_model(config.model, build_space(config.model, dataset), dataset.image_shape)
    save_checkpoint(folder.checkpoints, 3, model, {}, keep=1)
    lines = [
        json.dumps({"step": s, "loss": 100.0 - s, "kl/0": 1.0, "kl/1": 2.0}) for s in (1, 2, 3)
    ]
    folder.metrics_path.write_text("\n".join(lines) + "\n")
    return folder.path


def test_viz_writes_figures_and_report(run_dir, capsys):
    status = main(["viz", str(run_dir), "--num-samples", "64", "--num-images", "4"])
    assert status == 0
    figures = run_dir / "figures"
    assert sorted(p.name for p in figures.iterdir()) == sorted(FIGURE_FILES)
    for name in FIGURE_FILES:
        with Image.open(figures / name) as image:
            assert min(image.size) > 100
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert report.count("<img ") == len(FIGURE_FILES)
    assert "loop(3, 0.5) * loop(3, 0.5)" in report
    out = capsys.readouterr().out
    assert "report.html (step 3)" in out
    # two loops: two traversal rows, nine frames that close on themselves
    with Image.open(figures / "traversals.gif") as gif:
        assert gif.n_frames == 9


def test_viz_is_deterministic(run_dir, tmp_path):
    args = ["viz", str(run_dir), "--num-samples", "32", "--num-images", "2", "--num-steps", "5"]
    assert main(args) == 0
    first = {n: (run_dir / "figures" / n).read_bytes() for n in FIGURE_FILES}
    assert main(args) == 0
    second = {n: (run_dir / "figures" / n).read_bytes() for n in FIGURE_FILES}
    assert first == second


def test_viz_of_a_folder_without_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["viz", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "is not a run folder" in err and err.count("\n") == 1


def test_viz_rejects_bad_counts_before_writing(run_dir, capsys):
    before = (run_dir / "report.html").read_bytes() if (run_dir / "report.html").exists() else None
    assert main(["viz", str(run_dir), "--num-samples", "4", "--num-images", "8"]) == 2
    assert "num_images" in capsys.readouterr().err
    after = (run_dir / "report.html").read_bytes() if (run_dir / "report.html").exists() else None
    assert before == after
