"""Two loop factors on the two-hand ``torus`` dial: does each hand get its own loop?

Trains ``product`` on ``loop(3, 0.5) * loop(3, 0.5)`` (Burgess width 16, 32 px, Gaussian
likelihood of scale 0.2, Adam 2e-3, batch 64), unsupervised or on Ada-GVAE pairs drawn as the
trainer draws them (:func:`prodvae.data.sample_pair_factors`: one hand moves to another of its
40 grid angles), for each seed, and prints per loop block and hand the circular alignment, the
winding number of the block's angle as the hand goes once round (0 is a folded map; shown only
where the alignment is at least 0.3, elsewhere it counts noise) and the mean radius; and, per
hand, how much of it the encoder's features still carry (:func:`feature_r2`: a hand the
encoder has stopped seeing cannot be picked up by any loop).
A seed *separates* the hands when each hand is matched by a different block with alignment
>= 0.8 -- what issue 4 asks of weak supervision.

    python -m benchmarks.torus_loops --weak ada_gvae --steps 6000 --free-bits 4 --seeds 0 1 2 3
    python -m benchmarks.torus_loops --weak ada_gvae --steps 3000 --hsic-weight 2000 \
        --encoder-activation leaky_relu --normalise-loops --seeds 0 1 2 3

(the options against starvation: a leaky encoder, an HSIC penalty between the loop blocks,
loop codes normalised to their ring's moments; benchmarks/README.md).

One thread per run (``--threads``) keeps seeds comparable when several run side by side.
``tests/objectives/test_torus_slow.py`` runs :func:`train_loops` for one seed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from dataclasses import dataclass

import torch

from prodvae.data import get_dataset, sample_pair_factors
from prodvae.metrics.circular import circular_alignment
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.spaces import ProductSpace

RADIUS = 3.0
WIDTH = 0.5
BATCH = 64
HANDS = ("long_hand", "short_hand")


@dataclass
class LoopResult:
    """What one run ends with: ``alignment[block][hand]``, ``winding[block][hand]``, radii,
    and ``features[hand]``, the held-out R² of the hand from the encoder's features."""

    losses: list[float]
    alignment: list[list[float]]
    winding: list[list[int]]
    radii: list[float]
    features: list[float]

    @property
    def separation(self) -> float:
        """The better assignment of hands to distinct blocks, scored by its worse alignment."""
        return max(
            min(self.alignment[0][a], self.alignment[1][b])
            for a, b in itertools.permutations(range(2))
        )


def winding_number(phi: torch.Tensor, theta: torch.Tensor, bins: int = 40) -> int:
    """Turns of ``phi`` while ``theta`` goes once round, from the circular mean per bin."""
    index = torch.round(theta.double() / (2 * math.pi) * bins).long() % bins
    means = torch.zeros(bins, dtype=torch.complex128)
    means.index_add_(0, index, torch.exp(1j * phi.double()))
    means = means[means.abs() > 0]  # bins no sample fell in
    step = torch.angle(means.roll(-1) / means)  # wrapped increments, bin to next bin
    return round(step.sum().item() / (2 * math.pi))


def feature_r2(features: torch.Tensor, angle: torch.Tensor, ridge: float = 1e-3) -> float:
    """How linearly ``features [n, d]`` carry ``angle [n]``: held-out R² of ``(cos, sin)``.

    Ridge regression on standardised features, fitted on the first three quarters of the
    rows and scored on the rest (1: carried exactly, 0: not at all).
    """
    x = features.double()
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = torch.stack([angle.cos(), angle.sin()], dim=-1).double()
    fit, test = slice(0, 3 * len(x) // 4), slice(3 * len(x) // 4, None)
    mean = y[fit].mean(0)
    gram = x[fit].T @ x[fit] + ridge * len(x[fit]) * torch.eye(x.shape[1], dtype=x.dtype)
    weights = torch.linalg.solve(gram, x[fit].T @ (y[fit] - mean))
    error = ((x[test] @ weights + mean - y[test]) ** 2).sum()
    return 1.0 - (error / ((y[test] - y[test].mean(0)) ** 2).sum()).item()


def pair_batch(dataset, weak: bool, generator: torch.Generator) -> torch.Tensor:
    """Images ``[B, C, H, W]`` at continuous angles, or pairs ``[B, 2, C, H, W]`` of grid
    images in which exactly one hand moves (as :class:`prodvae.train.Trainer` draws them)."""
    if not weak:
        return dataset.render(dataset.sample_values(BATCH, generator)).float() / 255
    pair = sample_pair_factors(dataset, BATCH, num_changed=1, generator=generator)
    first, second = (dataset.images_from_factors(i) for i in (pair.indices1, pair.indices2))
    return torch.stack([first, second], dim=1).float() / 255


def train_loops(
    seed: int,
    steps: int,
    weak: str = "none",
    free_bits: float = 0.0,
    anneal_steps: int = 300,
    anneal_cycle: int = 0,
    hsic_weight: float = 0.0,
    encoder_activation: str = "relu",
    normalise_loops: bool = False,
    log_every: int = 0,
) -> LoopResult:
    """Train one seed and measure the codes of 1000 fresh images.

    ``hsic_weight`` uses a kernel of bandwidth ``RADIUS / sqrt(2)`` (``exp(-d² / R²)``).
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    dataset = get_dataset("torus", image_size=32)
    space = ProductSpace.parse(f"loop({RADIUS}, {WIDTH}) * loop({RADIUS}, {WIDTH})")
    model = build_vae(
        space,
        "burgess",
        dataset.image_shape,
        width=16,
        hidden_dim=128,
        encoder_activation=encoder_activation,
        normalise_loops=normalise_loops,
        initial_logvar=-4.0,
    )
    objective = get_objective(
        "product",
        warmup_steps=200,
        anneal_steps=anneal_steps,
        likelihood="gaussian",
        likelihood_scale=0.2,
        weak=weak,
        free_bits=free_bits,
        anneal_cycle=anneal_cycle,
        hsic_weight=hsic_weight,
        hsic_bandwidth=RADIUS / math.sqrt(2),
    )
    objective.check_model(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for step in range(steps):
        loss, logs = objective(model, pair_batch(dataset, objective.needs_pairs, generator), step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log_every and (step + 1) % log_every == 0:
            kl = " ".join(f"{logs[f'kl/{i}']:.2f}" for i in range(space.num_factors))
            print(f"  step {step + 1}: loss {loss.item():.1f}, KL per factor {kl}", flush=True)

    values = dataset.sample_values(1000, torch.Generator().manual_seed(1))
    model.eval()  # normalised loops use their running statistics
    with torch.no_grad():
        images = dataset.render(values).float() / 255
        codes, features = model.codes(images), model.encoder(images)
    features_r2 = [feature_r2(features, values[:, k]) for k in range(2)]
    blocks = space.split(codes)
    angles = [f.coordinate(b) for f, b in zip(space.factors, blocks)]
    alignment = [
        [circular_alignment(phi.numpy(), values[:, k].numpy()) for k in range(2)] for phi in angles
    ]
    winding = [[winding_number(phi, values[:, k]) for k in range(2)] for phi in angles]
    radii = [b.norm(dim=-1).mean().item() for b in blocks]
    return LoopResult(losses, alignment, winding, radii, features_r2)


def winding(result: LoopResult, block: int, hand: int) -> str:
    """The winding number as text, ``-`` where the block does not follow the hand (< 0.3)."""
    if result.alignment[block][hand] < 0.3:
        return "-"
    return f"{result.winding[block][hand]:+d}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weak", default="ada_gvae", help="none, ada_gvae or ada_ml_vae")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--free-bits", type=float, default=0.0)
    parser.add_argument("--anneal-steps", type=int, default=300)
    parser.add_argument(
        "--anneal-cycle", type=int, default=0, help="restart the shape annealing every N steps"
    )
    parser.add_argument("--hsic-weight", type=float, default=0.0)
    parser.add_argument("--encoder-activation", default="relu", help="relu or leaky_relu")
    parser.add_argument(
        "--normalise-loops", action="store_true", help="batch-normalise the loops' codes"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"product on torus, weak={args.weak}, free bits {args.free_bits}, "
        f"shape annealed over {args.anneal_steps} steps every {args.anneal_cycle or 'run'}, "
        f"HSIC weight {args.hsic_weight}, {args.encoder_activation} encoder, "
        f"loops normalised: {args.normalise_loops}, {args.steps} steps"
    )
    separated = 0
    for seed in args.seeds:
        start = time.perf_counter()
        result = train_loops(
            seed,
            args.steps,
            weak=args.weak,
            free_bits=args.free_bits,
            anneal_steps=args.anneal_steps,
            anneal_cycle=args.anneal_cycle,
            hsic_weight=args.hsic_weight,
            encoder_activation=args.encoder_activation,
            normalise_loops=args.normalise_loops,
            log_every=args.log_every,
        )
        separated += result.separation >= 0.8
        seconds = time.perf_counter() - start
        print(f"seed {seed} ({seconds:.0f} s): separation {result.separation:.3f}")
        for b in range(2):
            cells = ", ".join(
                f"{hand} {result.alignment[b][k]:.3f} (winding {winding(result, b, k)})"
                for k, hand in enumerate(HANDS)
            )
            print(f"  block {b}: {cells}; mean radius {result.radii[b]:.2f}")
        carried = ", ".join(f"{h} {r:.2f}" for h, r in zip(HANDS, result.features))
        print(f"  encoder features carry (R²): {carried}")
    print(f"separated (each hand >= 0.8 in its own block): {separated} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
