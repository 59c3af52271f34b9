"""Renderer throughput vs conv-VAE training throughput on the same machine.

The procedural datasets must render 64x64 images at least 10x faster than the standard
Burgess conv VAE (REFERENCE.md section 5: 4 stride-2 4x4 convs 32-32-64-64, FC 256,
10 latents, Bernoulli loss, Adam 1e-4) trains on them at batch 64, so rendering on the fly
never limits training.

    python benchmarks/render_throughput.py [--device cuda] [--seconds 3] [--clock cpu]

``--clock cpu`` times one torch thread by its own CPU time (``time.thread_time``), which
stays fair when other processes load the machine; ``wall`` (default) uses all threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from prodvae.data import DATASETS, ProceduralDataset, get_dataset

IMAGE_SIZE = 64
BATCH = 64


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(step, items_per_call: int, device: torch.device, seconds: float, clock) -> float:
    """Items per second of ``step()``, after two warm-up calls, over about ``seconds``."""
    step(), step()
    synchronise(device)
    calls, start = 0, clock()
    while clock() - start < seconds:
        step()
        calls += 1
    synchronise(device)
    return calls * items_per_call / (clock() - start)


def vae_step_function(device: torch.device, channels: int):
    """One Adam step of the Burgess VAE on a batch of 64 random images."""
    from prodvae.models import build_vae
    from prodvae.models.vae import Posterior
    from prodvae.spaces import ProductSpace

    model = build_vae(
        ProductSpace.parse("euclidean(10)"), "burgess", (channels, IMAGE_SIZE, IMAGE_SIZE)
    )
    model = model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(BATCH, channels, IMAGE_SIZE, IMAGE_SIZE, device=device)

    def step() -> None:
        out = model(x)
        reconstruction = F.binary_cross_entropy_with_logits(out.x_recon, x, reduction="sum")
        kl = model.kl(Posterior(out.mu, out.logvar)).sum()
        loss = (reconstruction + kl) / BATCH
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window per figure")
    parser.add_argument("--render-batch", type=int, default=1024)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    device = torch.device(args.device)
    clock = time.perf_counter
    if args.clock == "cpu":
        if device.type != "cpu":
            parser.error("--clock cpu times CPU work only; use --device cpu")
        torch.set_num_threads(1)
        clock = time.thread_time
    generator = torch.Generator().manual_seed(0)

    train_step = vae_step_function(device, 3)
    print(f"device {device}, torch threads {torch.get_num_threads()}, clock {args.clock}")
    print("train img/s: Burgess VAE, batch 64, 64x64x3, timed just before each render figure\n")
    header = (
        f"{'dataset':<10}{'render batch':>14}{'render img/s':>15}{'train img/s':>14}{'ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    names = [
        n for n, f in DATASETS.items() if isinstance(f, type) and issubclass(f, ProceduralDataset)
    ]
    for name in sorted(names):
        dataset = get_dataset(name, image_size=IMAGE_SIZE)
        for batch in (BATCH, args.render_batch):
            values = dataset.sample_values(batch, generator)
            # timed side by side so that load from other processes hits both figures alike
            train = rate(train_step, BATCH, device, args.seconds, clock)
            render = rate(
                partial(dataset.render, values, device), batch, device, args.seconds, clock
            )
            verdict = "ok" if render >= 10 * train else "below 10x"
            figures = f"{render:>15,.0f}{train:>14,.0f}{render / train:>8.1f}x"
            print(f"{name:<10}{batch:>14}{figures}  {verdict}")
            rows.append(
                {
                    "dataset": name,
                    "render_batch": batch,
                    "render_per_s": render,
                    "train_per_s": train,
                    "ratio": render / train,
                }
            )
    settings = {
        "device": str(device),
        "seconds": args.seconds,
        "clock": args.clock,
        "threads": torch.get_num_threads(),
        "target": 10.0,
    }
    from benchmarks.results import record

    print(f"\nwrote {record('render_throughput', {'settings': settings, 'rows': rows})}")


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
