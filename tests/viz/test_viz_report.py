"""report.html: self-contained, complete, and rendered with every figure by a real browser."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from prodvae.viz.figures import write_figures
from prodvae.viz.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def finished_run(toy_model, toy_grid, tmp_path_factory):
    """A run folder with config, meta, metrics and figures (drawn once for the module)."""
    run = tmp_path_factory.mktemp("runs") / "toyrun"
    run.mkdir()
    config = {"data": {"name": "toy"}, "objective": {"name": "product"}, "run": {"name": "toyrun"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "meta.json").write_text(json.dumps({"git_commit": "0123abc", "seed": 0}))
    (run / "metrics.json").write_text(
        json.dumps({"step": 5, "suite": "standard", "metrics": {"mig": 0.4321, "dci": None}})
    )
    lines = [json.dumps({"step": s, "loss": 3.0 - s / 10, "kl/z0": 0.1 * s}) for s in range(6)]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    write_figures(toy_model, toy_grid, run / "figures", num_samples=120)
    return run


@pytest.fixture
def run_dir(finished_run, tmp_path):
    """A private copy of the finished run, which a test may change."""
    return Path(shutil.copytree(finished_run, tmp_path / "toyrun"))


def _inlined_images(text: str) -> list[bytes]:
    return [
        base64.b64decode(data)
        for data in re.findall(r"src='data:image/(?:png|gif);base64,([A-Za-z0-9+/=]+)'", text)
    ]


def test_report_inlines_every_figure_byte_for_byte(run_dir):
    text = write_report(run_dir).read_text(encoding="utf-8")
    figures = sorted((run_dir / "figures").iterdir())
    assert len(figures) == 6
    assert sorted(_inlined_images(text)) == sorted(p.read_bytes() for p in figures)
    for figure in figures:
        assert figure.name in text
    assert text.count("<img ") == len(figures)
    assert "http" not in text  # nothing fetched from elsewhere
    assert "<script" not in text


def test_report_has_command_config_and_metrics(run_dir):
    text = write_report(run_dir).read_text(encoding="utf-8")
    assert "git checkout 0123abc" in text
    assert f"prodvae train {run_dir / 'config.yaml'} --set run.name=toyrun-rerun" in text
    assert "0.4321" in text and ">n/a<" in text  # the metrics table, null as n/a
    assert "objective.name" in text and "product" in text
    assert "kl/z0" in text and "Last logged step: 5" in text


def test_report_shows_each_factors_recovery_when_it_was_scored(run_dir):
    assert "Each factor with its own topology" not in write_report(run_dir).read_text()
    scores = {
        "factor_recovery": 0.5,
        "factor_recovery.score.angle": 0.97,
        "factor_recovery.score.hue": 0.95,
        "factor_recovery.score.size": 0.4,
        "factor_recovery.winding.angle": -1.0,
        "factor_recovery.winding.hue": 2.0,  # a good alignment, but twice round: not recovered
        "factor_recovery.recovered.angle": 1.0,
        "factor_recovery.recovered.hue": 0.0,
        "factor_recovery.recovered.size": 0.0,
    }
    (run_dir / "metrics.json").write_text(json.dumps({"step": 5, "metrics": scores}))
    text = write_report(run_dir).read_text(encoding="utf-8")
    assert "Factors recovered: 1 of 3." in text
    # the evaluation opens with it, before the table of every score
    evaluation = text.index("<h2>Evaluation</h2>")
    assert evaluation < text.index("Factors recovered") < text.index("<th>metric</th>")
    cells = "<td>{}</td><td class='num'>{}</td><td class='num'>{}</td><td class='num'>{}</td>"
    assert cells.format("angle", "0.97", "-1", "yes") in text
    assert cells.format("hue", "0.95", "+2", "no") in text
    assert cells.format("size", "0.4", "—", "no") in text  # not a loop: no winding


def test_report_without_evaluation_or_figures_says_so(tmp_path):
    (tmp_path / "config.yaml").write_text("data: {name: toy}\n")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    assert "No evaluation yet" in text and "No figures yet" in text


def test_bad_run_folders_raise_and_keep_the_old_report(run_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.yaml"):
        write_report(tmp_path / "missing")
    report = write_report(run_dir)
    before = report.read_bytes()
    (run_dir / "metrics.json").write_text("{broken")
    with pytest.raises(ValueError, match="metrics.json: not valid JSON"):
        write_report(run_dir)
    assert report.read_bytes() == before


#: Appended to a copy of the report: marks each image once the page has loaded.
CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.dataset.loaded = (img.complete && img.naturalWidth > 0) ? "yes" : "no";
  }
  document.body.dataset.checked = "yes";
});
</script>"""


def _chromium(args: list[str], tmp_path: Path) -> str:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/chromium.sh)"
)
def test_report_renders_in_headless_chromium_with_every_image_loaded(run_dir, tmp_path):
    report = write_report(run_dir)
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path)
    assert 'data-checked="yes"' in dom
    states = re.findall(r'<img [^>]*data-loaded="(\w+)"', dom)
    assert states == ["yes"] * 6, states
    shot = tmp_path / "report.png"
    _chromium(
        ["--window-size=1400,2400", "--hide-scrollbars", f"--screenshot={shot}", report.as_uri()],
        tmp_path,
    )
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[:2] == (2400, 1400)
    assert pixels.std() > 10  # text and figures, not a blank page
    keep = Path(__file__).parent / "artifacts"
    if keep.is_dir():  # a place a developer or CI can create to look at the screenshot
        shutil.copy(shot, keep / "report.png")
