"""Train ``product`` on the two-hand ``torus`` dial, unsupervised and weakly supervised.

Checks what must hold whatever the science says: the loss falls and the codes settle on
their rings. Prints each loop block's circular alignment with each true angle; with weak
supervision (Ada-GVAE on pairs in which one hand moves, drawn as the trainer draws them) each
hand must be matched by a different loop block with alignment >= 0.8. The weakly supervised
run uses the options against starvation (a leaky encoder, an HSIC penalty between the loop
blocks, loop codes normalised to their ring's moments) and against a loop that does not go
once round its hand (codes anchored for the first 500 steps to the images' principal
components, split between the blocks by the pairs). The training is
``benchmarks/torus_loops.py``, which runs the same thing over several seeds.
"""

import pytest
import torch
from benchmarks.torus_loops import RADIUS, train_loops

STEPS = 3000


@pytest.fixture(autouse=True)
def one_thread():
    """One thread, as ``python -m benchmarks.torus_loops`` runs: the same numbers as its seed 0
    (several threads sum in another order, and 3000 steps carry the difference)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("weak", ["none", "ada_gvae"])
def test_product_on_torus(weak):
    options = {}
    if weak != "none":
        options = dict(
            hsic_weight=2000.0,
            encoder_activation="leaky_relu",
            normalise_loops=True,
            anchor_weight=2.0,
        )
    result = train_loops(seed=0, steps=STEPS, weak=weak, **options)
    print(f"\nweak={weak}: mean radius per loop block {result.radii}")
    print("alignment [block][true angle: long_hand, short_hand]:", result.alignment)
    print("winding [block][true angle]:", result.winding)
    print("encoder features carry [long_hand, short_hand] (R²):", result.features)

    losses = result.losses
    assert sum(losses[-100:]) < sum(losses[200:300])  # after warm-up, the loss falls
    for radius in result.radii:
        assert radius == pytest.approx(RADIUS, rel=0.10)
    if weak != "none":
        assert result.separation >= 0.8
