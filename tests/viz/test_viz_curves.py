"""Training curves from metrics.jsonl: reading, grouping and the panel layout."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from prodvae.viz.curves import (
    MARGIN_BOTTOM,
    MARGIN_TOP,
    PANEL_H,
    group_series,
    metric_series,
    plot_training_curves,
    read_metrics_log,
)


def _write_log(path, steps=50, extra=None):
    with open(path, "w", encoding="utf-8") as out:
        for step in range(0, steps * 10, 10):
            record = {
                "step": step,
                "loss": 100 * math.exp(-step / 100) + 1,
                "recon": 90 * math.exp(-step / 100),
                "kl/z0": 2.0,
                "kl/z1": 1.0 + step / 1000,
                "width_z0": 3.0 - step / 500,
                "width_z1": 2.0,
                "lr": 1e-3,
                "note": "text is not plotted",
            }
            record.update(extra(step) if extra else {})
            out.write(json.dumps(record) + "\n")
    return path


def test_keys_are_grouped_by_prefix(tmp_path):
    records = read_metrics_log(_write_log(tmp_path / "metrics.jsonl"))
    groups = group_series(metric_series(records))
    assert list(groups) == ["loss", "recon", "kl", "width", "lr"]
    assert [s.key for s in groups["kl"]] == ["kl/z0", "kl/z1"]
    assert [s.key for s in groups["width"]] == ["width_z0", "width_z1"]
    np.testing.assert_allclose(groups["kl"][1].values[:2], [1.0, 1.01])


def test_null_values_become_gaps_and_sparse_keys_keep_their_steps(tmp_path):
    def extra(step):
        return (
            {"loss": None} if step == 20 else ({"eval/mig": step / 100} if step % 100 == 0 else {})
        )

    series = {
        s.key: s for s in metric_series(read_metrics_log(_write_log(tmp_path / "m", 30, extra)))
    }
    assert math.isnan(series["loss"].values[2])
    np.testing.assert_array_equal(series["eval/mig"].steps, [0, 100, 200])


def test_a_truncated_last_line_is_skipped_but_a_broken_middle_line_raises(tmp_path):
    path = _write_log(tmp_path / "metrics.jsonl", steps=3)
    with open(path, "a", encoding="utf-8") as out:
        out.write('{"step": 30, "loss": 1.')
    assert len(read_metrics_log(path)) == 3
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "not json", lines[1]]) + "\n")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_metrics_log(path)
    path.write_text('{"loss": 1.0}\n')
    with pytest.raises(ValueError, match="numeric 'step'"):
        read_metrics_log(path)


def test_figure_has_one_panel_per_group_in_rows_of_three(tmp_path):
    figure = plot_training_curves(_write_log(tmp_path / "m.jsonl"), tmp_path / "curves.png")
    with Image.open(figure.path) as image:
        assert image.size == (figure.width, figure.height)
    # five groups: two rows of panels under a 30-pixel title
    assert figure.height == 30 + 2 * (MARGIN_TOP + PANEL_H + MARGIN_BOTTOM)
    again = plot_training_curves(tmp_path / "m.jsonl", tmp_path / "again.png")
    assert again.path.read_bytes() == figure.path.read_bytes()


def test_a_log_without_numbers_raises(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 0, "note": "x"}\n')
    with pytest.raises(ValueError, match="no numeric metrics"):
        plot_training_curves(path, tmp_path / "c.png")
