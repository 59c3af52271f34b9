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

``--hand long_hand`` (or ``short_hand``) trains one loop on the dial with the other hand held
at angle 0, unsupervised: whether a single loop goes once round its hand, the question under
the two-hand one. It also prints each block's spread of radii (standard deviation of ``|z|``),
high where codes cut across the ring's centre.

    python -m benchmarks.torus_loops --hand long_hand --weak none --steps 1000 --seeds 0 1 2 3 \
        --encoder-activation leaky_relu --normalise-loops

One thread per run (``--threads``) keeps seeds comparable when several run side by side.
``tests/objectives/test_torus_slow.py`` runs :func:`train_loops` for one seed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from dataclasses import dataclass, field

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
    """What one run ends with: ``alignment[block][hand]``, ``winding[block][hand]``, radii
    and their spread per block, and ``features[hand]``, the held-out R² of the hand from the
    encoder's features; ``hands`` names the hands that moved (both, or the one of ``--hand``)."""

    losses: list[float]
    alignment: list[list[float]]
    winding: list[list[int]]
    radii: list[float]
    features: list[float]
    spreads: list[float] = field(default_factory=list)
    hands: tuple[str, ...] = HANDS

    @property
    def separation(self) -> float:
        """The best assignment of hands to distinct blocks, scored by its worst alignment."""
        return max(
            min(self.alignment[block][hand] for hand, block in enumerate(blocks))
            for blocks in itertools.permutations(range(len(self.alignment)), len(self.hands))
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


def sample_angles(dataset, n: int, generator: torch.Generator, hand: str) -> torch.Tensor:
    """``[n, 2]`` continuous angles of both hands, or of ``hand`` with the other held at 0."""
    values = dataset.sample_values(n, generator)
    if hand != "both":
        values[:, 1 - HANDS.index(hand)] = 0.0
    return values


def pair_batch(
    dataset, weak: bool, generator: torch.Generator, hand: str = "both", size: int = BATCH
) -> torch.Tensor:
    """Images ``[B, C, H, W]`` at continuous angles, or pairs ``[B, 2, C, H, W]`` of grid
    images in which exactly one hand moves (as :class:`prodvae.train.Trainer` draws them)."""
    if not weak:
        return dataset.render(sample_angles(dataset, size, generator, hand)).float() / 255
    pair = sample_pair_factors(dataset, size, num_changed=1, generator=generator)
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
    hand: str = "both",
    anchor_weight: float = 0.0,
    anchor_steps: int = 500,
    log_every: int = 0,
) -> LoopResult:
    """Train one seed and measure the codes of 1000 fresh images.

    ``hsic_weight`` uses a kernel of bandwidth ``RADIUS / sqrt(2)`` (``exp(-d² / R²)``).
    ``hand`` (``long_hand`` or ``short_hand``) trains a single loop, unsupervised, on images
    in which only that hand moves (the other stays at angle 0). ``anchor_weight`` > 0 starts
    the codes from the images' principal components (:mod:`prodvae.objectives.anchor`),
    fitted on 1024 fresh training images and, with pairs, 2048 pairs drawn as in training.
    """
    if hand not in ("both", *HANDS):
        raise ValueError(f"hand must be 'both', {' or '.join(map(repr, HANDS))}, got {hand!r}")
    moving = HANDS if hand == "both" else (hand,)
    if hand != "both" and (weak != "none" or hsic_weight):
        raise ValueError(
            f"hand={hand!r} trains one loop unsupervised: weak must be 'none' and "
            f"hsic_weight 0, got weak={weak!r}, hsic_weight={hsic_weight!r}"
        )
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    dataset = get_dataset("torus", image_size=32)
    space = ProductSpace.parse(" * ".join([f"loop({RADIUS}, {WIDTH})"] * len(moving)))
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
        anchor_weight=anchor_weight,
        anchor_steps=anchor_steps,
    )
    objective.check_model(model)
    if anchor_weight > 0:
        fitting = torch.Generator().manual_seed(seed + 1000)
        images = dataset.render(sample_angles(dataset, 1024, fitting, hand)).float() / 255
        pairs = None
        if objective.needs_pairs:
            both = pair_batch(dataset, True, fitting, hand, size=2048)
            pairs = (both[:, 0], both[:, 1])
        objective.fit_anchor(space, images, pairs, fitting)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for step in range(steps):
        images = pair_batch(dataset, objective.needs_pairs, generator, hand)
        loss, logs = objective(model, images, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log_every and (step + 1) % log_every == 0:
            kl = " ".join(f"{logs[f'kl/{i}']:.2f}" for i in range(space.num_factors))
            print(f"  step {step + 1}: loss {loss.item():.1f}, KL per factor {kl}", flush=True)

    values = sample_angles(dataset, 1000, torch.Generator().manual_seed(1), hand)
    columns = [HANDS.index(name) for name in moving]
    model.eval()  # normalised loops use their running statistics
    with torch.no_grad():
        images = dataset.render(values).float() / 255
        codes, features = model.codes(images), model.encoder(images)
    features_r2 = [feature_r2(features, values[:, k]) for k in columns]
    blocks = space.split(codes)
    angles = [f.coordinate(b) for f, b in zip(space.factors, blocks)]
    alignment = [
        [circular_alignment(phi.numpy(), values[:, k].numpy()) for k in columns] for phi in angles
    ]
    winding = [[winding_number(phi, values[:, k]) for k in columns] for phi in angles]
    radii = [b.norm(dim=-1).mean().item() for b in blocks]
    spreads = [b.norm(dim=-1).std().item() for b in blocks]
    return LoopResult(losses, alignment, winding, radii, features_r2, spreads, moving)


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
    parser.add_argument(
        "--anchor-weight",
        type=float,
        default=0.0,
        help="start the codes from the images' principal components (pairs split them)",
    )
    parser.add_argument("--anchor-steps", type=int, default=500)
    parser.add_argument(
        "--hand",
        default="both",
        choices=("both", *HANDS),
        help="both hands move (two loops), or only this one (one loop, unsupervised)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=0)
    args = parser.parse_args(argv)
    if args.hand != "both" and (args.weak != "none" or args.hsic_weight):
        parser.error(f"--hand {args.hand} trains one loop unsupervised: add --weak none, no HSIC")
    torch.set_num_threads(args.threads)
    print(
        f"product on torus, weak={args.weak}, free bits {args.free_bits}, "
        f"shape annealed over {args.anneal_steps} steps every {args.anneal_cycle or 'run'}, "
        f"HSIC weight {args.hsic_weight}, {args.encoder_activation} encoder, "
        f"loops normalised: {args.normalise_loops}, anchor weight {args.anchor_weight} over "
        f"{args.anchor_steps} steps, {args.steps} steps, moving: {args.hand}"
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
            hand=args.hand,
            anchor_weight=args.anchor_weight,
            anchor_steps=args.anchor_steps,
            log_every=args.log_every,
        )
        separated += result.separation >= 0.8
        seconds = time.perf_counter() - start
        print(f"seed {seed} ({seconds:.0f} s): separation {result.separation:.3f}")
        for b in range(len(result.alignment)):
            cells = ", ".join(
                f"{hand} {result.alignment[b][k]:.3f} (winding {winding(result, b, k)})"
                for k, hand in enumerate(result.hands)
            )
            radius = f"mean radius {result.radii[b]:.2f}"
            if result.spreads:
                radius += f" ± {result.spreads[b]:.2f}"
            print(f"  block {b}: {cells}; {radius}")
        carried = ", ".join(f"{h} {r:.2f}" for h, r in zip(result.hands, result.features))
        print(f"  encoder features carry (R²): {carried}")
    what = "each hand >= 0.8 in its own block" if args.hand == "both" else "the hand >= 0.8"
    print(f"separated ({what}): {separated} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
