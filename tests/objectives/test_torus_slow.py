"""Train ``product`` on the two-hand ``torus`` dial, unsupervised and weakly supervised.

Checks what must hold whatever the science says: the loss falls and the codes settle on
their rings. Prints each loop block's circular alignment with each true angle; with weak
supervision (Ada-GVAE on pairs that differ in one hand) each hand must be matched by a
different loop block with alignment >= 0.8.
"""

import itertools

import pytest
import torch

from prodvae.data import get_dataset
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.spaces import ProductSpace

STEPS = 3000
BATCH = 64
RADIUS = 3.0
WIDTH = 0.5


def circular_alignment(phi: torch.Tensor, theta: torch.Tensor) -> float:
    """max over s = ±1 of |mean exp(i(φ - sθ))| (1 iff φ = ±θ + c)."""
    return max(
        torch.exp(1j * (phi.double() - s * theta.double())).mean().abs().item() for s in (1, -1)
    )


def batch(dataset, objective, generator):
    values = dataset.sample_values(BATCH, generator)
    first = dataset.render(values).float() / 255
    if not objective.needs_pairs:
        return first
    changed = torch.randint(2, (BATCH,), generator=generator)
    rows = torch.arange(BATCH)
    other = values.clone()
    other[rows, changed] = dataset.sample_values(BATCH, generator)[rows, changed]
    return torch.stack([first, dataset.render(other).float() / 255], dim=1)


WEAK_KNOWN_FAILURE = pytest.mark.xfail(
    strict=True,
    reason=(
        "known failure, 2026-11-28: short hand 0.99, long hand 0.50-0.55 (0.57 at 5000 steps). "
        "Cause: both posteriors collapse before anything is learned (β reaches 1 at step 200), "
        "so the hands are learned one after the other; the idle block sits at one point of the "
        "ring and Ada-GVAE labels it shared in 96-100% of pairs, so the long hand starts only "
        "near step 1750, grows from that point and ends folded (degree 0: first harmonic 0.55, "
        "second 0.36, the radius telling the two branches apart). Perfect shared-factor labels "
        "fold it too (0.60). Warm-up 1500, anneal 2500 from width x6 capped at radius/1.5 "
        "reached (0.92, 0.99) in a stand-alone run of seed 0 but failed seeds 1 and 2; see issue 4"
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("weak", ["none", pytest.param("ada_gvae", marks=WEAK_KNOWN_FAILURE)])
def test_product_on_torus(weak):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    dataset = get_dataset("torus", image_size=32)
    space = ProductSpace.parse(f"loop({RADIUS}, {WIDTH}) * loop({RADIUS}, {WIDTH})")
    model = build_vae(
        space, "burgess", dataset.image_shape, width=16, hidden_dim=128, initial_logvar=-4.0
    )
    objective = get_objective(
        "product",
        warmup_steps=200,
        anneal_steps=300,
        likelihood="gaussian",
        likelihood_scale=0.2,
        weak=weak,
    )
    objective.check_model(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for step in range(STEPS):
        loss, _ = objective(model, batch(dataset, objective, generator), step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    values = dataset.sample_values(1000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        codes = model.codes(dataset.render(values).float() / 255)
    blocks = space.split(codes)
    alignment = [
        [circular_alignment(f.coordinate(b), values[:, k]) for k in range(2)]
        for f, b in zip(space.factors, blocks)
    ]
    radii = [b.norm(dim=-1).mean().item() for b in blocks]
    print(f"\nweak={weak}: mean radius per loop block {radii}")
    print("alignment [block][true angle: long_hand, short_hand]:", alignment)

    assert sum(losses[-100:]) < sum(losses[200:300])  # after warm-up, the loss falls
    for radius in radii:
        assert radius == pytest.approx(RADIUS, rel=0.10)
    if weak != "none":
        best = max(
            min(alignment[0][a], alignment[1][b]) for a, b in itertools.permutations(range(2))
        )
        assert best >= 0.8
