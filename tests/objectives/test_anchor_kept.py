"""A segment's start should be kept by the pairs that keep its factor (``kept_spread``): one
direction of the images that reads the factor one way for some values of another factor and
the other way for the rest is named in the log (and still a start)."""

import math

import pytest
import torch
from tests.tolerances import float_tol, monte_carlo_tol

from prodvae.data import get_dataset
from prodvae.objectives.anchor import KEPT, Anchor, anchor_images, kept_spread
from prodvae.spaces import ProductSpace
from prodvae.train.build import auto_space


def test_kept_spread_is_the_kept_pairs_move_over_twice_the_spread():
    """Hand-computed: factor 0's start reads e1, where the images' coordinates are -1 and 1
    (variance 1); the two pairs that change factor 1 alone move 0.5 along e1 (and 3 along
    e2, which it does not read): 0.25 / 2. Factor 1's start reads e2 (coordinates -2 and 2),
    which the pair that changes factor 0 alone does not move: 0. A pair that changes both
    counts for neither; a flat start, or no pair of one change that keeps the factor, gives 0."""
    e1, e2 = torch.eye(2, dtype=torch.float64).split(1, dim=1)
    coords = [torch.tensor([[-1.0], [1.0]]).double(), torch.tensor([[-2.0], [2.0]]).double()]
    differences = torch.tensor([[0.5, 3.0], [-0.5, -3.0], [7.0, 0.0], [9.0, 9.0]]).double()
    changed = torch.tensor([[False, True], [False, True], [True, False], [True, True]])
    ratios = kept_spread(differences, changed, [e1, e2], coords)
    assert ratios[0] == pytest.approx(0.125, rel=float_tol(torch.float64, 1.0, 8))
    assert ratios[1] == 0.0
    flat = [torch.zeros(2, 1, dtype=torch.float64)] * 2
    assert kept_spread(differences, changed, [e1, e2], flat) == [0.0, 0.0]
    both = torch.ones(4, 2, dtype=torch.bool)
    assert kept_spread(differences, both, [e1, e2], coords) == [0.0, 0.0]
    with pytest.raises(ValueError, match="changed must be bool"):
        kept_spread(differences, changed[:, :1], [e1, e2], coords)


def test_two_images_at_random_move_a_start_about_as_much_as_its_spread():
    """Pairs of independent images (each said to change factor 1 alone, so to keep factor
    0): the difference's variance is twice an image's, so factor 0's ratio is 1 up to Monte
    Carlo error, whatever direction its start reads."""
    generator = torch.Generator().manual_seed(0)
    n, q = 20_000, 8
    images = torch.randn(n, q, generator=generator, dtype=torch.float64)
    others = torch.randn(n, q, generator=generator, dtype=torch.float64)
    block = torch.linalg.qr(torch.randn(q, 1, generator=generator, dtype=torch.float64))[0]
    changed = torch.tensor([[False, True]]).expand(n, 2)
    ratio = kept_spread(images - others, changed, [block] * 2, [images @ block] * 2)[0]
    # numerator and denominator each a mean of n chi-squared(1) terms (relative spread sqrt 2;
    # correlated through the images, so 2 sqrt 2 bounds the ratio's)
    assert ratio == pytest.approx(1.0, abs=monte_carlo_tol(math.sqrt(2) * 2, n))
    assert KEPT < 1 - monte_carlo_tol(math.sqrt(2) * 2, n)


def zooms(values: torch.Tensor, folded: bool) -> torch.Tensor:
    """``values [n, 2]`` (a class 0 or 1, a zoom in [0, 1]) -> one-row images ``[n, 1, 1, 3]``:
    the class on its own pixel, the zoom on another, turned the other way for class 1 when
    ``folded`` (as a zoom into one photograph can darken where it brightens another)."""
    label, zoom = values[:, 0], values[:, 1]
    sign = 1 - 2 * label if folded else torch.ones_like(label)
    return torch.stack([label, sign * (zoom - 0.5), 0 * zoom], 1).float()[:, None, None, :]


@pytest.mark.parametrize("folded", [False, True])
def test_a_segment_read_the_other_way_for_one_class_is_named_in_the_log(folded, caplog):
    generator = torch.Generator().manual_seed(0)

    def draw(n):
        label = torch.randint(2, (n,), generator=generator).double()
        return torch.stack([label, torch.rand(n, generator=generator, dtype=torch.float64)], 1)

    n = 1000
    first, fresh = draw(n), draw(n)
    fresh[:, 0] = 1 - first[:, 0]  # a pair that changes the class flips it
    which = torch.randint(2, (n,), generator=generator)
    second = first.clone()
    second[torch.arange(n), which] = fresh[torch.arange(n), which]
    changed = torch.nn.functional.one_hot(which, 2).bool()
    space = ProductSpace.parse("points(2) * segment")
    pairs = (zooms(first, folded), zooms(second, folded))
    with caplog.at_level("WARNING", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, zooms(draw(500), folded), pairs, changed=changed)
    differences = (pairs[0] - pairs[1]).flatten(1).double()
    blocks = [torch.eye(3, dtype=torch.float64)[:, k : k + 1] for k in (0, 1)]
    images = zooms(draw(500), folded).flatten(1).double()
    ratio = kept_spread(differences, changed, blocks, [images @ b for b in blocks])[1]
    if folded:  # a class change turns the zoom's coordinate round: z - 1/2 to 1/2 - z
        # 4 var(z) moved over 2 var(z): 2, each a mean of about 500 terms whose relative
        # spread is 0.89 (of (z - 1/2)^2, z uniform): the ratio's spread is at most
        # 2 * 0.89 * sqrt(2) = 2.5 over the square root of 500; four of those
        assert ratio == pytest.approx(2.0, abs=monte_carlo_tol(2.5, 500, k=4))
        assert "keep segment factor 1 (segment) move its start" in caplog.text
        assert "its codes start there" in caplog.text
    else:  # the class change leaves the zoom's pixel as it was
        assert ratio == 0.0
        assert "segment factor" not in caplog.text
    assert anchor.anchored.tolist() == [True, True]  # a segment's start is a start


@pytest.mark.parametrize("name", ["sprites", "orbit"])
def test_the_built_in_segments_keep_their_starts(name, caplog):
    """No segment of the built-in data is named (sprites' scale, x and y, orbit's scale and
    elevation: 0.04 to 0.30 over 13 draws of pairs)."""
    dataset = get_dataset(name, image_size=32)
    images, pairs, changed = anchor_images(dataset, torch.Generator().manual_seed(0), True)
    space = auto_space(dataset)
    with caplog.at_level("WARNING", logger="prodvae.objectives.anchor"):
        anchor = Anchor.fit(space, images, pairs, changed=changed)
    segments = [k for k, spec in enumerate(dataset.spec) if spec.kind == "segment"]
    assert len(segments) >= 2
    assert all(bool(anchor.anchored[space.slices[k]].all()) for k in segments)
    assert "segment factor" not in caplog.text
