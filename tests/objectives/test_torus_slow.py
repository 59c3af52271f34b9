"""Train ``product`` on the two-hand ``torus`` dial, unsupervised and weakly supervised.

Checks what must hold whatever the science says: the loss falls and the codes settle on
their rings. Prints each loop block's circular alignment with each true angle; with weak
supervision (Ada-GVAE on pairs in which one hand moves, drawn as the trainer draws them) each
hand must be matched by a different loop block with alignment >= 0.8. The weakly supervised
run uses the options against starvation (a leaky encoder, an HSIC penalty between the loop
blocks, loop codes normalised to their ring's moments). The training is
``benchmarks/torus_loops.py``, which runs the same thing over several seeds.
"""

import pytest
from benchmarks.torus_loops import RADIUS, train_loops

STEPS = 3000

WEAK_KNOWN_FAILURE = pytest.mark.xfail(
    strict=True,
    reason=(
        "known failure, 2026-11-28: long hand 0.61 (winding +1, uneven) in one block, the "
        "short hand split between both (0.39, 0.25). With the leaky encoder, the HSIC "
        "penalty and normalised loops the encoder keeps both hands (R² 0.99, 0.96), but one "
        "hand folds or winds unevenly on every seed, and 0 of 4 seeds separate the hands "
        "at 3000 or 6000 steps. See benchmarks/README.md, 'Two loops on the two-hand dial', "
        "and python -m benchmarks.torus_loops"
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("weak", ["none", pytest.param("ada_gvae", marks=WEAK_KNOWN_FAILURE)])
def test_product_on_torus(weak):
    options = {}
    if weak != "none":
        options = dict(hsic_weight=2000.0, encoder_activation="leaky_relu", normalise_loops=True)
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
