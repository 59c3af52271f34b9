"""The linear starting layout (``prodvae.objectives.anchor``) and ``product(anchor_weight)``."""

import math

import numpy as np
import pytest
import torch
from tests.tolerances import chained_terms, float_tol, monte_carlo_tol

from prodvae.data import get_dataset, sample_pair_factors
from prodvae.metrics import winding_number as grid_winding_number
from prodvae.metrics.circular import circular_alignment
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.anchor import (
    SPECIFIC,
    Anchor,
    anchor_images,
    anchor_view,
    changed_subspaces,
    pair_subspaces,
    plane_specificity,
    principal_directions,
)
from prodvae.spaces import PRIOR_SAMPLES, ProductSpace
from prodvae.train.build import auto_space

LOOP = ProductSpace.parse("loop(3, 0.5)")
TWO_LOOPS = ProductSpace.parse("loop(3, 0.5) * loop(3, 0.5)")


@pytest.fixture(scope="module")
def dial():
    return get_dataset("torus", image_size=32)


def sample_angles(dataset, n, generator, hand):
    """``[n, 2]`` continuous angles of both hands, or of ``hand`` with the other held at 0."""
    values = dataset.sample_values(n, generator)
    if hand != "both":
        values[:, 1 - ("long_hand", "short_hand").index(hand)] = 0.0
    return values


def winding_number(phi, theta):
    """Turns of ``phi`` while continuous ``theta`` goes once round (in 40 bins)."""
    return grid_winding_number(phi.numpy(), theta.numpy(), bins=40)


def images_of(dataset, values):
    return dataset.render(values).float() / 255


def angle(codes):
    return torch.atan2(codes[:, 1], codes[:, 0])


def projector(basis):
    q, _ = torch.linalg.qr(basis)
    return q @ q.T


def test_principal_directions_recover_the_axes_of_largest_variance():
    generator = torch.Generator().manual_seed(0)
    axes = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))[0]
    scales = torch.tensor([5.0, 3.0, 1.0, 0.2, 0.1, 0.05], dtype=torch.float64)
    rows = (torch.randn(4000, 6, generator=generator, dtype=torch.float64) * scales) @ axes.T
    mean, directions = principal_directions(rows + 7.0, 2)
    variances = scales**2
    assert ((mean - 7.0).abs() < monte_carlo_tol((axes**2 @ variances).sqrt(), len(rows))).all()
    # to first order a sample turns a kept axis i towards a dropped axis j by an angle of
    # standard deviation sqrt(l_i l_j / n) / (l_i - l_j); the projector's entries move by about
    # the root sum of squares of those angles: allow 5 of them
    kept, dropped = variances[:2, None], variances[2:]
    turn = (kept * dropped / (len(rows) * (kept - dropped) ** 2)).sum().sqrt().item()
    assert torch.allclose(projector(directions), projector(axes[:, :2]), rtol=0, atol=5 * turn)


@pytest.mark.parametrize("hand", [0, 1])
def test_one_hand_layout_goes_once_round_the_hand(dial, hand):
    """Images of one rotating hand: their first principal pair is the first harmonic."""
    name = ("long_hand", "short_hand")[hand]
    values = sample_angles(dial, 1024, torch.Generator().manual_seed(0), name)
    anchor = Anchor.fit(LOOP, images_of(dial, values))
    fresh = sample_angles(dial, 1000, torch.Generator().manual_seed(1), name)
    targets = anchor(images_of(dial, fresh))
    theta = fresh[:, hand]
    assert circular_alignment(angle(targets).numpy(), theta.numpy()) > 0.95
    assert abs(winding_number(angle(targets), theta)) == 1
    assert anchor.anchored.all()  # a rotating pattern: its plane holds a ring
    # scaled to the moments of PRIOR_SAMPLES prior draws on the images it was fitted on, up
    # to 5 standard errors of those draws' (and here of 200 000 others') mean and mean square
    fitted = anchor(images_of(dial, values)).double()
    prior = LOOP.sample(200_000, torch.Generator().manual_seed(2), dtype=torch.float64)
    assert (fitted.mean(0).abs() < monte_carlo_tol(prior.std(0), PRIOR_SAMPLES)).all()
    squares = prior.pow(2).sum(-1)
    share = 1 / PRIOR_SAMPLES + 1 / len(prior)
    relative = monte_carlo_tol(squares.std().item() / squares.mean().item(), 1 / share)
    assert fitted.pow(2).sum(-1).mean().item() == pytest.approx(squares.mean().item(), rel=relative)
    # close on fresh images: 5 standard errors of the difference between two image samples'
    # means (1000 fresh, 1024 fitted), and of their mean squares (halved for the root)
    share = 1 / len(fresh) + 1 / len(values)
    assert (targets.mean(0).abs() < monte_carlo_tol(targets.std(0), 1 / share)).all()
    fresh_squares = targets.double().pow(2).sum(-1)
    relative = monte_carlo_tol(0.5 * fresh_squares.std() / fresh_squares.mean(), 1 / share)
    rms = fresh_squares.mean().sqrt().item()
    assert rms == pytest.approx(squares.mean().sqrt().item(), rel=relative.item())


def test_large_images_are_read_averaged_down_to_64_pixels_a_side():
    images = torch.rand(3, 2, 200, 96, generator=torch.Generator().manual_seed(0))
    small = images[..., :64, :48]
    assert anchor_view(small) is small  # as they are
    assert anchor_view(torch.zeros(1, 3, 128, 128)).shape == (1, 3, 64, 64)
    assert anchor_view(images[..., :96, :96]).shape == (3, 2, 48, 48)
    assert anchor_view(images).shape == (3, 2, 50, 24)  # factor 4; 96 / 4 = 24
    # a block's mean: the first 4 x 4 block, and the last, partial one of rows 196-199
    view = anchor_view(images).double()
    blocks = images.double()
    tol = float_tol(torch.float32, 1.0, 16)
    assert torch.allclose(view[:, :, 0, 0], blocks[:, :, :4, :4].mean((-1, -2)), atol=tol)
    assert torch.allclose(view[:, :, -1, -1], blocks[:, :, 196:, 92:].mean((-1, -2)), atol=tol)


def test_a_layout_of_large_images_is_the_layout_of_their_averaged_view():
    """The dial at 128 px, one hand turning: fitted and read at 64 (what a 64 px fit of those
    views gives), and once round its hand as at 32 px."""
    hand, name = 0, "long_hand"
    large = get_dataset("torus", image_size=128)
    values = sample_angles(large, 256, torch.Generator().manual_seed(0), name)
    images = images_of(large, values)
    anchor = Anchor.fit(LOOP, images)
    assert anchor.mean.shape == (3 * 64 * 64,)
    fresh = sample_angles(large, 200, torch.Generator().manual_seed(1), name)
    targets = anchor(images_of(large, fresh))
    same = Anchor.fit(LOOP, anchor_view(images))(anchor_view(images_of(large, fresh)))
    assert torch.equal(targets, same)
    theta = fresh[:, hand]
    assert circular_alignment(angle(targets).numpy(), theta.numpy()) > 0.95
    assert abs(winding_number(angle(targets), theta)) == 1


def test_pairs_split_the_two_hands_into_their_own_blocks(dial):
    generator = torch.Generator().manual_seed(2)
    images = images_of(dial, dial.sample_values(512, generator))
    pair = sample_pair_factors(dial, 1024, num_changed=1, generator=generator)
    first, second = (dial.images_from_factors(i).float() / 255 for i in pair[:2])
    anchor = Anchor.fit(TWO_LOOPS, images, (first, second), generator)
    fresh = dial.sample_values(1000, torch.Generator().manual_seed(3))
    targets = TWO_LOOPS.split(anchor(images_of(dial, fresh)))
    alignment = np.array(
        [
            [circular_alignment(angle(t).numpy(), fresh[:, k].numpy()) for k in range(2)]
            for t in targets
        ]
    )
    best = max(min(alignment[0, a], alignment[1, 1 - a]) for a in range(2))
    assert best > 0.95  # each hand followed by its own block
    assert alignment.min() < 0.15  # and each block ignores the other hand
    # without pairs the leading components mix the hands (their variances are close)
    mixed = TWO_LOOPS.split(Anchor.fit(TWO_LOOPS, images)(images_of(dial, fresh)))
    unpaired = [
        [circular_alignment(angle(t).numpy(), fresh[:, k].numpy()) for k in range(2)] for t in mixed
    ]
    assert max(min(unpaired[0][a], unpaired[1][1 - a]) for a in range(2)) < 0.9


def test_known_changes_give_each_hand_its_own_block_in_the_spaces_order(dial):
    generator = torch.Generator().manual_seed(2)
    images = images_of(dial, dial.sample_values(512, generator))
    pair = sample_pair_factors(dial, 1024, num_changed=1, generator=generator)
    first, second = (dial.images_from_factors(i).float() / 255 for i in pair[:2])
    changed = pair.indices1 != pair.indices2
    anchor = Anchor.fit(TWO_LOOPS, images, (first, second), changed=changed)
    fresh = dial.sample_values(1000, torch.Generator().manual_seed(3))
    targets = TWO_LOOPS.split(anchor(images_of(dial, fresh)))
    alignment = np.array(
        [
            [circular_alignment(angle(t).numpy(), fresh[:, k].numpy()) for k in range(2)]
            for t in targets
        ]
    )
    # block k follows hand k (not merely some hand), and ignores the other
    assert alignment[0, 0] > 0.95 and alignment[1, 1] > 0.95, alignment
    assert alignment[0, 1] < 0.15 and alignment[1, 0] < 0.15, alignment
    # swapping the flags swaps the blocks
    swapped = Anchor.fit(TWO_LOOPS, images, (first, second), changed=changed.flip(1))
    again = TWO_LOOPS.split(swapped(images_of(dial, fresh)))
    assert circular_alignment(angle(again[0]).numpy(), fresh[:, 1].numpy()) > 0.95


def test_a_factor_no_pair_changes_alone_is_left_unanchored(dial, caplog):
    generator = torch.Generator().manual_seed(2)
    images = images_of(dial, dial.sample_values(256, generator))
    pair = sample_pair_factors(dial, 512, num_changed=1, generator=generator)
    changed = pair.indices1 != pair.indices2
    keep = changed[:, 0]  # only the pairs that move the long hand: none moves the short alone
    first, second = (dial.images_from_factors(i[keep]).float() / 255 for i in pair[:2])
    anchor = Anchor.fit(TWO_LOOPS, images, (first, second), changed=changed[keep])
    assert anchor.anchored.tolist() == [True, True, False, False]
    assert "0 pairs change factor 1 alone (2 needed)" in caplog.text
    targets = anchor(images)
    assert torch.isfinite(targets).all()  # the unanchored block's targets: its prior's mean
    assert torch.equal(anchor.weight[:, 2:], torch.zeros_like(anchor.weight[:, 2:]))
    with pytest.raises(ValueError, match="changed needs the pairs it describes"):
        Anchor.fit(TWO_LOOPS, images, changed=changed)


def test_changed_subspaces_are_the_leading_directions_of_each_factors_differences():
    generator = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(12, 12, generator=generator, dtype=torch.float64))[0]
    planes = (basis[:, :2], basis[:, 2:3])  # a plane for factor 0, a line for factor 1
    n = 400
    which = torch.arange(n) % 2
    coefficients = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    differences = torch.where(
        (which == 0)[:, None], coefficients @ planes[0].T, coefficients[:, :1] @ planes[1].T
    )
    changed = torch.stack([which == 0, which == 1], dim=1)
    bases = changed_subspaces(differences, changed, (2, 1))
    for found, true in zip(bases, planes):
        # the projector onto the found subspace equals the true one, up to float64 roundings
        error = (found @ found.T - true @ true.T).abs().max().item()
        assert error < float_tol(torch.float64, 1.0, 12 * n), error
    # a pair that changes two factors says nothing about either; too few pairs: no basis
    both = changed.clone()
    both[:, 1] |= which == 0
    starved = changed_subspaces(differences, both, (2, 1))
    assert starved[0].abs().sum() == 0 and torch.equal(bases[1], starved[1])
    with pytest.raises(ValueError, match=r"changed must be bool \[400, 2\]"):
        changed_subspaces(differences, changed[:, :1], (2, 1))


def test_pair_subspaces_recover_two_planes_from_differences_in_one_or_the_other():
    generator = torch.Generator().manual_seed(4)
    basis = torch.linalg.qr(torch.randn(5, 5, generator=generator, dtype=torch.float64))[0]
    planes = [basis[:, :2], basis[:, 2:4]]
    which = torch.rand(600, generator=generator) < 0.5
    coefficients = torch.randn(600, 2, generator=generator, dtype=torch.float64)
    differences = torch.where(
        which[:, None], coefficients @ planes[0].T, coefficients @ planes[1].T
    )
    found = pair_subspaces(differences, [2, 2], generator=generator)
    truth = [projector(p) for p in planes]
    estimate = [projector(f) for f in found]
    # the differences lie exactly in the planes: float64 SVD and QR, backward stable, leave
    # the projectors' entries (at most 1) off by about eps per entry of the differences
    exact = float_tol(torch.float64, 1.0, differences.numel())
    assert any(
        torch.allclose(estimate[0], truth[a], rtol=0, atol=exact)
        and torch.allclose(estimate[1], truth[1 - a], rtol=0, atol=exact)
        for a in range(2)
    )


def test_other_factors_are_shifted_and_scaled_to_their_prior():
    space = ProductSpace.parse("segment(2, 0.25) * points(3, 3.0, 0.5)")
    generator = torch.Generator().manual_seed(5)
    images = torch.rand(300, 1, 6, 6, generator=generator)
    targets = Anchor.fit(space, images)(images).double()
    prior = space.sample(200_000, torch.Generator().manual_seed(6), dtype=torch.float64)
    # the layout matches the moments of PRIOR_SAMPLES other prior draws on these images: up
    # to 5 standard errors of the difference between their and these 200 000 draws' moments
    share = 1 / PRIOR_SAMPLES + 1 / len(prior)
    for block, sample in zip(space.split(targets), space.split(prior)):
        assert block.mean(0) == pytest.approx(
            sample.mean(0), abs=monte_carlo_tol(sample.std().item(), 1 / share)
        )
        squares = (sample - sample.mean(0)).pow(2).sum(-1)
        relative = monte_carlo_tol(squares.std().item() / squares.mean().item(), 1 / share)
        spread = (block - block.mean(0)).pow(2).sum(-1).mean().item()
        assert spread == pytest.approx(squares.mean().item(), rel=relative)


def test_bad_inputs_fail_clearly():
    images = torch.rand(20, 1, 4, 4)
    with pytest.raises(ValueError, match=r"images \[n, C, H, W\]"):
        Anchor.fit(LOOP, images[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        Anchor.fit(LOOP, torch.full((20, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="2 components need at least 2 images"):
        Anchor.fit(LOOP, images[:1])
    with pytest.raises(ValueError, match="pairs must be two equal batches"):
        Anchor.fit(LOOP, images, (images[:5], images[:6]))
    with pytest.raises(ValueError, match="ProductSpace"):
        Anchor.fit("loop(3, 0.5)", images)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fitted on images of 16 values"):
        Anchor.fit(LOOP, images)(torch.rand(3, 1, 5, 5))
    with pytest.raises(ValueError, match=r"dimensions \[2, 2\] do not fit in 3"):
        pair_subspaces(torch.randn(10, 3), [2, 2])
    with pytest.raises(ValueError, match="anchor_weight"):
        get_objective("product", anchor_weight=-1.0)
    with pytest.raises(ValueError, match="anchor_steps"):
        get_objective("product", anchor_steps=0)


def toy_model(space=LOOP):
    torch.manual_seed(0)
    return build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)


def test_anchor_weight_falls_linearly_to_zero():
    objective = get_objective("product", anchor_weight=2.0, anchor_steps=100)
    assert [objective.anchor_scale(s) for s in (0, 50, 100, 500)] == [2.0, 1.0, 0.0, 0.0]


def turning_images(n, seed=7):
    """``[n, 1, 32, 32]`` images ``0.5 + 0.2 (cos t U + sin t V)``: a plane of them is a ring."""
    generator = torch.Generator().manual_seed(seed)
    u, v = torch.randn(2, 1, 32, 32, generator=generator).clamp(-2, 2)
    t = torch.rand(n, generator=generator)[:, None, None, None] * 2 * math.pi
    return 0.5 + 0.2 * (t.cos() * u + t.sin() * v)


def test_anchored_loss_adds_the_weighted_gap_and_needs_a_fitted_layout():
    x = turning_images(16)
    model = toy_model()
    options = dict(likelihood="gaussian", likelihood_scale=0.2, anchor_steps=100)
    anchored = get_objective("product", anchor_weight=2.0, **options)
    with pytest.raises(ValueError, match="fit_anchor"):
        anchored(model, x, 0)
    anchor = anchored.fit_anchor(model.space, x)
    assert anchor.anchored.all()
    plain = get_objective("product", **options)
    torch.manual_seed(8)
    loss, logs = anchored(model, x, 25)
    torch.manual_seed(8)
    base, _ = plain(model, x, 25)
    codes = model.codes(x)
    gap = (codes - anchor(x)).pow(2).sum(-1).mean().item()
    # float32 sums of the 32 squared gaps, here and in the objective: 32 eps relative each
    gap_tol = float_tol(torch.float32, gap, 2 * codes.numel())
    assert logs["anchor"] == pytest.approx(gap, abs=gap_tol)
    assert gap > 1.0  # an untrained encoder is far from the layout
    # both losses (~400) add the same float32 terms but the anchor's: their difference is off
    # by a few eps of their size, and by the anchor's own rounding
    rounding = float_tol(torch.float32, abs(loss.item()) + abs(base.item()), 4) + 1.5 * gap_tol
    assert (loss - base).item() == pytest.approx(1.5 * gap, abs=rounding)
    torch.manual_seed(8)
    late, late_logs = anchored(model, x, 100)  # the anchor has let go
    torch.manual_seed(8)
    late_base, _ = plain(model, x, 100)
    assert "anchor" not in late_logs and late.item() == late_base.item()


def test_with_pairs_the_anchor_reads_both_images_of_every_pair():
    generator = torch.Generator().manual_seed(9)
    x = torch.rand(8, 2, 1, 32, 32, generator=generator)
    model = toy_model(TWO_LOOPS)
    objective = get_objective(
        "product", weak="ada_gvae", likelihood="gaussian", likelihood_scale=0.2, anchor_weight=1.0
    )
    # two turning parts of unequal amplitude: the leading plane is one ring, the next the other
    fit = turning_images(256, seed=1) + (turning_images(256, seed=2) - 0.5) / 4
    anchor = objective.fit_anchor(model.space, fit)
    assert anchor.anchored.all()
    _, logs = objective(model, x, 0)
    images = torch.cat([x[:, 0], x[:, 1]])
    codes = model.codes(images)
    expected = (codes - anchor(images)).pow(2).sum(-1).mean().item()
    # float32 sums of the squared gaps, here and in the objective: up to numel eps relative
    # each; the objective encodes the two halves as batches of their own, which may move each
    # code by chained_terms eps of its size and the mean square by 2 |gap| that much
    moved = float_tol(torch.float32, codes.abs().max().item(), chained_terms(model))
    gap_tol = float_tol(torch.float32, expected, 2 * codes.numel()) + 2 * expected**0.5 * moved
    assert logs["anchor"] == pytest.approx(expected, abs=gap_tol)


def test_a_few_hundred_anchored_steps_put_a_loop_once_round_its_hand(dial):
    """Anchored, the encoder takes the layout's winding: trained on the long hand alone, the
    loop's codes follow the hand once round (the anchor alone, no reconstruction needed)."""
    torch.manual_seed(10)
    generator = torch.Generator().manual_seed(10)
    model = build_vae(LOOP, "burgess", dial.image_shape, width=8, hidden_dim=64)
    values = sample_angles(dial, 1024, generator, "long_hand")
    anchor = Anchor.fit(LOOP, images_of(dial, values))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(150):
        x = images_of(dial, sample_angles(dial, 64, generator, "long_hand"))
        gap = (model.codes(x) - anchor(x)).pow(2).sum(-1).mean()
        optimizer.zero_grad()
        gap.backward()
        optimizer.step()
    fresh = sample_angles(dial, 500, torch.Generator().manual_seed(11), "long_hand")
    with torch.no_grad():
        codes = model.codes(images_of(dial, fresh))
    assert circular_alignment(angle(codes).numpy(), fresh[:, 0].numpy()) > 0.9
    assert abs(winding_number(angle(codes), fresh[:, 0])) == 1
    assert math.isfinite(gap.item())


def test_a_loop_whose_images_hold_no_ring_is_left_unanchored_and_named(caplog):
    """Noise images: the loop block's plane is a blob (radii spread like a Gaussian's, 0.52 of
    their mean), so its codes are not pulled to it; the segment is anchored as before."""
    space = ProductSpace.parse("loop(3, 0.5) * segment")
    images = torch.rand(1024, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with caplog.at_level("WARNING", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, images)
    assert anchor.anchored.tolist() == [False, False, True]
    assert "hold no ring for loop factor 0 (loop)" in caplog.text
    codes = torch.zeros(4, 3)
    codes[:, :2] = 100.0  # far off in the unanchored block: no gap there
    expected = (anchor(images[:4])[:, 2] ** 2).mean()
    assert anchor.gap(codes, images[:4]).item() == pytest.approx(
        expected.item(), rel=float_tol(torch.float32, 1.0, 8)
    )


def test_plane_specificity_compares_a_factors_own_pairs_with_the_pairs_that_keep_it():
    """Hand-computed: factor 0's pairs move the images by 2 along e1 (energy 4 on its line e1),
    factor 1's by (0.5, 0, 1, 0) (energy 0.25 on e1; on its own line u = (0.5, 0, 1, 0) /
    sqrt(1.25) energy 1.25, where factor 0's pairs put 1 / 1.25): ratios 16 and 1.5625, the
    same in both halves; a pair that changes both counts for neither factor."""
    rows = ([[2.0, 0, 0, 0]] * 2 + [[0.5, 0, 1, 0]] * 2) * 2 + [[9.0, 9, 9, 9]]
    differences = torch.tensor(rows, dtype=torch.float64)
    changed = torch.tensor(([[True, False]] * 2 + [[False, True]] * 2) * 2 + [[True, True]])
    second = [2, 3, 6, 7]  # factor 1's pairs: two in each half
    ratios = plane_specificity(differences, changed, [1, 1])
    assert ratios[0] == pytest.approx(16.0, rel=float_tol(torch.float64, 16.0, 8))
    assert ratios[1] == pytest.approx(1.25 / 0.8, rel=float_tol(torch.float64, 16.0, 8))
    # the other pairs do not move factor 1's line: inf; no pair changes factor 1 alone (each
    # of its pairs moves factor 0 too), or too few for its plane: 0
    apart = differences.clone()
    apart[second] = torch.tensor([0.0, 0, 1, 0], dtype=torch.float64)
    assert plane_specificity(apart, changed, [1, 1])[1] == math.inf
    together = changed.clone()
    together[second, 0] = True
    assert plane_specificity(differences, together, [1, 1])[1] == 0.0
    assert plane_specificity(differences, changed, [1, 3])[1] == 0.0
    with pytest.raises(ValueError, match="changed must be bool"):
        plane_specificity(differences, changed[:, :1], [1, 1])


def test_plane_specificity_of_pairs_that_move_only_noise_is_about_one():
    """Isotropic noise: a plane read on the pairs it was fitted on holds more of them than of
    the others (here about 7), which cross-fitting undoes: about 1, below the threshold."""
    generator = torch.Generator().manual_seed(0)
    n, q = 1200, 256
    differences = torch.randn(n, q, generator=generator, dtype=torch.float64)
    which = torch.randint(6, (n,), generator=generator)
    changed = torch.nn.functional.one_hot(which, 6).bool()
    ratios = plane_specificity(differences, changed, [2] * 6)
    # own: a mean of about 100 energies of relative spread 1 (chi-squared, 2 dimensions);
    # others: of about 500; five standard deviations of their ratio, halved by the two halves
    tol = 5 * math.sqrt(1 / 100 + 1 / 500) / math.sqrt(2)
    assert all(abs(r - 1) < tol for r in ratios), ratios
    assert 1 + tol < SPECIFIC  # noise stays below the bar
    fitted = changed_subspaces(differences, changed, [2] * 6)
    alone = changed[:, 0]
    in_sample = (differences[alone] @ fitted[0]).pow(2).sum(-1).mean() / (
        differences[~alone] @ fitted[0]
    ).pow(2).sum(-1).mean()
    assert in_sample > SPECIFIC  # what reading the plane on its own pairs would say


def dimmed_hues(values):
    """``values [n, 3]``: a hue (radians), a brightness in [0, 1] and an angle the images do
    not show -> one-row images ``[n, 1, 1, 6]``: the hue's colour plane scaled by the
    brightness (so no plane of the images is a ring), and the brightness on its own."""
    hue, bright = values[:, 0], values[:, 1]
    amplitude = 0.2 + bright
    pixels = [amplitude * hue.cos(), amplitude * hue.sin(), 2 * bright] + [0 * bright] * 3
    return torch.stack(pixels, 1).float()[:, None, None, :]


def test_a_loop_plane_without_a_ring_is_a_start_when_its_own_pairs_single_it_out(caplog):
    """A hue cycle seen at many brightnesses: the images' hue plane is a filled annulus, not
    a ring, but it is the plane the hue pairs move the images in (about 14 times as much as
    the other pairs), and its codes start there; an angle the images do not show has no
    plane (its pairs move nothing), and stays unanchored. Without the pairs' account of what
    they change, neither loop is anchored."""
    generator = torch.Generator().manual_seed(0)

    def draw(n):
        uniform = [torch.rand(n, generator=generator, dtype=torch.float64) for _ in range(3)]
        return torch.stack([2 * math.pi * uniform[0], uniform[1], 2 * math.pi * uniform[2]], 1)

    n = 1200
    first, fresh = draw(n), draw(n)
    which = torch.randint(3, (n,), generator=generator)
    second = first.clone()
    second[torch.arange(n), which] = fresh[torch.arange(n), which]
    changed = torch.nn.functional.one_hot(which, 3).bool()
    pairs = (dimmed_hues(first), dimmed_hues(second))
    images = dimmed_hues(draw(512))
    space = ProductSpace.parse("loop(3, 0.5) * segment * loop(3, 0.5)")
    with caplog.at_level("INFO", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, images, pairs, changed=changed)
    assert anchor.anchored.tolist() == [True, True, True, False, False]
    assert "no ring for loop factor 0 (loop) (the radii" in caplog.text
    assert "its codes start from the plane" in caplog.text
    assert "no ring for loop factor 2 (loop)" in caplog.text
    assert "only 0.00 times as much as the other pairs do" in caplog.text
    differences = (pairs[0] - pairs[1]).flatten(1).double()
    ratios = plane_specificity(differences, changed, [2, 1, 2])
    assert ratios[0] > 3 * SPECIFIC and ratios[2] == 0.0  # 13.2: well above the bar
    # the hue block starts on the hue: its targets' angle is the hue's, up to a turn or flip
    fresh_values = draw(500)
    target = anchor(dimmed_hues(fresh_values))[:, :2]
    assert circular_alignment(angle(target).numpy(), fresh_values[:, 0].numpy()) > 0.99
    caplog.clear()
    with caplog.at_level("WARNING", logger="prodvae.objectives.anchor"):
        unknown = Anchor.fit(space, images, pairs)  # clustered planes: no account of changes
    assert not unknown.anchored[[0, 1, 3, 4]].any()
    assert "its codes are left unanchored" in caplog.text
    assert "times as much" not in caplog.text  # without the account, no specificity


def test_sprites_hue_starts_on_its_own_plane_under_known_pairs(caplog):
    """The built-in sprites at 32 px: the hue's plane holds no ring (the sprite moves), but
    the hue pairs single it out, so the recipe's start anchors the hue block there; the
    rotation's plane (a few pixels turning) its pairs single out no better than noise."""
    sprites = get_dataset("sprites", image_size=32)
    images, pairs, changed = anchor_images(sprites, torch.Generator().manual_seed(0), True)
    space = auto_space(sprites)
    names = [spec.name for spec in sprites.spec]
    hue, rotation = names.index("hue"), names.index("rotation")
    with caplog.at_level("INFO", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, images, pairs, changed=changed)
    assert anchor.anchored[space.slices[hue]].all()
    assert not anchor.anchored[space.slices[rotation]].any()
    assert f"no ring for loop factor {hue} (loop) (the radii" in caplog.text
    differences = (pairs[0] - pairs[1]).flatten(1).double()
    ratios = plane_specificity(differences, changed, [factor.dim for factor in space.factors])
    assert ratios[hue] > SPECIFIC > 2 * ratios[rotation]  # 5.4 and 0.75 on this draw
