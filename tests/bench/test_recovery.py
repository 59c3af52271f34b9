"""``python -m benchmarks.recovery`` trains through ``prodvae.train``, reads every factor,
records its rows and renders them; a finished run is read again, not retrained, unless its
config differs (an error)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from benchmarks import recovery
from benchmarks.results import load
from benchmarks.tables.recovery import render

from prodvae.train import load_config

TINY = [
    "model.options.width=4",
    "model.options.hidden_dim=16",
    "train.batch_size=8",
    "train.num_workers=0",
    "objective.options.anchor_steps=2",
]


@pytest.mark.parametrize("method", list(recovery.METHODS))
def test_each_method_trains_through_the_trainer_and_is_read(tmp_path, method, monkeypatch):
    monkeypatch.setattr(recovery, "SAMPLES", 200)
    argv = ["--datasets", "torus", "--methods", method, "--seeds", "0", "--steps", "2"]
    argv += ["--out", str(tmp_path / "runs"), "--record", "recovery_test"]
    for item in TINY if method != "ada_gvae" else TINY[:-1]:
        argv += ["--set", item]
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    recovery.main(argv)
    payload = load("recovery_test", tmp_path / "results")
    (row,) = payload["results"]["rows"]
    assert (row["dataset"], row["method"], row["seed"], row["steps"]) == ("torus", method, 0, 2)
    assert [f["factor"] for f in row["factors"]] == ["long_hand", "short_hand"]
    for factor in row["factors"]:
        assert 0.0 <= factor["score"] <= 1.0 and factor["kind"] == "loop"
        assert factor["recovered"] == (factor["score"] >= 0.9 and abs(factor["winding"]) == 1)
    if method == "product_discover":
        assert [f["discovered"] for f in row["factors"]] == ["loop", "loop"]
    run = tmp_path / "runs" / f"torus-{method}-s0"
    config = json.dumps((run / "config.yaml").read_text())
    assert "image_size: 32" in config and "steps: 2" in config
    if method == "product_labels":  # every image labelled, each hand pulling its own block
        options = load_config(run / "config.yaml").objective.options
        assert options["labelled_fraction"] == 1.0 and options["weak"] == "none"
        assert options["label_map"] == {0: 0, 1: 1}
    table = render(payload)
    assert "#### torus" in table and "| long_hand | loop | " in table
    seconds = round(row["train_seconds"])
    assert f"Seconds of training a seed: {method} {seconds}–{seconds}." in table
    if method == "product_discover":
        assert "found each factor's own kind in: long_hand 1/1, short_hand 1/1." in table
    # a second sweep reads the finished run again (the same rows), it does not retrain it
    stamp = (run / "metrics.jsonl").stat().st_mtime_ns
    recovery.main(argv)
    assert (run / "metrics.jsonl").stat().st_mtime_ns == stamp
    assert row["trained_now"]
    assert load("recovery_test", tmp_path / "results")["results"]["rows"] == [
        {**row, "trained_now": False, "threads": None}
    ]
    # a finished run whose training time is not known is read, not retrained to time it
    (run / "recovery_seconds.json").unlink()
    recovery.main(argv)
    assert (run / "metrics.jsonl").stat().st_mtime_ns == stamp
    (unknown,) = load("recovery_test", tmp_path / "results")["results"]["rows"]
    assert unknown["train_seconds"] is None and unknown["factors"] == row["factors"]
    # the same folder after the recipe changed: not read as if it were the new recipe's run
    with pytest.raises(ValueError, match=r"different config \(train.lr: 0.002 -> 0.001\)"):
        recovery.main([*argv, "--set", "train.lr=0.001"])
    assert (run / "metrics.jsonl").stat().st_mtime_ns == stamp


def test_an_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown method 'vae'; expected one of"):
        recovery.run_config("torus", "vae", 0, recovery.Sweep(2, 32, recovery.ROOT / "runs"))


def test_labels_go_to_the_latent_factor_that_auto_builds_for_them(tmp_path):
    """With the scale held at one value (``model.space: auto`` leaves it out), sprites' shape
    labels drive latent factor 0 and rotation, hue, x, y latent factors 1 to 4."""
    sizes = "data.options.factor_sizes=[4, 1, 36, 8, 12, 12]"
    sweep = recovery.Sweep(2, 32, tmp_path, (sizes,))
    config, _ = recovery.run_config("sprites", "product_labels", 0, sweep)
    assert config.objective.options["label_map"] == {0: 0, 2: 1, 3: 2, 4: 3, 5: 4}


def test_every_method_shares_the_recipes_width_and_budget(tmp_path, monkeypatch):
    """Without ``--steps`` the sweep trains the recipe's steps; the baselines train the
    recipe's network width (whatever it is: a recipe of width 24 gives Ada-GVAE 24); the
    label-told run has no orbit pull, which needs pairs that say which factor they change."""
    recipe = tmp_path / "recipe.yaml"
    text = recovery.RECIPE.read_text().replace("width: 32", "width: 24")
    recipe.write_text(text.replace("steps: 9000", "steps: 1234"))
    monkeypatch.setattr(recovery, "RECIPE", recipe)
    sweeps = []

    def capture(dataset, method, seed, sweep):
        sweeps.append(sweep)
        raise KeyboardInterrupt

    monkeypatch.setattr(recovery, "run_one", capture)
    with pytest.raises(KeyboardInterrupt):
        recovery.main(["--datasets", "torus", "--methods", "ada_gvae", "--seeds", "0"])
    assert sweeps[0].steps == 1234
    for method in recovery.METHODS:
        config, _ = recovery.run_config("torus", method, 0, sweeps[0])
        assert config.model.options["width"] == 24, method
        assert config.train.steps == 1234, method
    labels, _ = recovery.run_config("sprites", "product_labels", 0, sweeps[0])
    assert labels.objective.options["orbit_weight"] == 0


def test_a_sweep_with_rows_missing_trains_on_a_file_and_reads_the_whole_grid(tmp_path, monkeypatch):
    monkeypatch.setattr(recovery, "SAMPLES", 200)
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    out = tmp_path / "runs"
    argv = ["--datasets", "torus", "--methods", "product_weak", "--seeds", "0", "--steps", "2"]
    argv += ["--out", str(out), "--missing", "0.2", "--record", "recovery_test"]
    for item in TINY:
        argv += ["--set", item]
    recovery.main(argv)
    from prodvae.data import from_file, get_dataset

    file = from_file(out / "torus-32px-missing0.2.npz")
    grid = get_dataset("torus", image_size=32)
    assert not file.is_grid and 0.75 * len(grid) < len(file) < 0.85 * len(grid)
    assert file.image_shape == grid.image_shape and file.spec == grid.spec
    run = out / "torus-missing0.2-product_weak-s0"
    config = load_config(run / "config.yaml")
    assert config.data.name == "file" and config.data.path == str(out / "torus-32px-missing0.2.npz")
    (row,) = load("recovery_test", tmp_path / "results")["results"]["rows"]
    assert row["dataset"] == "torus"
    assert [f["factor"] for f in row["factors"]] == ["long_hand", "short_hand"]
    assert "#### torus (20% of its rows missing: a file, no grid)" in render(
        load("recovery_test", tmp_path / "results")
    )
    with pytest.raises(SystemExit):
        recovery.main([*argv[:-2], "--missing", "1.0"])


def test_runs_trained_two_at_once_are_those_trained_here_at_one_thread(tmp_path, monkeypatch):
    # --jobs 2: each run in a process of its own at one thread (half of 2): the same numbers
    # as the runs trained one after another in this process at one thread
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    argv = ["--datasets", "torus", "--methods", "product_weak", "--seeds", "0", "1"]
    argv += ["--steps", "2", *[item for change in TINY for item in ("--set", change)]]
    with monkeypatch.context() as patched:  # the threads shared out: 2 // 2
        patched.setattr(torch, "get_num_threads", lambda: 2)
        recovery.main([*argv, "--jobs", "2", "--out", str(tmp_path / "two"), "--record", "two"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        recovery.main([*argv, "--out", str(tmp_path / "one"), "--record", "one"])
    finally:
        torch.set_num_threads(threads)
    two, one = (load(name, tmp_path / "results")["results"] for name in ("two", "one"))
    assert [row["seed"] for row in two["rows"]] == [0, 1]  # in the order asked
    assert [row["factors"] for row in two["rows"]] == [row["factors"] for row in one["rows"]]
    assert all(row["trained_now"] and row["threads"] == 1 for row in two["rows"] + one["rows"])
    assert (two["settings"]["jobs"], one["settings"]["jobs"]) == (2, 1)
    table = render(load("two", tmp_path / "results"))
    seconds = two["settings"]["sweep_seconds"]
    assert (
        f"The sweep trained and read its 2 runs 2 at once (1 thread each) in {seconds:.0f} s: "
        f"{seconds / 2:.0f} s of the machine a run." in table
    )
    # read again, not trained: no machine's seconds a run (the sweep trained none of them)
    recovery.main([*argv, "--jobs", "2", "--out", str(tmp_path / "two"), "--record", "two"])
    again = load("two", tmp_path / "results")
    assert not any(row["trained_now"] or row["threads"] for row in again["results"]["rows"])
    assert "of the machine a run" not in render(again)


def test_jobs_below_one_are_refused(capsys):
    with pytest.raises(SystemExit):
        recovery.main(["--jobs", "0"])
    assert "--jobs must be at least 1, got 0" in capsys.readouterr().err


def test_a_dataset_file_trains_as_a_users_file_and_is_read_on_its_grid(tmp_path, monkeypatch):
    from benchmarks import unseen

    from prodvae.data import from_file

    monkeypatch.setattr(recovery, "SAMPLES", 200)
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    unseen.main(["--out", str(tmp_path), "--files", "photo"])
    path, out = tmp_path / "photo.npz", tmp_path / "runs"
    argv = ["--datasets", str(path), "--methods", "product_weak", "--seeds", "0", "--steps", "2"]
    argv += ["--out", str(out), "--record", "recovery_test"]
    recovery.main([*argv, *[item for change in TINY for item in ("--set", change)]])
    config = load_config(out / "photo-product_weak-s0" / "config.yaml")
    assert (config.data.name, config.data.path, config.data.options) == ("file", str(path), {})
    (row,) = load("recovery_test", tmp_path / "results")["results"]["rows"]
    assert row["dataset"] == "photo"
    assert [(f["factor"], f["kind"]) for f in row["factors"]] == [
        ("turn", "loop"),
        ("hue", "loop"),
        ("size", "segment"),
    ]
    table = render(load("recovery_test", tmp_path / "results"))
    assert "#### photo (the file photo.npz)" in table
    assert "2 steps at each file's own image size" in table  # not --image-size
    # a fifth of the file's rows left out: trained on what is left, read on the whole file
    argv = [*argv[:-1], "recovery_gappy", "--missing", "0.2"]
    recovery.main([*argv, *[item for change in TINY for item in ("--set", change)]])
    gappy = from_file(out / "photo-missing0.2.npz")
    whole = from_file(path)
    assert not gappy.is_grid and 0.75 * len(whole) < len(gappy) < 0.85 * len(whole)
    config = load_config(out / "photo-missing0.2-product_weak-s0" / "config.yaml")
    assert config.data.path == str(out / "photo-missing0.2.npz")
    (row,) = load("recovery_gappy", tmp_path / "results")["results"]["rows"]
    assert row["dataset"] == "photo" and len(row["factors"]) == 3
    table = render(load("recovery_gappy", tmp_path / "results"))
    assert "#### photo (the file photo.npz, 20% of its rows missing: no grid)" in table
    # another file of that stem (here at 16 px) would reuse it: one error instead
    unseen.main(["--out", str(tmp_path / "small"), "--files", "photo", "--image-size", "16"])
    with pytest.raises(ValueError, match="was written from another dataset than"):
        recovery.gappy_file(
            str(tmp_path / "small" / "photo.npz"), recovery.Sweep(2, 32, out, (), 0.2)
        )
    with pytest.raises(ValueError, match="missing0.2.npz: --missing leaves rows out of a grid"):
        recovery.gappy_file(str(out / "photo-missing0.2.npz"), recovery.Sweep(2, 32, out, (), 0.2))
    with pytest.raises(FileNotFoundError, match="no dataset file"):
        recovery.run_config(str(tmp_path / "no.npz"), "product_weak", 0, recovery.Sweep(2, 32, out))


def test_two_files_of_one_stem_are_refused(capsys):
    with pytest.raises(SystemExit):
        recovery.main(["--datasets", "a/mine.npz", "b/mine.h5"])
    assert "two datasets of one name (files are named by their stem)" in capsys.readouterr().err


def test_a_file_that_is_no_grid_is_read_on_its_rows(tmp_path, monkeypatch):
    import math

    from tests.data.labelled_files import objects_at_angles, write_labelled_file

    monkeypatch.setattr(recovery, "SAMPLES", 300)
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    kinds = ("points", "loop", "segment")
    path = write_labelled_file(
        tmp_path / "photos.npz",
        objects_at_angles(),
        kinds,
        periods={1: 2 * math.pi},
        image_size=32,
    )
    argv = ["--datasets", str(path), "--methods", "product_weak", "--seeds", "0", "--steps", "2"]
    argv += ["--out", str(tmp_path / "runs"), "--record", "recovery_rows"]
    recovery.main([*argv, *[item for change in TINY for item in ("--set", change)]])
    (row,) = load("recovery_rows", tmp_path / "results")["results"]["rows"]
    assert [(f["factor"], f["kind"]) for f in row["factors"]] == list(
        zip(("f0", "f1", "f2"), kinds)
    )
    assert all(0 <= f["score"] <= 1 for f in row["factors"])
    assert row["factors"][1]["winding"] is not None  # the loop's angles read round 20 bins


def test_a_loop_whose_symmetry_hangs_on_another_factor_is_read_by_symmetry(
    tmp_path, monkeypatch, capsys
):
    from benchmarks import unseen

    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path / "results"))
    unseen.main(["--out", str(tmp_path), "--files", "mixed", "--image-size", "16"])
    argv = ["--datasets", str(tmp_path / "mixed.npz"), "--methods", "product_weak"]
    argv += ["--seeds", "0", "--steps", "2", "--out", str(tmp_path / "runs")]
    recovery.main([*argv, "--record", "recovery_mixed", *[x for c in TINY for x in ("--set", c)]])
    (row,) = load("recovery_mixed", tmp_path / "results")["results"]["rows"]
    turn = next(f for f in row["factors"] if f["factor"] == "turn")
    # each picture's symmetry read on its own rows, largest group first, summing to all
    assert sorted(g["folds"] for g in turn["groups"]) == [1, 2, 4]
    rows = [g["rows"] for g in turn["groups"]]
    assert rows == sorted(rows, reverse=True) and min(rows) > 0
    weighted = sum(g["rows"] * g["score"] for g in turn["groups"]) / sum(rows)
    assert weighted == pytest.approx(turn["score"], abs=1e-12)
    assert all("groups" not in f for f in row["factors"] if f["factor"] != "turn")
    assert "turn " in capsys.readouterr().out and "4-fold" in recovery.describe(row)


def _children(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_a_killed_sweep_leaves_no_run_training(tmp_path):
    """``kill`` of a ``--jobs 2`` sweep stops its workers' runs too (each checkpoints and
    stops after its step): before, the two went on training, unseen, into their folders."""
    out = tmp_path / "runs"
    argv = ["--datasets", "torus", "--methods", "product_weak", "--seeds", "0", "1"]
    argv += ["--steps", "1000000", "--jobs", "2", "--out", str(out)]
    argv += [item for change in TINY for item in ("--set", change)]
    root = Path(__file__).resolve().parents[2]
    sweep = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.recovery", *argv],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not all(
            (out / f"torus-product_weak-s{s}" / "metrics.jsonl").is_file() for s in (0, 1)
        ):
            assert sweep.poll() is None and time.monotonic() < deadline, "the runs never started"
            time.sleep(0.2)
        workers += _children(sweep.pid)
        assert len([pid for pid in workers if _alive(pid)]) >= 2  # the two runs training
        sweep.send_signal(signal.SIGTERM)
        sweep.wait(30)
        deadline = time.monotonic() + 60  # a tiny step, then a checkpoint
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "a run trains on after its sweep died"
    finally:  # nothing left running, whatever failed
        workers += _children(sweep.pid)
        sweep.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_call_outside_a_sweeps_worker_returns_as_it_would():
    from benchmarks.workers import call_in_worker

    assert call_in_worker(sum, [1, 2, 3]) == 6  # and this process goes on
