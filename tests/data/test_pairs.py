import math

import pytest
import torch
from tests.tolerances import monte_carlo_tol

from prodvae.data import get_dataset, sample_pair_factors


@pytest.fixture(scope="module")
def sprites():
    return get_dataset("sprites", image_size=16, factor_sizes=(4, 3, 5, 2, 3, 1))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_pairs_differ_in_exactly_k_factors(sprites, k):
    pair = sample_pair_factors(sprites, 500, k, torch.Generator().manual_seed(0))
    changed = pair.indices1 != pair.indices2
    assert (changed.sum(1) == k).all()
    assert not changed[:, 5].any()  # the size-1 factor can never change
    sizes = torch.tensor(sprites.factor_sizes)
    assert ((pair.indices2 >= 0) & (pair.indices2 < sizes)).all()


def test_random_k_covers_one_to_m_minus_one(sprites):
    pair = sample_pair_factors(sprites, 2000, None, torch.Generator().manual_seed(1))
    counts = (pair.indices1 != pair.indices2).sum(1)
    assert set(counts.tolist()) == {1, 2, 3, 4}  # 5 changeable factors


def test_changed_values_are_uniform_over_the_other_values(sprites):
    pair = sample_pair_factors(sprites, 6000, 1, torch.Generator().manual_seed(2))
    rotation_changed = pair.indices1[:, 2] != pair.indices2[:, 2]
    shift = (pair.indices2[rotation_changed, 2] - pair.indices1[rotation_changed, 2]) % 5
    frequencies = torch.bincount(shift, minlength=5).double() / shift.numel()
    assert frequencies[0] == 0
    quarter = torch.full((4,), 0.25, dtype=torch.float64)
    binomial = monte_carlo_tol(math.sqrt(0.25 * 0.75), shift.numel())
    assert torch.allclose(frequencies[1:], quarter, rtol=0, atol=binomial)


def test_pairs_are_reproducible(sprites):
    a = sample_pair_factors(sprites, 50, None, torch.Generator().manual_seed(3))
    b = sample_pair_factors(sprites, 50, None, torch.Generator().manual_seed(3))
    assert torch.equal(a.indices1, b.indices1) and torch.equal(a.indices2, b.indices2)


@pytest.mark.parametrize("k", [0, 6])
def test_impossible_k_is_rejected(sprites, k):
    with pytest.raises(ValueError, match="num_changed"):
        sample_pair_factors(sprites, 10, k)
