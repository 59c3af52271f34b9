import math

import pytest
import torch
from tests.tolerances import chained_terms, float_tol, monte_carlo_tol

from prodvae.models import VAE, VAEOutput, build_vae
from prodvae.spaces import ProductSpace

SPACE = "loop(3, 0.5) * segment * points(3) * euclidean(2) * tilted(2, 4)"


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_vae(ProductSpace.parse(SPACE), "burgess", (3, 32, 32), width=4)


def test_forward_shapes_and_named_output(model):
    x = torch.rand(4, 3, 32, 32)
    out = model(x)
    assert isinstance(out, VAEOutput)
    assert out.x_recon.shape == x.shape
    dim = model.space.dim
    assert out.mu.shape == out.logvar.shape == out.z.shape == (4, dim)
    assert model.codes(x).shape == (4, dim)
    images = model.reconstruct(out.z)
    assert images.min() >= 0 and images.max() <= 1


def test_head_predicts_one_logvar_for_isotropic_factors(model):
    # loop 2+1, segment 1+1, points 1+1, euclidean(2) 2+2, tilted(2) 2+1
    assert model.head_sizes == (3, 2, 2, 4, 3)
    logvar = model.encode(torch.rand(3, 3, 32, 32)).logvar
    loop, tilted = model.space.slices[0], model.space.slices[4]
    assert torch.equal(logvar[:, loop][:, 0], logvar[:, loop][:, 1])
    assert torch.equal(logvar[:, tilted][:, 0], logvar[:, tilted][:, 1])


def test_sampling_is_reproducible_with_a_generator(model):
    x = torch.rand(2, 3, 32, 32)
    first = model(x, torch.Generator().manual_seed(3)).z
    second = model(x, torch.Generator().manual_seed(3)).z
    assert torch.equal(first, second)


def test_kl_is_per_factor_and_matches_the_space(model):
    posterior = model.encode(torch.rand(5, 3, 32, 32))
    kl = model.kl(posterior)
    assert kl.shape == (5, 5)
    assert torch.allclose(kl, model.space.kl(*posterior))


def test_bad_input_fails_clearly(model):
    with pytest.raises(ValueError, match=r"expected images \[batch, 3, 32, 32\]"):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="VAE.decode"):
        model.decode(torch.zeros(2, 3))


def test_build_checks_posterior_families():
    space = ProductSpace.parse("loop * points(2)")
    with pytest.raises(ValueError, match="power_spherical.*topology loop"):
        build_vae(space, "burgess", (1, 32, 32), posterior=["gaussian", "power_spherical"])
    with pytest.raises(ValueError, match="unknown posterior 'vmf'; expected one of: gaussian"):
        build_vae(space, "burgess", (1, 32, 32), posterior="vmf")
    with pytest.raises(ValueError, match=r"\['lopo'\] are not topologies"):
        build_vae(space, "burgess", (1, 32, 32), posterior={"lopo": "power_spherical"})
    # one map serves every dataset: a topology the space lacks (segment) applies to nothing
    model = build_vae(space, "burgess", (1, 32, 32), posterior={"segment": "kumaraswamy"})
    assert [family.name for family in model.posteriors] == ["gaussian", "gaussian"]
    with pytest.raises(ValueError, match="ProductSpace"):
        build_vae("loop", "burgess", (1, 32, 32))


def test_on_manifold_posteriors_put_codes_on_the_manifold():
    torch.manual_seed(0)
    space = ProductSpace.parse("loop(2, 0.5) * segment(1.5, 0.2)")
    families = {"loop": "power_spherical", "segment": "kumaraswamy"}
    model = build_vae(space, "burgess", (1, 32, 32), posterior=families, width=4)
    assert isinstance(model, VAE)
    out = model(torch.rand(6, 1, 32, 32))
    # radius times a unit vector (t d + sqrt(1 - t^2) n for z): a few float32 roundings of 2
    on_ring = float_tol(torch.float32, 2.0, 8)
    ring = torch.full((6,), 2.0)
    assert torch.allclose(out.mu[:, :2].norm(dim=-1), ring, rtol=0, atol=on_ring)
    assert torch.allclose(out.z[:, :2].norm(dim=-1), ring, rtol=0, atol=on_ring)
    assert (out.z[:, 2].abs() <= 1.5).all() and (out.mu[:, 2].abs() <= 1.5).all()


def test_initial_logvar_sets_the_starting_posterior_width():
    torch.manual_seed(0)
    space = ProductSpace.parse("loop * euclidean(2)")
    model = build_vae(space, "burgess", (1, 32, 32), width=4, initial_logvar=-4.0)
    bias = model.head.bias.detach()
    assert bias[2].item() == -4.0 and bias[5:7].tolist() == [-4.0, -4.0]
    with torch.no_grad():
        model.head.weight.zero_()
        logvar = model.encode(torch.rand(2, 1, 32, 32)).logvar
    assert torch.equal(logvar, torch.full((2, 4), -4.0))
    with pytest.raises(ValueError, match="initial_logvar"):
        build_vae(space, "burgess", (1, 32, 32), initial_logvar=float("nan"))


def test_normalise_loops_puts_each_batch_of_loop_means_at_the_rings_moments():
    space = ProductSpace.parse("loop(3, 0.5) * segment(2, 0.25) * loop(1.5, 0.2)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16, normalise_loops=True)
    x = torch.rand(32, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    blocks = space.split(model.encode(x).mu)
    plain = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    plain.load_state_dict(model.state_dict(), strict=False)
    raw = space.split(plain.encode(x).mu)
    for block, before, radius in ((blocks[0], raw[0], 3.0), (blocks[2], raw[2], 1.5)):
        # a float32 mean of 32 values is off by up to 32 eps / 2 times their largest: the
        # model's mean of the raw means, scaled to the ring by radius / rms(raw), and this one
        spread = (before - before.mean(0)).pow(2).sum(-1).mean().sqrt().item()
        scale = radius * before.abs().max().item() / spread + block.abs().max().item()
        assert block.mean(0).abs().max().item() < float_tol(torch.float32, scale, len(x))
        # two float32 sums of 64 squares (the model's and this one), each off by 32 eps relative
        rms = block.pow(2).sum(-1).mean().sqrt().item()
        assert rms == pytest.approx(radius, rel=float_tol(torch.float32, 1.0, block.numel()))
    # the segment is left alone
    assert torch.equal(blocks[1], raw[1])
    # gradients reach the encoder through the normalisation
    model.encode(x).mu[:, 0].pow(3).sum().backward()
    assert model.head.weight.grad.abs().sum() > 0


def test_normalise_loops_evaluates_with_running_statistics():
    space = ProductSpace.parse("loop(3, 0.5)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16, normalise_loops=True)
    norm = model.loop_norms["0"]
    generator = torch.Generator().manual_seed(2)
    mean, rms = torch.zeros(2), torch.tensor(3.0)
    largest_mean = largest_rms = squared_weights = 0.0
    with torch.no_grad():
        for t in range(1, 301):  # the mean of the first 100 batches, then momentum 0.01
            x = torch.rand(64, 1, 32, 32, generator=generator)
            raw = model.head(model.encoder(x))[:, :2]
            weight = max(0.01, 1 / t)
            batch_rms = (raw - raw.mean(0)).pow(2).sum(-1).mean().sqrt()
            mean = torch.lerp(mean, raw.mean(0), weight)
            rms = torch.lerp(rms, batch_rms, weight)
            largest_mean = max(largest_mean, raw.mean(0).abs().max().item())
            largest_rms = max(largest_rms, batch_rms.item())
            squared_weights = (1 - weight) ** 2 * squared_weights + weight**2
            model.encode(x)
        # 300 float32 lerps, here and in the model, each off by an eps of the batch statistics
        mean_tol = float_tol(torch.float32, largest_mean, 300)
        rms_tol = float_tol(torch.float32, largest_rms, 300)
        assert torch.allclose(norm.running_mean, mean, rtol=0, atol=mean_tol)
        assert torch.allclose(norm.running_rms, rms, rtol=0, atol=rms_tol)
        model.eval()
        x = torch.rand(8192, 1, 32, 32, generator=generator)
        codes = model.encode(x).mu
        single = model.encode(x[:1]).mu  # one image is fine in evaluation mode
        raw = model.head(model.encoder(x))[:, :2]
    # one image and a batch take different summation orders through the encoder's dot products
    # (chained_terms); LoopNorm scales what they leave in the raw means by 3 / rms
    scale = 3.0 * raw.abs().max().item() / norm.running_rms.item()
    batching = float_tol(torch.float32, scale, chained_terms(model))
    assert torch.allclose(single, codes[:1], rtol=0, atol=batching)
    # near the ring's moments on fresh images, up to 5 standard errors of the 8192 codes' mean
    # and of the running mean (the batch means of 64 images weighted by the lerps)
    share = 1 / len(codes) + squared_weights / 64
    assert (codes.mean(0).abs() < monte_carlo_tol(codes.std(0), 1 / share)).all()
    # the running RMS of batches centred on their own mean is low by sqrt(63 / 64); the RMS of
    # the codes wanders by half the relative spread of their squared norms
    squares = codes.pow(2).sum(-1)
    relative = monte_carlo_tol(0.5 * squares.std().item() / squares.mean().item(), 1 / share)
    assert squares.mean().sqrt().item() == pytest.approx(3.0 * math.sqrt(64 / 63), rel=relative)
    saved = set(model.state_dict()) - {name for name, _ in model.named_parameters()}
    assert saved == {f"loop_norms.0.{b}" for b in ("running_mean", "running_rms", "batches")}


def test_normalise_codes_puts_every_factors_means_at_its_priors_moments_under_a_blend():
    space = ProductSpace.parse("points(4) * segment(2, 0.25) * loop(3, 0.5)")
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16, normalise_codes=True)
    assert len(model.loop_norms) == 0 and set(model.code_norms) == {"0", "1", "2"}
    # the prior's moments, against the closed forms: points(4) spaced 3 apart with wells of
    # width 0.5: mean 0, E z^2 = 3^2 (4^2 - 1) / 12 + 0.5^2; the segment: flat on [-2, 2]
    # with Gaussian walls of width w = 0.25 (Z = 4 + sqrt(2 pi) w)
    w = 0.25
    z = 4 + math.sqrt(2 * math.pi) * w
    tails = 2 * (4 * w * math.sqrt(math.pi / 2) + 4 * w * w + w**3 * math.sqrt(math.pi / 2))
    expected = {"0": math.sqrt(9 * 15 / 12 + 0.25), "1": math.sqrt((16 / 3 + tails) / z)}
    for key, spread in expected.items():
        norm = model.code_norms[key]
        # 65536 prior draws: the mean within 5 standard errors, the spread within 5 of its own
        assert abs(norm.centre.item()) < monte_carlo_tol(spread, 65_536)
        assert norm.spread == pytest.approx(spread, rel=monte_carlo_tol(1.0, 65_536))
    assert model.code_norms["2"].spread == 3.0 and torch.equal(
        model.code_norms["2"].centre, torch.zeros(2)
    )
    x = torch.rand(32, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    blocks = space.split(model.encode(x).mu)
    for key, block in zip("012", blocks):
        norm = model.code_norms[key]
        rms = (block - block.mean(0)).pow(2).sum(-1).mean().sqrt().item()
        # a float32 RMS of 32 codes, and a mean moved onto the prior's, each off by a few
        # dozen eps of the codes' size
        size = norm.spread + norm.centre.abs().max().item()
        assert rms == pytest.approx(norm.spread, rel=float_tol(torch.float32, 1.0, block.numel()))
        assert torch.allclose(
            block.mean(0), norm.centre, rtol=0, atol=float_tol(torch.float32, size, 64)
        )
    # blend 0: the raw means, as a model without the normalisation gives them
    plain = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    plain.load_state_dict(model.state_dict(), strict=False)
    model.code_blend.fill_(0.0)
    assert torch.equal(model.encode(x).mu, plain.encode(x).mu)
    assert "code_blend" in model.state_dict() and "code_blend" not in plain.state_dict()
    with pytest.raises(ValueError, match="normalise_loops and normalise_codes: choose one"):
        build_vae(space, "burgess", (1, 32, 32), normalise_loops=True, normalise_codes=True)
    with pytest.raises(ValueError, match="normalise_codes must be a bool"):
        build_vae(space, "burgess", (1, 32, 32), normalise_codes=1)


def test_normalise_loops_fails_clearly():
    space = ProductSpace.parse("loop(3, 0.5)")
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16, normalise_loops=True)
    with pytest.raises(ValueError, match="normalise_codes: training needs batches of at least 2"):
        model.encode(torch.rand(1, 1, 32, 32))
    no_loop = build_vae(ProductSpace.parse("segment"), "burgess", (1, 32, 32), normalise_loops=True)
    assert len(no_loop.loop_norms) == 0  # nothing to normalise: one config serves any data
    with pytest.raises(ValueError, match="normalise_loops must be a bool"):
        build_vae(space, "burgess", (1, 32, 32), normalise_loops="yes")
    on_ring = build_vae(
        space, "burgess", (1, 32, 32), posterior="power_spherical", normalise_loops=False
    )
    assert len(on_ring.loop_norms) == 0


def test_channels_last_holds_conv_weights_so_and_gives_the_same_codes_and_images(model):
    import copy

    last = copy.deepcopy(model).use_channels_last()
    convs = [
        m.weight
        for m in last.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert not model.encoder.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    z = torch.randn(8, model.space.dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = model.encode(x), last.encode(x)
        logits, logits_last = model.decode(z), last.decode(z)
        raw = model.head(model.encoder(x)).abs().max().item()
    # the same dot products summed in another order (chained_terms of them, each of size raw)
    tol = float_tol(torch.float32, raw, chained_terms(model))
    assert torch.allclose(theirs.mu, ours.mu, rtol=0, atol=tol)
    assert torch.allclose(theirs.logvar, ours.logvar, rtol=0, atol=tol)
    images_tol = float_tol(torch.float32, logits.abs().max().item(), chained_terms(model))
    assert torch.allclose(logits_last, logits, rtol=0, atol=images_tol)
    assert not torch.equal(theirs.mu, torch.zeros_like(theirs.mu))
