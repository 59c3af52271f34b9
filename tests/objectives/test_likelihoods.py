import pytest
import torch

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
        assert torch.allclose(value, nll.flatten(1).sum(-1), rtol=1e-5), name


def test_scales_resolve_and_fail_clearly():
    assert resolve_scale("t", "gaussian", None) == 0.1
    assert resolve_scale("t", "laplace", 0.5) == 0.5
    with pytest.raises(ValueError, match="does not apply"):
        resolve_scale("t", "bernoulli", 0.5)
    with pytest.raises(ValueError, match="likelihood_scale"):
        resolve_scale("t", "gaussian", -1.0)
