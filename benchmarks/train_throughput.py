"""End-to-end training throughput beside the raw training step, images per second.

The *raw step* is forward + backward + AdamW on one batch that already sits on the device
as a float tensor: the upper bound for the loop. Raw chunks and loop windows of ``--steps``
steps are timed in turn, ``--repeats`` loop windows per row, and each loop window is divided by
the mean of the raw chunks on either side of it: the row's ratio is the median of these paired
ratios (a 2-core virtual machine's speed drifts by 10-20% over minutes; pairing cancels it).
The *loop* is ``prodvae.train.train`` on the same model, objective and batch size, with its
data pipeline, non-finite check, clipping, logging and progress bookkeeping. Data sources:

- ``held``: a stored dataset (the sprites grid, written as uint8) held on the device;
- ``loader``: the same dataset read by DataLoader workers (``data.hold_on_device=never``);
- ``rendered``: procedural sprites rendered on the training device every step.

Target: loop / raw >= 0.95 on the CPU for every source (rendered batches are made on a
thread during the step before). The figures go to ``benchmarks/results/train_throughput.json``
(``python -m benchmarks.tables`` makes the README table from it). Run:

    .venv/bin/python benchmarks/train_throughput.py                 # burgess+resnet, 64 and 256
    .venv/bin/python benchmarks/train_throughput.py --backbones burgess --batches 64 --steps 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prodvae.data import get_dataset
from prodvae.data.array_dataset import ArrayDataset
from prodvae.train import load_config, read_metrics, train
from prodvae.train.build import build_components
from prodvae.train.distributed import pick_device

#: loop / raw step, every backbone, batch and source
TARGET = 0.95


def stored_sprites(image_size: int, num_images: int, seed: int = 0) -> ArrayDataset:
    """``num_images`` random sprites as a stored (non-procedural) dataset."""
    sprites = get_dataset("sprites", image_size=image_size)
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(len(sprites), generator=generator)[:num_images].numpy()
    images = sprites.images_at(rows).permute(0, 2, 3, 1).numpy()
    factors = sprites.factors_at(rows).numpy()
    return ArrayDataset(images, factors, sprites.spec, grid=None)


def config_for(args, backbone: str, batch: int, source: str, steps: int, run_dir: Path):
    overrides = [
        "data.name=sprites",
        f"data.options={{image_size: {args.image_size}}}",
        f"data.hold_on_device={'never' if source == 'loader' else 'auto'}",
        f"model.backbone={backbone}",
        f"objective.name={args.objective}",
        f"train.batch_size={batch}",
        f"train.steps={steps}",
        f"train.log_every={args.steps}",
        f"train.checkpoint_every={10 * steps}",
        f"train.device={args.device}",
        f"train.num_workers={args.num_workers}",
        "train.progress=false",
        "eval.at_end=false",
        "run.tensorboard=false",
        f"run.dir={run_dir}",
        "run.name=bench",
    ]
    return load_config(None, overrides)


def raw_step_rates(config, dataset, device: torch.device, steps: int, warmup: int, chunks: int):
    """Images/s of forward + backward + AdamW on one fixed in-memory batch, for each of
    ``chunks`` consecutive chunks of ``steps`` steps."""
    parts = build_components(config, dataset=dataset)
    model = parts.model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.train.lr)
    rows = np.arange(config.train.batch_size) % len(dataset)
    x = (dataset.images_at(rows).float() / 255).to(device)
    autocast = device.type == "cuda" and config.train.amp

    def step(index: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss, _ = parts.objective(model, x, index)
        loss.backward()
        optimizer.step()

    for index in range(warmup):
        step(index)
    rates = []
    for chunk in range(chunks):
        _sync(device)
        start = time.perf_counter()
        for index in range(steps):
            step(warmup + chunk * steps + index)
        _sync(device)
        rates.append(steps * config.train.batch_size / (time.perf_counter() - start))
    return rates


def loop_rates(config, dataset) -> list[float]:
    """Images/s of each of the loop's log windows but the first (the warm-up)."""
    run_dir = Path(config.run.dir) / config.run.name
    train(config, run_dir, hooks=[], dataset=dataset)
    return [float(line["images_per_s"]) for line in read_metrics(run_dir)[1:]]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args, backbone: str, batch: int, source: str, stored, device) -> dict[str, Any]:
    """One row: raw chunks and loop windows taken in turn (raw, loop, raw, loop, ..., raw),
    each loop window divided by the mean of the raw chunks just before and after it, so that
    a drift in the machine's speed over the minutes of a row cancels in each ratio; the row's
    ratio is the median of these."""
    with tempfile.TemporaryDirectory() as tmp:
        base = config_for(args, backbone, batch, "held", args.steps, Path(tmp) / "raw")
        raw = raw_step_rates(base, stored, device, args.steps, args.warmup, 1)
        loop, ratios = [], []
        for repeat in range(args.repeats):
            # one warm-up log window, then one timed window
            config = config_for(
                args, backbone, batch, source, 2 * args.steps, Path(tmp) / f"{repeat}"
            )
            windows = loop_rates(config, None if source == "rendered" else stored)
            raw += raw_step_rates(base, stored, device, args.steps, args.warmup, 1)
            around = (raw[-2] + raw[-1]) / 2
            loop += windows
            ratios += [window / around for window in windows]
    return {
        "backbone": backbone,
        "batch": batch,
        "source": source,
        "raw_per_s": statistics.median(raw),
        "loop_per_s": statistics.median(loop),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "raw_range": [min(raw), max(raw)],
        "loop_range": [min(loop), max(loop)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbones", nargs="+", default=["burgess", "resnet"])
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 256])
    parser.add_argument(
        "--sources", nargs="+", default=["held", "rendered"], choices=["held", "loader", "rendered"]
    )
    parser.add_argument("--objective", default="product")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--num-images", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed raw steps first")
    parser.add_argument(
        "--repeats", type=int, default=5, help="loop windows (each between two raw chunks) per row"
    )
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    stored = stored_sprites(args.image_size, args.num_images)
    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.image_size} px sprites")
    print(
        f"{'backbone':<9} {'batch':>5} {'source':<9} "
        f"{'raw img/s':>10} {'loop img/s':>11} {'ratio':>6}"
    )
    rows = []
    for backbone in args.backbones:
        for batch in args.batches:
            for source in args.sources:
                row = measure(args, backbone, batch, source, stored, device)
                rows.append(row)
                (raw_low, raw_high), (loop_low, loop_high) = row["raw_range"], row["loop_range"]
                low, high = row["ratio_range"]
                print(
                    f"{backbone:<9} {batch:>5} {source:<9} {row['raw_per_s']:>10.1f} "
                    f"{row['loop_per_s']:>11.1f} {row['ratio']:>6.2f}   (ratios {low:.2f}-"
                    f"{high:.2f}; raw {raw_low:.1f}-{raw_high:.1f}, loop {loop_low:.1f}-"
                    f"{loop_high:.1f})"
                )
    settings = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "image_size": args.image_size,
        "objective": args.objective,
        "steps": args.steps,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "num_workers": args.num_workers,
        "target": TARGET,
    }
    from benchmarks.results import record

    print(f"\nwrote {record('train_throughput', {'settings': settings, 'rows': rows})}")


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
