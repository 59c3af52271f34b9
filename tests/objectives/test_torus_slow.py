"""Train ``product`` on the two-hand ``torus`` dial, unsupervised and weakly supervised.

Checks what must hold whatever the science says: the loss falls and the codes settle on
their rings. Prints each loop block's circular alignment with each true angle; with weak
supervision (Ada-GVAE on pairs in which one hand is drawn again) each hand must be matched by
a different loop block with alignment >= 0.8. The training is ``benchmarks/torus_loops.py``,
which runs the same thing over several seeds.
"""

import pytest
from benchmarks.torus_loops import RADIUS, train_loops

STEPS = 3000

WEAK_KNOWN_FAILURE = pytest.mark.xfail(
    strict=True,
    reason=(
        "known failure, 2026-11-28: short hand 0.99, long hand 0.50-0.55. The codes carry no "
        "information for ~500 steps and meanwhile settle on their rings at one point each; a "
        "hand learned later grows from that point as an arc that folds (winding 0), winds "
        "unevenly, or is never learned. At 6000 steps 0 of 4 seeds separate the hands; with "
        "free_bits=4, 1 of 4 (seed 0: 1.00 / 0.95). See benchmarks/README.md, 'Two loops on "
        "the two-hand dial', and python -m benchmarks.torus_loops"
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("weak", ["none", pytest.param("ada_gvae", marks=WEAK_KNOWN_FAILURE)])
def test_product_on_torus(weak):
    result = train_loops(seed=0, steps=STEPS, weak=weak)
    print(f"\nweak={weak}: mean radius per loop block {result.radii}")
    print("alignment [block][true angle: long_hand, short_hand]:", result.alignment)
    print("winding [block][true angle]:", result.winding)

    losses = result.losses
    assert sum(losses[-100:]) < sum(losses[200:300])  # after warm-up, the loss falls
    for radius in result.radii:
        assert radius == pytest.approx(RADIUS, rel=0.10)
    if weak != "none":
        assert result.separation >= 0.8
