import pytest
import torch
from tests.tolerances import float_tol

from prodvae.models import build_vae
from prodvae.objectives import elbo, get_objective
from prodvae.objectives.likelihoods import (
    LIKELIHOODS,
    STUCK_LOGIT,
    resolve_scale,
    stuck_fraction,
)
from prodvae.spaces import ProductSpace


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


def test_stuck_fraction_counts_missed_pixels_whose_logit_passes_no_gradient():
    # per pixel: missed by > 0.5 and |logit| > 15 (stuck), missed but still graded,
    # reconstructed, missed and stuck the other way, reconstructed, close
    logits = torch.tensor([-20.0, -3.0, 5.0, 20.0, -20.0, 0.0]).reshape(1, 1, 2, 3)
    x = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.4]).reshape(1, 1, 2, 3)
    assert stuck_fraction(logits, x).item() == pytest.approx(2 / 3)
    # nothing missed by that much: nothing stuck
    assert stuck_fraction(torch.full((2, 3, 4, 4), -30.0), torch.zeros(2, 3, 4, 4)).item() == 0
    # beyond STUCK_LOGIT the sigmoid's gradient is below 3.1e-7
    logit = torch.tensor(-STUCK_LOGIT, requires_grad=True)
    torch.sigmoid(logit).backward()
    assert logit.grad.item() < 3.1e-7
    assert LIKELIHOODS.extra("gaussian")["saturates"] and LIKELIHOODS.extra("laplace")["saturates"]
    assert not LIKELIHOODS.extra("bernoulli")["saturates"]


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_a_decoder_stuck_past_its_targets_is_logged_and_warned_once(
    likelihood, monkeypatch, caplog
):
    monkeypatch.setattr(elbo, "STUCK_STEPS", 3)
    model = build_vae(ProductSpace.parse("loop * segment"), "burgess", (1, 32, 32), width=4)
    with torch.no_grad():  # every logit far below any bright pixel
        last = [m for m in model.decoder.modules() if hasattr(m, "bias") and m.bias is not None]
        for m in model.decoder.modules():
            if hasattr(m, "weight") and m.weight is not None:
                m.weight.zero_()
        last[-1].bias.fill_(-40.0)
    objective = get_objective("beta_vae", likelihood=likelihood)
    images = torch.zeros(8, 1, 32, 32)
    images[:, :, 10:14, 10:14] = 1.0  # 16 bright pixels an image, all missed
    with caplog.at_level("WARNING", logger="prodvae.objectives.elbo"):
        logs = [objective(model, images, step).logs for step in range(5)]
    if likelihood == "bernoulli":  # it does not saturate: nothing measured, nothing said
        assert all("stuck_pixels" not in entry for entry in logs)
        assert "stuck" not in caplog.text
        return
    assert [entry["stuck_pixels"] for entry in logs] == [1.0] * 5
    assert caplog.text.count("reconstruction stuck") == 1
    assert "step 2: reconstruction stuck: for 3 steps" in caplog.text
    assert "gaussian likelihood's sigmoid mean passes no gradient" in caplog.text
