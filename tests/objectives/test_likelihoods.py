import pytest
import torch
from tests.tolerances import float_tol

from prodvae.objectives.likelihoods import LIKELIHOODS, resolve_scale


def test_likelihoods_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 4, 4, generator=g)
    x = torch.rand(3, 1, 4, 4, generator=g)
    mean = torch.sigmoid(logits)
    expected = {
        # Continuous Bernoulli targets: BCE equals -[x log p + (1 - x) log(1 - p)].
        "bernoulli": -(x * mean.log() + (1 - x) * (1 - mean).log()),
        "gaussian": -torch.distributions.Normal(mean, 0.2).log_prob(x),
        "laplace": -torch.distributions.Laplace(mean, 0.2).log_prob(x),
    }
    for name, nll in expected.items():
        value = LIKELIHOODS[name](logits, x, 0.2)
        assert value.shape == (3,)
        # float32 sums of 16 per-pixel terms by two formulas: off by up to 16 eps of the
        # terms' absolute sum
        rounding = float_tol(torch.float32, nll.abs().flatten(1).sum(-1), 16)
        assert ((value - nll.flatten(1).sum(-1)).abs() <= rounding).all(), name


def test_scales_resolve_and_fail_clearly():
    assert resolve_scale("gaussian", None) == 0.1
    assert resolve_scale("laplace", 0.5) == 0.5
    with pytest.raises(ValueError, match="does not apply"):
        resolve_scale("bernoulli", 0.5)
    with pytest.raises(ValueError, match="likelihood_scale"):
        resolve_scale("gaussian", -1.0)
