"""Every registered objective: options checked, loss falls on a tiny batch, gradients finite."""

import math

import pytest
import torch

from prodvae.models import build_vae
from prodvae.objectives import OBJECTIVES, get_objective, objective_options
from prodvae.spaces import ProductSpace

from .toy import blob_images, ring_angles

MIXED = "loop(3, 0.5) * segment(2, 0.25) * points(3, 3.0, 0.5)"
ON_MANIFOLD = {"loop": "power_spherical", "segment": "kumaraswamy"}
SMALL_DISCRIMINATOR = {"discriminator_width": 32, "discriminator_layers": 2}

#: name -> (space, options, posterior families); one entry per registered objective.
CASES = {
    "product": (MIXED, {"warmup_steps": 10, "anneal_steps": 20}, None),
    "vae": (MIXED, {}, None),
    "beta_vae": (MIXED, {"beta": 2.0}, None),
    "ada_gvae": (MIXED, {}, None),
    "ada_ml_vae": (MIXED, {}, None),
    "annealed_vae": (MIXED, {"gamma": 10.0, "capacity_max": 5.0, "capacity_steps": 0}, None),
    "beta_tcvae": ("euclidean(4)", {"dataset_size": 1000}, None),
    "factor_vae": ("euclidean(4)", SMALL_DISCRIMINATOR, None),
    "dip_vae": ("euclidean(4)", {"variant": "II"}, None),
    "tilted": ("tilted(3, 3)", {"fixed_variance": True}, None),
    "qlae": ("euclidean(4)", {}, None),
    "on_manifold": (MIXED, {}, ON_MANIFOLD),
}

END = 10**7  # a step past every schedule in CASES


def test_every_registered_objective_has_a_case():
    # Other test folders register toy objectives of their own; only the library's count here.
    library = {name for name, cls in OBJECTIVES.items() if cls.__module__.startswith("prodvae.")}
    assert library == set(CASES)


def batch(objective, generator):
    if objective.needs_pairs:
        first = ring_angles(8, 2, generator)
        second = first.clone()
        second[:, 1] = ring_angles(8, 1, generator)[:, 0]
        return torch.stack([blob_images(first), blob_images(second)], dim=1)
    return blob_images(ring_angles(8, 2, generator))


@pytest.mark.parametrize("name", sorted(CASES))
def test_objective_lowers_its_loss_with_finite_gradients(name):
    space, options, families = CASES[name]
    torch.manual_seed(0)
    model = build_vae(
        ProductSpace.parse(space),
        "burgess",
        (1, 32, 32),
        posterior=families,
        width=4,
        hidden_dim=32,
    )
    objective = get_objective(name, **options)
    objective.check_model(model)
    x = batch(objective, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, logs = objective(model, x, END)
        optimizer.zero_grad()
        loss.backward()
        for p in model.parameters():
            assert p.grad is None or torch.isfinite(p.grad).all()
        optimizer.step()
        losses.append(loss.item())
        assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_options_are_listed(name):
    with pytest.raises(ValueError, match=r"unknown option\(s\) betta.*valid options"):
        get_objective(name, betta=1.0)


def test_unknown_objective_fails_clearly():
    with pytest.raises(ValueError, match="unknown objective 'elbo'.*product"):
        get_objective("elbo")


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("beta_vae", {"beta": -1.0}, "beta"),
        ("beta_vae", {"beta": float("nan")}, "beta"),
        ("beta_vae", {"likelihood": "poisson"}, "likelihood"),
        ("beta_vae", {"likelihood_scale": 0.1}, "likelihood_scale"),
        ("vae", {"likelihood": "gaussian", "likelihood_scale": 0.0}, "likelihood_scale"),
        ("beta_vae", {"weak": "pairs"}, "weak"),
        ("product", {"anneal_factor": 0.5}, "anneal_factor"),
        ("product", {"anneal_steps": -1}, "anneal_steps"),
        ("product", {"anneal_shape": "step"}, "anneal_shape"),
        ("product", {"anneal_cycle": -5}, "anneal_cycle"),
        ("product", {"anneal_cycle": 100, "anneal_steps": 300}, "anneal_cycle"),
        ("product", {"labelled_fraction": 1.5}, "labelled_fraction"),
        ("product", {"labelled_fraction": 0.1}, "label_map"),
        ("product", {"min_ring_ratio": 0.0}, "min_ring_ratio"),
        ("annealed_vae", {"capacity_steps": 1.5}, "capacity_steps"),
        ("dip_vae", {"variant": "III"}, "variant"),
        ("qlae", {"num_values": 1}, "num_values"),
        ("factor_vae", {"discriminator_lr": 0.0}, "discriminator_lr"),
        ("beta_tcvae", {"units": "pixels"}, "units"),
        ("tilted", {"fixed_variance": "yes"}, "fixed_variance"),
    ],
)
def test_invalid_option_values_fail_clearly(name, options, match):
    with pytest.raises(ValueError, match=match):
        get_objective(name, **options)


@pytest.mark.parametrize(
    ("name", "space", "match"),
    [
        ("tilted", "loop", "sphere"),
        ("dip_vae", "loop * euclidean", "euclidean"),
        ("qlae", "segment * euclidean", "euclidean"),
        ("factor_vae", "segment", "2 dimensions"),
        ("on_manifold", "loop * segment", "power_spherical"),
    ],
)
def test_objectives_reject_spaces_they_cannot_train(name, space, match):
    model = build_vae(ProductSpace.parse(space), "burgess", (1, 32, 32), width=4)
    with pytest.raises(ValueError, match=match):
        get_objective(name).check_model(model)


def test_gaussian_only_objectives_reject_on_manifold_posteriors():
    space = ProductSpace.parse("loop * segment")
    model = build_vae(space, "burgess", (1, 32, 32), posterior=ON_MANIFOLD, width=4)
    for name in ("beta_tcvae", "ada_gvae"):
        with pytest.raises(ValueError, match="Gaussian posteriors"):
            get_objective(name).check_model(model)


def test_bad_batches_fail_clearly():
    model = build_vae(ProductSpace.parse("loop"), "burgess", (1, 32, 32), width=4)
    with pytest.raises(ValueError, match=r"\[batch, 2, 1, 32, 32\]"):
        get_objective("ada_gvae")(model, torch.rand(4, 1, 32, 32), 0)
    x = torch.rand(4, 1, 32, 32)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        get_objective("vae")(model, x, 0)


def test_options_are_introspectable():
    assert objective_options("beta_vae")["beta"] == 4.0
    assert "labelled_fraction" in objective_options("product")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(CASES))
def test_objective_runs_on_cuda(name):
    space, options, families = CASES[name]
    torch.manual_seed(0)
    model = build_vae(
        ProductSpace.parse(space), "burgess", (1, 32, 32), posterior=families, width=4
    ).cuda()
    objective = get_objective(name, **options)
    x = batch(objective, torch.Generator().manual_seed(0)).cuda()
    loss, _ = objective(model, x, 0)
    loss.backward()
    assert loss.device.type == "cuda" and torch.isfinite(loss)
