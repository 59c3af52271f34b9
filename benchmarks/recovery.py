"""Is each ground-truth factor learned with its own topology? Per factor, per seed, through
the trainer.

For every dataset, method and seed this trains one run with :func:`prodvae.train.train` --
the path ``prodvae train`` takes -- from ``configs/product_weak.yaml`` with
``data.name=<dataset>``, then reads each factor's recovery on fresh grid samples with
:func:`prodvae.metrics.factor_recovery`: factors and latent factors paired one to one; a
loop recovered when its block's angle follows it (circular alignment >= 0.9 at its symmetry
harmonic) and winds once (``+-1``); a segment at ``|Spearman|`` >= 0.9; points at matched
accuracy >= 0.9. Methods, all with the recipe's data, network width and budget (its steps,
unless ``--steps`` says otherwise):

- ``product_weak``: the recipe as it is (the product prior on weak pairs that say which
  factor they change);
- ``ada_gvae``: Ada-GVAE (Locatello et al. 2020) on the same pairs with a Euclidean latent
  of 10 dimensions, which detects what a pair changed (it is not told), with the recipe's
  Bernoulli likelihood (the Gaussian of scale 0.2 that it recovered most with at width 16
  leaves sprites' decoder stuck at black at width 32: every pixel it misses saturated from
  step 100 to 3600); a loop is read from its best pair of dimensions;
- ``product``: the product prior without pairs (``weak: none``, no anchor, no HSIC; the
  recipe's likelihood and start);
- ``product_discover``: the recipe with ``model.space: discover``: the trainer first reads
  each factor's kind from the data (:mod:`prodvae.train.discovery`), then trains the
  product prior on that space;
- ``product_labels``: the recipe told every image's factor values instead of given pairs
  (``labelled_fraction: 1``, each factor's label pulling its own block,
  :mod:`prodvae.objectives.semi_supervision`): what this network learns at this budget when
  nothing is left to infer -- a factor it misses is out of the budget's reach, not the
  prior's or the pairs'. It has no orbit pull (which reads latent factor k's orbits from
  pairs that say which factor they change).

    python -m benchmarks.recovery --datasets torus sprites orbit --seeds 0 1 2 3 4 \\
        --record recovery_cpu_recipe_orbits

With ``--jobs 2`` two runs train at once, each in its own process at one thread on 2 cores
(as the recipe's table was recorded: two runs of one thread keep 2 cores busier than one of
two); the table then says the machine's seconds a run (the sweep's wall time over its runs).

With ``--missing F`` each dataset is first written to a file with a share ``F`` of its grid's
rows left out (``<out>/<dataset>-<size>px-missing<F>.npz``; a dataset file's grid:
``<out>/<stem>-missing<F>.npz``, an error where one written from another file of that stem
lies): the runs train on that file, which is no grid (pairs and
orbits read from its rows, as from a user's file), and are read on the whole grid, the rows
they never saw included.

A dataset file (``.npz``, ``.h5``: a user's own data, or those :mod:`benchmarks.unseen`
writes) trains as ``data.name=file`` at its own image size and is read on its own grid, or,
when it is no grid, on its rows (:func:`prodvae.metrics.samples.draw`: continuous factors in
bins); its rows and runs are named by the file's stem. A run is known by
its config, which names the file's path, not what it holds: a file rewritten in place (other
images, another size) needs another ``--out``, or its finished runs are read on the new file.

A run folder that already holds a finished run of the same config is scored again, not
retrained, so an interrupted sweep continues where it stopped; a finished run of another
config (the recipe changed since) is one error naming what differs: sweep into another
``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from benchmarks.recovery_data import Sweep, dataset_name, gappy_file, is_file, source
from benchmarks.results import record
from benchmarks.workers import call_in_worker, start_worker
from prodvae.data import GroundTruthDataset
from prodvae.metrics import factor_recovery, intrinsic_codes, latent_groups
from prodvae.metrics.samples import draw
from prodvae.train import Config, load_config, load_run, train
from prodvae.train.build import build_dataset
from prodvae.train.checkpoint import check_identity, read_state

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "product_weak.yaml"
SAMPLES = 2000


def methods(recipe: Path | None = None) -> dict[str, tuple[str, ...]]:
    """What each method changes in ``recipe`` (the recipe file by default; ``--set`` strings,
    applied in order). Every method keeps the recipe's data, steps and network width."""
    width = load_config(recipe or RECIPE).model.options["width"]
    return {
        "product_weak": (),
        "ada_gvae": (
            "model.space=euclidean^10",
            f"model.options={{width: {width}, encoder_activation: leaky_relu, initial_logvar: -4}}",
            "objective.name=ada_gvae",
            "objective.options={likelihood: bernoulli}",
        ),
        "product": (  # its points blocks Gaussian, as before the recipe read them by logits
            "model.options.posterior={points: gaussian}",
            "objective.options={likelihood: bernoulli, warmup_steps: 200, anneal_steps: 300,"
            " normalise_steps: 500}",
        ),
        "product_discover": ("model.space=discover",),
        "product_labels": (
            "objective.options.weak=none",
            "objective.options.changed=detect",
            "objective.options.consistency_weight=0",
            "objective.options.separation_weight=0",
            "objective.options.labelled_fraction=1.0",
            "objective.options.orbit_weight=0",  # labels alone (the pull needs changed: known)
            "model.options.posterior={points: gaussian}",  # labels pull the means
            "objective.options.assignment_weight=0",
            "objective.options.balance_weight=0",
            "objective.options.orbit_points_weight=0",
            "objective.options.orbit_kept_weight=0",
        ),
    }


#: The methods' names, in the order a sweep runs them.
METHODS = tuple(methods())


def label_map(config: Config) -> str:
    """``product_labels``' label map for the data of ``config``: the k-th factor that varies
    to latent factor k (the order ``model.space: auto`` builds), as a ``--set`` string."""
    spec = build_dataset(config.data).spec
    varying = [column for column, factor in enumerate(spec) if factor.size > 1]
    pairs = ", ".join(f"{column}: {k}" for k, column in enumerate(varying))
    return f"objective.options.label_map={{{pairs}}}"


def run_config(dataset: str, method: str, seed: int, sweep: Sweep):
    """The config of one run, and its folder."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    changes = methods()[method]
    if sweep.missing > 0:  # the file of the grid's rows less some: no grid
        name = f"{dataset_name(dataset)}-missing{sweep.missing:g}-{method}-s{seed}"
        data = ["data.name=file", f"data.path={gappy_file(dataset, sweep)}", "data.options={}"]
    elif is_file(dataset):  # a user's file, read as it is (its own image size)
        if not Path(dataset).is_file():
            raise FileNotFoundError(f"no dataset file {dataset}")
        name = f"{dataset_name(dataset)}-{method}-s{seed}"
        data = ["data.name=file", f"data.path={Path(dataset).resolve()}", "data.options={}"]
    else:
        name = f"{dataset}-{method}-s{seed}"
        data = [f"data.name={dataset}", f"data.options={{image_size: {sweep.image_size}}}"]
    overrides = [
        *data,
        *changes,
        f"train.steps={sweep.steps}",
        f"train.seed={seed}",
        "train.progress=false",
        f"run.dir={sweep.out}",
        f"run.name={name}",
        "run.tensorboard=false",
        *sweep.extra,
    ]
    if method == "product_labels":  # the data as the sweep's changes leave it
        recipe = [item for item in overrides if item not in changes]
        overrides.append(label_map(load_config(RECIPE, recipe)))
    return load_config(RECIPE, overrides), sweep.out / name


def finished(folder: Path, config: Config) -> bool:
    """Whether ``folder`` holds a run of ``config`` checkpointed at its last step (the
    trainer's last save); a checkpoint there written by another config is an error."""
    last = folder / "checkpoints" / f"step_{config.train.steps:08d}"
    if not last.is_dir():
        return False
    state, identity = read_state(last), config.identity()
    if identity.get("model.space") == "discover":  # the run holds the space read from its data
        identity["model.space"] = state.get("identity", {}).get("model.space")
    check_identity(last, state, identity)
    return True


def read_factors(
    folder: Path, seed: int, samples: int = SAMPLES, dataset: GroundTruthDataset | None = None
) -> list[dict[str, Any]]:
    """Each factor's recovery by the run in ``folder``, on ``samples`` fresh grid images (of
    ``dataset``; by default the run's own), or on a file that is no grid, ``samples`` of its
    rows scored at their values (:func:`prodvae.metrics.samples.draw`)."""
    loaded = load_run(folder, dataset=dataset)  # the run's own file is then never loaded
    generator = torch.Generator().manual_seed(10_000 + seed)

    def encode(images: torch.Tensor) -> torch.Tensor:
        chunks = (images.float() / 255).split(500)
        return torch.cat([loaded.model.codes(chunk) for chunk in chunks]).double()

    drawn = draw(loaded.dataset, encode, samples, generator)
    codes = intrinsic_codes(drawn.ambient, latent_groups(loaded.space))
    report = factor_recovery(codes, drawn.factors, drawn.spec)
    return [
        {
            "factor": r.name,
            "kind": r.kind,
            "columns": list(r.columns),
            "score": r.score,
            "winding": r.winding,
            "recovered": r.recovered,
            # a loop whose symmetry hangs on another factor: each symmetry's own reading
            **({"groups": [asdict(group) for group in r.groups]} if r.groups else {}),
        }
        for r in report
    ]


def run_one(dataset: str, method: str, seed: int, sweep: Sweep):
    """Train (unless done) and read one run; its row of the results."""
    config, folder = run_config(dataset, method, seed, sweep)
    timing = folder / "recovery_seconds.json"  # the training's wall time, kept for rereads
    trained = not finished(folder, config)
    if trained:
        resumed = (folder / "config.yaml").is_file()
        start = time.perf_counter()
        outcome = train(config, folder, resume=resumed)
        if outcome.status != "finished":
            raise RuntimeError(f"{folder.name}: training ended {outcome.status}")
        if not resumed:  # a resumed run's time is only its last part: left unknown
            timing.write_text(json.dumps(time.perf_counter() - start))
    seconds = json.loads(timing.read_text()) if timing.is_file() else None
    grid = source(dataset, sweep) if sweep.missing > 0 else None
    factors = read_factors(folder, seed, dataset=grid)  # a file's run: read on the whole grid
    record = folder / "discovery.json"
    discovered = json.loads(record.read_text()) if record.is_file() else None
    if discovered is not None:  # the kind taken for each factor (absent: not read)
        for entry in factors:
            entry["discovered"] = discovered["factors"].get(entry["factor"])
    return {
        "dataset": dataset_name(dataset),
        "method": method,
        "seed": seed,
        "steps": sweep.steps,
        "train_seconds": seconds,
        "trained_now": trained,  # by this sweep (else read again)
        "threads": torch.get_num_threads() if trained else None,  # the training's
        "trained_at": json.loads((folder / "meta.json").read_text()).get("git_commit"),
        "factors": factors,
    }


def run_sweep(
    todo: list[tuple[str, str, int]], sweep: Sweep, jobs: int
) -> Iterator[dict[str, Any]]:
    """The rows of the runs ``todo`` (dataset, method, seed), in that order: trained one after
    another here, or ``jobs`` at once, each in a process of its own with this one's torch
    threads shared out (on 2 cores, two runs of one thread each keep both cores busier than
    one run of two: a small network's kernels split poorly). A run's numbers are those of its
    thread count: the same as a run here at that count."""
    jobs = min(jobs, len(todo))
    if jobs <= 1:
        for dataset, method, seed in todo:
            yield run_one(dataset, method, seed, sweep)
        return
    if sweep.missing > 0:  # each file written once, before the processes read it
        for dataset in dict.fromkeys(dataset for dataset, _, _ in todo):
            gappy_file(dataset, sweep)
    threads = max(1, torch.get_num_threads() // jobs)
    context = multiprocessing.get_context("spawn")  # no OpenMP state inherited by a fork
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=start_worker, initargs=(threads, os.getpid())
    ) as pool:
        futures = [pool.submit(call_in_worker, run_one, *run, sweep) for run in todo]
        try:
            for future in futures:
                yield future.result()
        except BaseException:  # a run failed (or Ctrl-C): the runs not started are dropped
            pool.shutdown(cancel_futures=True)
            raise


def describe(row: dict[str, Any]) -> str:
    cells = []
    for f in row["factors"]:
        mark = "+" if f["recovered"] else "-"
        winding = "" if f["winding"] is None else f" w{f['winding']:+d}"
        groups = [
            f"{g['folds']}-fold {g['score']:.2f}"
            + ("" if g["winding"] is None else f" w{g['winding']:+d}")
            for g in f.get("groups", ())
        ]
        each = f" ({'; '.join(groups)})" if groups else ""
        cells.append(f"{f['factor']} {f['score']:.2f}{winding}{each}{mark}")
    done = sum(f["recovered"] for f in row["factors"])
    return (
        f"{row['dataset']:8s} {row['method']:13s} seed {row['seed']}: "
        f"{done}/{len(row['factors'])} recovered | " + ", ".join(cells)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["torus", "sprites", "orbit"],
        help="registered datasets, or dataset files (.npz, .h5: labelled images, trained as "
        "data.name=file at their own image size and read on their own grid, or rows)",
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--steps", type=int, help="training steps (default: the recipe's train.steps)"
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "recovery")
    parser.add_argument(
        "--set",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the recipe for every run (its runs go to --out; give each variant its own)",
    )
    parser.add_argument(
        "--missing",
        type=float,
        default=0.0,
        help="train on a file of each grid (a dataset file's too) with this share of its rows "
        "left out (no grid: pairs and orbits read from rows), and read the factors on the "
        "whole grid",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs trained at once, each in its own process with the torch threads shared "
        "out (2 on 2 cores: one thread each; with --set train.num_workers=0, no loader "
        "processes beside them); on Linux a sweep stopped with kill stops them too, each "
        "run in training checkpointed for the next sweep to resume",
    )
    parser.add_argument("--record", metavar="NAME", help="write benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    if not 0 <= args.missing < 1:
        parser.error(f"--missing must be in [0, 1), got {args.missing}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    files = [dataset for dataset in args.datasets if is_file(dataset)]
    if len({dataset_name(d) for d in args.datasets}) < len(set(args.datasets)):
        parser.error("two datasets of one name (files are named by their stem)")
    steps = load_config(RECIPE).train.steps if args.steps is None else args.steps
    sweep = Sweep(steps, args.image_size, args.out, tuple(args.extra), args.missing)
    todo = [(d, m, s) for d in args.datasets for m in args.methods for s in args.seeds]
    todo = list(dict.fromkeys(todo))  # a run asked twice is one folder: trained once
    start, rows = time.perf_counter(), []
    for row in run_sweep(todo, sweep, args.jobs):
        rows.append(row)
        print(describe(row), flush=True)
    sweep_seconds = time.perf_counter() - start
    if args.record:
        settings = {
            "recipe": RECIPE.read_text(),
            "datasets": [dataset_name(dataset) for dataset in args.datasets],
            "files": {dataset_name(file): file for file in files},  # as given
            "methods": args.methods,
            "seeds": args.seeds,
            "steps": steps,
            "image_size": args.image_size,
            "samples": SAMPLES,
            "changes": args.extra,
            "missing": args.missing,
            "jobs": args.jobs,
            "sweep_seconds": sweep_seconds,  # training and reading, every run of the sweep
        }
        print(
            f"wrote {record(args.record, {'settings': settings, 'rows': rows}, table='recovery')}"
        )


if __name__ == "__main__":
    main()
