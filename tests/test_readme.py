"""The README's Python snippets run and give what the README says they give; its commands
are the ones the Makefile provides, and ``make demo`` and ``prodvae eval --suite all`` run."""

import importlib
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from prodvae.cli import main
from prodvae.metrics.registry import metrics_in_suite
from prodvae.train import read_metrics

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture(scope="module")
def snippets():
    """Each README snippet's namespace after it ran, in README order."""
    namespaces = []
    for block in python_blocks():
        namespace = {"__name__": "readme"}
        exec(compile(block, "README.md", "exec"), namespace)
        namespaces.append(namespace)
    return namespaces


def test_every_readme_snippet_is_checked_below(snippets):
    # one test per snippet below; a new snippet needs its own check of what it documents
    assert len(snippets) == 2


def test_readme_latent_space_snippet_gives_what_its_comments_say(snippets):
    ns = snippets[0]
    space, z = ns["space"], ns["z"]
    assert space.num_factors == 4 and space.dim == 2 + 1 + 1 + 2
    assert ns["mu"].shape == ns["logvar"].shape == (8, space.dim)  # posterior [batch, dim]
    assert space.logvar_dim == 1 + 1 + 1 + 2  # the loop is isotropic: one logvar
    kl = ns["kl"]
    assert kl.shape == (8, 4) and torch.isfinite(kl).all() and (kl >= 0).all()  # [batch, 4]
    assert torch.equal(kl[:, 3], torch.zeros(8))  # euclidean KL of N(0, I) to N(0, I): exact 0
    # exact prior samples: [8, dim], reproducible from the seeded generator
    assert z.shape == (8, space.dim) and z.dtype == torch.float32
    assert torch.equal(z, space.sample(8, torch.Generator().manual_seed(0)))
    # one intrinsic coordinate per factor
    angle, position, point = ns["angle"], ns["position"], ns["point"]
    assert angle.shape == position.shape == point.shape == (8,)
    assert ((-math.pi <= angle) & (angle <= math.pi)).all()
    assert ((-2 <= position) & (position <= 2)).all()  # segment(2, ...): [-L, L]
    assert point.dtype == torch.long and ((0 <= point) & (point < 4)).all()  # points(4, ...)
    assert torch.equal(ns["rest"], z[:, 4:])  # euclidean: the code itself
    # once around the loop, closing on itself, the other factors held still
    path = ns["path"]
    assert path.shape == (16, space.dim)
    ring = path[:, space.slices[0]]
    assert torch.allclose(ring.norm(dim=1), torch.full((16,), 3.0, dtype=path.dtype))
    assert torch.equal(path[0], path[-1])
    turns = torch.atan2(ring[:, 1], ring[:, 0]).diff().remainder(2 * math.pi)
    assert math.isclose(float(turns.sum()), 2 * math.pi, rel_tol=1e-9)  # winds exactly once
    assert (turns > 0).all() and torch.equal(path[:, 2:], path[:1, 2:].expand(16, -1))


def test_readme_python_snippet_gives_a_finite_loss_and_gradients(snippets):
    ns = snippets[1]
    loss, logs, model = ns["loss"], ns["logs"], ns["model"]
    assert loss.shape == () and math.isfinite(loss.item())
    assert logs["loss"] == pytest.approx(loss.item())
    assert all(math.isfinite(value) for value in logs.values())
    assert model.space.dim == 4  # two loops, two ambient dimensions each
    parameters = [p for p in model.parameters() if p.requires_grad]
    assert parameters and all(p.grad is not None for p in parameters)
    assert all(torch.isfinite(p.grad).all() for p in parameters)
    for part in (model.encoder, model.decoder):  # gradient reaches both ends
        assert any(p.grad.abs().sum() > 0 for p in part.parameters())


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", README, flags=re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def readme_commands():
    """Every ``prodvae ...`` line of the README's bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("prodvae ")]


def test_readme_cli_commands_parse():
    """Each command line parses with the real parser (each is also run by its own CLI test)."""
    from prodvae.cli import build_parser

    commands = readme_commands()
    assert {c.split()[1] for c in commands} >= {"train", "eval", "viz"}
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert callable(args.func), command


def assert_scores(metrics: dict, suites: tuple[str, ...]) -> None:
    """Every metric of ``suites`` has finite scores and a timing in ``metrics``."""
    names = {entry.name for suite in suites for entry in metrics_in_suite(suite)}
    assert names >= {"mig", "sap", "dci", "beta_vae", "factor_vae", "topology", "geometry"}
    for name in names:
        scores = {k: v for k, v in metrics.items() if k == name or k.startswith(f"{name}.")}
        assert scores, f"{name} is missing from metrics.json"
        for key, value in scores.items():  # NaN would have been written as null
            assert isinstance(value, float) and math.isfinite(value), (key, value)
        assert f"seconds.{name}" in metrics


TINY = (
    "data: {name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}\n"
    "model: {backbone: burgess, options: {width: 4, hidden_dim: 16}}\n"
    "objective: {name: product}\n"
    "train: {steps: 4, batch_size: 8, progress: false, num_workers: 0}\n"
    "eval: {at_end: false}\n"
    "run: {tensorboard: false, name: demo}\n"
)


def test_readme_eval_all_command_scores_a_real_run(tmp_path, monkeypatch, capsys):
    """The README's ``prodvae eval runs/demo --suite all --fast`` on a 4-step run: every
    standard and topology metric is in metrics.json, each score finite."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert main(["train", str(tmp_path / "tiny.yaml"), "--set", f"run.dir={tmp_path}"]) == 0
    (command,) = [c for c in readme_commands() if c.startswith("prodvae eval")]
    argv = shlex.split(command)[1:]
    assert argv[:2] == ["eval", "runs/demo"] and "--suite" in argv and "all" in argv
    # Fewer images than the defaults and the interventional scores' --fast sizes (together
    # over a minute of rendering); the whole suite still runs, through the CLI.
    for name, sizes in (("beta_vae", (64, 32)), ("factor_vae", (64, 32, 256))):
        module = importlib.import_module(f"prodvae.metrics.{name}")
        for key, size in zip(("FAST_NUM_TRAIN", "FAST_NUM_EVAL", "FAST_NUM_VARIANCE"), sizes):
            monkeypatch.setattr(module, key, size)
    sizes = ["--num-train", "1000", "--num-test", "500"]
    assert main(["eval", str(tmp_path / "demo"), *argv[2:], *sizes]) == 0
    record = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    metrics = record["metrics"]
    assert record["step"] == 4 and metrics["suite"] == "all" and metrics["fast"] is True
    assert (metrics["num_train"], metrics["num_test"]) == (1000, 500)
    assert_scores(metrics, ("standard", "topology"))
    for key in ("mig", "sap", "dci.disentanglement", "topology.topology_match"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["topology.topology_match"] == 1.0  # auto space: a loop for each hand
    assert "wrote " + str(tmp_path / "demo" / "metrics.json") in capsys.readouterr().out


def test_readme_says_how_long_the_demo_trains():
    """README: "`make demo` trains ... for N steps at 32 px": what configs/demo.yaml, given
    after the recipe as the Makefile gives it, trains."""
    from prodvae.train import load_config

    (said,) = re.findall(r"`make demo` trains.*?for (\d+) steps\s+at (\d+) px", README, re.DOTALL)
    recipe = ROOT / "configs" / "product_weak.yaml"
    config = load_config([recipe, ROOT / "configs" / "demo.yaml"])
    assert config.train.steps == int(said[0]) < load_config(recipe).train.steps
    assert (config.data.name, config.data.options["image_size"]) == ("torus", int(said[1]))


#: A smaller network and logging every 4 steps; the rest is configs/demo.yaml.
DEMO_SMALL = "model.options.width=8 model.options.hidden_dim=32 train.log_every=4"


@pytest.mark.slow  # two `make demo`s; the first scores every metric at the Makefile's sizes
def test_make_demo_trains_evaluates_draws_and_resumes(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = tmp_path / "runs" / "demo"

    def demo(steps: int, *options: str) -> str:
        command = [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",  # the package is installed: never reinstall from a test
            f"PY={sys.executable}",
            "VENV=.venv",
            "demo",
            f"DEMO_RUN={run}",
            f"DEMO_SET={DEMO_SMALL} train.steps={steps} train.checkpoint_every=8",
            *options,
        ]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout + result.stderr

    first = demo(16)
    # "train the product prior on the built-in dial (CPU), evaluate, draw; prints where"
    config = (run / "config.yaml").read_text()
    assert "name: product" in config and "name: torus" in config and "image_size: 32" in config
    assert "weak: ada_gvae" in config  # the recipe, configs/product_weak.yaml
    assert f"run folder: {run}" in first and f"Results in {run}: metrics.json" in first
    for name in ("metrics.json", "report.html", "metrics.jsonl", "config.yaml", "meta.json"):
        assert (run / name).is_file(), name
    assert any((run / "tb").iterdir())
    assert "step_00000016" in {p.name for p in (run / "checkpoints").iterdir()}
    figures = {p.name for p in (run / "figures").iterdir()}
    assert {"reconstructions.png", "traversals.png", "traversals.gif", "portraits.png"} <= figures
    record = json.loads((run / "metrics.json").read_text())
    assert record["step"] == 16 and record["metrics"]["suite"] == "all"
    assert record["metrics"]["num_train"] == 4000 and record["metrics"]["fast"] is True
    assert_scores(record["metrics"], ("standard", "topology"))
    logged = (run / "metrics.jsonl").read_text()
    assert [line["step"] for line in read_metrics(run)] == [4, 8, 12, 16]

    # "run again, it resumes the run": the same command continues the folder's training (a
    # cheaper evaluation this time: the resume is what is checked)
    second = demo(24, "DEMO_EVAL=--suite topology --num-train 400 --num-test 200")
    assert "resumed from" in second and "at step 16" in second
    assert (run / "metrics.jsonl").read_text().startswith(logged)  # appended, not restarted
    assert [line["step"] for line in read_metrics(run)] == [4, 8, 12, 16, 20, 24]
    assert json.loads((run / "metrics.json").read_text())["step"] == 24
    assert len((run / "evaluations.jsonl").read_text().splitlines()) == 2
    assert "(step 24)" in second  # report.html and the figures are redrawn at the new step


@pytest.mark.slow  # the whole `make demo`, as a user runs it (about 4 minutes on 2 cores)
def test_make_demo_recovers_each_hand_once_round_its_own_loop(tmp_path):
    """README: "the evaluation in report.html opens with each hand's recovery: a loop block
    of its own, score >= 0.9, winding once round (+1 or -1)"."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = tmp_path / "runs" / "demo"
    command = ["make", "--no-print-directory", "-o", ".venv/.installed"]
    command += [f"PY={sys.executable}", "VENV=.venv", "demo", f"DEMO_RUN={run}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert metrics["factor_recovery"] == 1.0
    for hand in ("long_hand", "short_hand"):
        assert metrics[f"factor_recovery.score.{hand}"] >= 0.9, hand
        assert abs(metrics[f"factor_recovery.winding.{hand}"]) == 1, hand
    report = (run / "report.html").read_text()
    assert "Factors recovered: 2 of 2." in report
    evaluation = report.index("<h2>Evaluation</h2>")
    assert evaluation < report.index("Factors recovered") < report.index("<th>metric</th>")
    for hand in ("long_hand", "short_hand"):
        assert re.search(
            rf"<td>{hand}</td><td class='num'>(0\.9\d*|1)</td>"
            rf"<td class='num'>[+-]1</td><td class='num'>yes</td>",
            report,
        ), hand


def test_readme_discover_commands_print_what_the_readme_says(tmp_path, monkeypatch, capsys):
    lines = [c for c in readme_commands() if c.startswith("prodvae discover")]
    assert lines[:2] == ["prodvae discover sprites", "prodvae discover orbit --json --plot figures"]
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(lines[0])[1:]) == 0
    out = capsys.readouterr().out
    for row in ("shape            points    points", "rotation         loop      loop"):
        assert row in out
    assert "proposed space: points(num_points=4" in out
    assert main(shlex.split(lines[1])[1:]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["found"] for r in rows] == [r["declared"] for r in rows]
    assert {r["name"] for r in rows} == {
        "shape",
        "object_hue",
        "floor_hue",
        "scale",
        "azimuth",
        "elevation",
    }
    assert sorted(p.stem for p in (tmp_path / "figures").iterdir()) == sorted(
        r["name"] for r in rows
    )


def test_readme_discover_reads_a_trained_run(tmp_path, monkeypatch, capsys):
    line, codes = [c for c in readme_commands() if c.startswith("prodvae discover runs/")]
    assert line == "prodvae discover runs/demo"
    assert codes == "prodvae discover runs/demo --no-labels"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert main(["train", "tiny.yaml", "--set", "run.dir=runs"]) == 0
    capsys.readouterr()
    assert main(shlex.split(line)[1:] + ["--bases", "2", "--samples", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("latent     follows         kind")  # one row per latent group
    assert "proposed space:" in out
    # the same groups read from their codes alone: no factor is named
    assert main(shlex.split(codes)[1:] + ["--bases", "2"]) == 0
    unlabelled = capsys.readouterr().out
    assert unlabelled.startswith("latent           declared")
    assert "follows" not in unlabelled and "proposed space:" in unlabelled
