import torch

from prodvae.objectives.dip_vae import covariance
from prodvae.objectives.qlae import quantise


def test_quantise_snaps_each_dimension_to_its_own_codebook():
    codebooks = torch.tensor([[-1.0, 0.0, 1.0], [0.0, 10.0, 20.0]])
    mu = torch.tensor([[0.4, 14.0], [-0.6, 16.0]])
    assert torch.equal(quantise(mu, codebooks), torch.tensor([[0.0, 10.0], [-1.0, 20.0]]))


def test_covariance_matches_numpy_definition():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(covariance(x), torch.cov(x.T, correction=0))
