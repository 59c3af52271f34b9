"""Peak RSS of loading a Shapes3D-sized file, beside the uint8 size of its images.

Writes a file with the schema of ``3dshapes.h5`` (``images`` uint8 [N, 64, 64, 3], ``labels``
float64 [N, 6] forming the full factor grid, orientation fastest) in chunks into a temporary
folder, loads it with ``prodvae.data.get_dataset("shapes3d", data_dir=..., lazy=...)`` in a fresh
process per mode, reads a few training batches, and prints the process's peak RSS, the uint8
size of the images and their ratio. The file is deleted afterwards.

    python benchmarks/memory_rss.py                     # full size: 480000 images, 5.9 GB
    python benchmarks/memory_rss.py --num-images 20000  # a smaller grid (factor sizes shrunk)

Target: eager peak RSS near 1x the uint8 size (plus the interpreter); lazy far below it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FULL_SIZES = (10, 10, 10, 8, 4, 15)  # floor_hue, wall_hue, object_hue, scale, shape, orientation
IMAGE_SHAPE = (64, 64, 3)
FILENAME = "3dshapes.h5"


def grid_sizes(num_images: int) -> tuple[int, ...]:
    """Factor sizes of at most ``num_images`` points: the largest factor shrinks first."""
    if num_images < 2:
        raise ValueError(f"--num-images must be >= 2, got {num_images}")
    sizes = list(FULL_SIZES)
    while math.prod(sizes) > num_images and max(sizes) > 2:
        sizes[int(np.argmax(sizes))] -= 1
    return tuple(sizes)


def factor_values(sizes: tuple[int, ...]) -> list[np.ndarray]:
    """The first ``size`` values of each Shapes3D factor, as in the real file."""
    full = [
        np.arange(10) / 10,
        np.arange(10) / 10,
        np.arange(10) / 10,
        np.linspace(0.75, 1.25, 8),
        np.arange(4, dtype=np.float64),
        np.linspace(-30, 30, 15),
    ]
    return [values[:size] for values, size in zip(full, sizes)]


def write_file(path: Path, sizes: tuple[int, ...], chunk: int = 8192) -> int:
    """Write the file in chunks of ``chunk`` images; returns the image count."""
    import h5py

    values = factor_values(sizes)
    grid = np.stack(np.meshgrid(*values, indexing="ij"), axis=-1).reshape(-1, len(sizes))
    count = grid.shape[0]
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as handle:
        images = handle.create_dataset("images", (count, *IMAGE_SHAPE), dtype=np.uint8)
        for start in range(0, count, chunk):
            stop = min(start + chunk, count)
            images[start:stop] = rng.integers(0, 256, (stop - start, *IMAGE_SHAPE), dtype=np.uint8)
        handle.create_dataset("labels", data=grid)
    return count


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``ru_maxrss`` is in KiB on Linux)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)


def child(data_dir: str, lazy: bool, num_batches: int) -> dict:
    """Load the file and read ``num_batches`` batches of 64; measured in this process."""
    import torch

    from prodvae.data import get_dataset

    baseline = peak_rss_bytes()
    start = time.perf_counter()
    dataset = get_dataset("shapes3d", data_dir=data_dir, lazy=lazy)
    load_seconds = time.perf_counter() - start
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(num_batches):
        batch = dataset.images_from_factors(dataset.sample_factors(64, generator))
        assert batch.dtype == torch.uint8
    batch_seconds = (time.perf_counter() - start) / max(num_batches, 1)
    return {
        "lazy": lazy,
        "num_images": len(dataset),
        "rss_after_imports": baseline,
        "peak_rss": peak_rss_bytes(),
        "rss_now": current_rss_bytes(),
        "load_seconds": load_seconds,
        "seconds_per_batch64": batch_seconds,
    }


def measure(data_dir: Path, lazy: bool, num_batches: int) -> dict:
    command = [sys.executable, __file__, "--child", str(data_dir), "--batches", str(num_batches)]
    if lazy:
        command.append("--lazy")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def report(rows: list[dict], data_bytes: int) -> str:
    gib = 2**30
    lines = [
        f"images uint8: {data_bytes / gib:.2f} GiB ({rows[0]['num_images']} images)",
        f"{'mode':<6} {'peak RSS GiB':>12} {'ratio':>6} {'peak - imports':>15} {'ratio':>6}"
        f" {'load s':>7} {'ms/batch':>9}",
    ]
    for row in rows:
        delta = row["peak_rss"] - row["rss_after_imports"]
        lines.append(
            f"{'lazy' if row['lazy'] else 'eager':<6} {row['peak_rss'] / gib:>12.2f}"
            f" {row['peak_rss'] / data_bytes:>6.2f} {delta / gib:>15.2f} {delta / data_bytes:>6.2f}"
            f" {row['load_seconds']:>7.1f} {1000 * row['seconds_per_batch64']:>9.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-images", type=int, default=math.prod(FULL_SIZES))
    parser.add_argument("--dir", default=None, help="where the temporary folder goes")
    parser.add_argument("--batches", type=int, default=20, help="batches of 64 read after load")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--lazy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.lazy, args.batches)))
        return 0
    sizes = grid_sizes(args.num_images)
    folder = Path(tempfile.mkdtemp(prefix="prodvae-rss-", dir=args.dir))
    try:
        start = time.perf_counter()
        count = write_file(folder / FILENAME, sizes)
        write_seconds = time.perf_counter() - start
        rows = [measure(folder, lazy, args.batches) for lazy in (False, True)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    data_bytes = count * math.prod(IMAGE_SHAPE)
    results = {
        "sizes": sizes,
        "data_bytes": data_bytes,
        "write_seconds": write_seconds,
        "modes": rows,
    }
    if args.json:
        print(json.dumps(results))
    else:
        print(f"grid {sizes}, file written in {write_seconds:.0f} s")
        print(report(rows, data_bytes))
    from benchmarks.results import record

    path = record("memory_rss", results)
    if not args.json:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
