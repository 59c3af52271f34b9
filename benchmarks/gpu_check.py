"""One script for a lent GPU: is the fast path there, and how fast is ``burgess``?

Checks, printed as one JSON object:

- CUDA available (device name, capability, memory);
- a bf16 autocast training step gives a finite loss;
- ``torch.compile`` of the encoder and decoder works (and how long compiling takes);
- training images held on the device as uint8 (rendered by ``orbit``, 64x64x3);
- images/s of the training step (random batch from the resident uint8 images, convert, forward,
  Bernoulli ELBO, backward, Adam) at batch 64 and 256, plain fp32 / bf16 / bf16 + compile;
- the time of a 300k-step standard-protocol run (REFERENCE.md section 5: batch 64, 10 Euclidean
  latents, Adam lr 1e-4, beta-VAE) extrapolated from the fastest batch-64 setting.

    python benchmarks/gpu_check.py                       # on the GPU
    python benchmarks/gpu_check.py --device cpu --steps 5 --batch-sizes 8 --no-compile

Exit status 0 when every check passed; 1 when one failed (an exception, a non-finite loss,
images not resident as uint8) or when CUDA is asked for (the default ``--device cuda``) and is
missing. The failures are listed in the report's ``failures`` and on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Any

import torch

PROTOCOL_STEPS = 300_000


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def resident_images(num_images: int, image_size: int, device: torch.device) -> torch.Tensor:
    """``uint8 [num_images, 3, S, S]`` orbit renders held on ``device``."""
    from prodvae.data import get_dataset

    dataset = get_dataset("orbit", image_size=image_size)
    generator = torch.Generator().manual_seed(0)
    blocks = []
    for start in range(0, num_images, 1024):
        count = min(1024, num_images - start)
        blocks.append(
            dataset.images_from_factors(dataset.sample_factors(count, generator), device=device)
        )
    return torch.cat(blocks)


def build(image_size: int, device: torch.device, compile_model: bool):
    from prodvae.models import build_vae
    from prodvae.objectives import get_objective
    from prodvae.spaces import ProductSpace

    torch.manual_seed(0)
    model = build_vae(ProductSpace.parse("euclidean(10)"), "burgess", (3, image_size, image_size))
    model.to(device)
    if compile_model:
        for child in model.children():
            child.compile()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    return model, get_objective("beta_vae", beta=1.0), optimizer


def train_step(model, objective, optimizer, images, batch_size, step, bf16) -> float:
    device = images.device
    rows = torch.randint(images.shape[0], (batch_size,), device=device)
    x = images[rows].float().div_(255.0)
    optimizer.zero_grad(set_to_none=True)
    with autocast(device, bf16):
        loss, _ = objective(model, x, step)
    loss.backward()
    optimizer.step()
    return loss


def throughput(images, batch_size, steps, bf16, compile_model, warmup) -> dict[str, Any]:
    device = images.device
    model, objective, optimizer = build(images.shape[-1], device, compile_model)
    start = time.perf_counter()
    for step in range(warmup):
        loss = train_step(model, objective, optimizer, images, batch_size, step, bf16)
    sync(device)
    warmup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for step in range(steps):
        loss = train_step(model, objective, optimizer, images, batch_size, warmup + step, bf16)
    sync(device)
    seconds = (time.perf_counter() - start) / steps
    return {
        "batch_size": batch_size,
        "bf16": bf16,
        "compile": compile_model,
        "ms_per_step": 1000 * seconds,
        "images_per_s": batch_size / seconds,
        "warmup_seconds": warmup_seconds,
        "loss_finite": bool(torch.isfinite(loss.detach().float()).item()),
    }


def check(label: str, fn) -> dict[str, Any]:
    """Run ``fn``; ``{"ok": True, ...its dict}`` or ``{"ok": False, "error": ...}``."""
    try:
        return {"ok": True, **fn()}
    except Exception as error:  # noqa: BLE001 -- a failed check is a result, not a crash
        return {"ok": False, "error": f"{label}: {type(error).__name__}: {error}"}


def environment(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {"torch": torch.__version__, "device": str(device)}
    info["cuda_available"] = torch.cuda.is_available()
    if device.type == "cuda" and info["cuda_available"]:
        properties = torch.cuda.get_device_properties(device)
        info.update(
            name=properties.name,
            capability=f"{properties.major}.{properties.minor}",
            memory_gib=properties.total_memory / 2**30,
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    return info


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    report: dict[str, Any] = {"environment": environment(device)}
    if device.type == "cuda" and not torch.cuda.is_available():
        report["error"] = "CUDA is not available"
        return report
    images = resident_images(args.num_images, args.image_size, device)
    report["resident"] = {
        "dtype": str(images.dtype),
        "device": str(images.device),
        "shape": list(images.shape),
        "bytes": images.numel() * images.element_size(),
        "ok": images.dtype == torch.uint8 and images.device.type == device.type,
    }
    settings = [(False, False), (True, False)] + ([(True, True)] if args.compile else [])
    report["bf16_step"] = check(
        "bf16", lambda: throughput(images, args.batch_sizes[0], 1, True, False, warmup=1)
    )
    if args.compile:
        report["compile_step"] = check(
            "compile", lambda: throughput(images, args.batch_sizes[0], 1, False, True, warmup=2)
        )
    rows = []
    for batch_size in args.batch_sizes:
        for bf16, compile_model in settings:
            rows.append(
                check(
                    "throughput",
                    lambda b=batch_size, f=bf16, c=compile_model: throughput(
                        images, b, args.steps, f, c, warmup=args.warmup
                    ),
                )
            )
    report["throughput"] = rows
    report["protocol"] = extrapolate(rows, args.protocol_steps)
    return report


def extrapolate(rows: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """Hours of ``steps`` steps at batch 64 with the fastest working setting."""
    usable = [r for r in rows if r.get("ok") and r["batch_size"] == 64 and r["loss_finite"]]
    if not usable:
        return {"steps": steps, "hours": None, "note": "no working batch-64 measurement"}
    best = min(usable, key=lambda r: r["ms_per_step"])
    return {
        "steps": steps,
        "batch_size": 64,
        "bf16": best["bf16"],
        "compile": best["compile"],
        "hours": steps * best["ms_per_step"] / 1000 / 3600,
        "note": "training steps only; evaluation and checkpoints not included",
    }


def failures(report: dict[str, Any]) -> list[str]:
    """What went wrong in ``report``; empty when every check passed."""
    found = [report["error"]] if "error" in report else []
    if "resident" in report and not report["resident"]["ok"]:
        found.append(
            f"resident: images are {report['resident']['dtype']} on "
            f"{report['resident']['device']}, not uint8 on the device"
        )
    steps = [report.get("bf16_step"), report.get("compile_step"), *report.get("throughput", [])]
    for result in filter(None, steps):
        if not result["ok"]:
            found.append(result["error"])
        elif not result["loss_finite"]:
            found.append(
                f"non-finite loss at batch {result['batch_size']} "
                f"(bf16={result['bf16']}, compile={result['compile']})"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per setting")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per setting")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--num-images", type=int, default=20000, help="images held on device")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--protocol-steps", type=int, default=PROTOCOL_STEPS)
    args = parser.parse_args(argv)
    for name in ("steps", "num_images", "image_size", "protocol_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    report = run(args)
    report["failures"] = failed = failures(report)
    print(json.dumps(report, indent=2))
    for failure in failed:
        print(f"gpu_check: FAILED {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
