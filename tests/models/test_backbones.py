import pytest
import torch

from prodvae.models import BACKBONES, backbone_options, make_backbone
from prodvae.models.backbones import map_sizes
from prodvae.models.backbones.nvae import SqueezeExcite


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_through_every_backbone(name, channels, size):
    torch.manual_seed(0)
    parts = make_backbone(name, (channels, size, size), 5, width=4)
    x = torch.rand(2, channels, size, size)
    features = parts.encoder(x)
    assert features.shape == (2, parts.feature_dim)
    out = parts.decoder(torch.randn(2, 5))
    assert out.shape == (2, channels, size, size)
    assert torch.isfinite(out).all()


def test_registry_lists_the_three_backbones():
    assert {"burgess", "resnet", "nvae"} <= set(BACKBONES)


def test_burgess_matches_the_standard_layout_at_64_pixels():
    parts = make_backbone("burgess", (1, 64, 64), 10)
    convs = [m for m in parts.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert parts.feature_dim == 256


def test_nvae_squeeze_excitation_switch():
    def count(use_se):
        parts = make_backbone("nvae", (1, 32, 32), 4, width=4, use_se=use_se)
        modules = [*parts.encoder.modules(), *parts.decoder.modules()]
        return sum(isinstance(m, SqueezeExcite) for m in modules)

    assert count(True) > 0
    assert count(False) == 0


def test_resnet_attention_switch_changes_parameters():
    def size(flag):
        parts = make_backbone("resnet", (1, 32, 32), 4, width=8, use_attention=flag)
        return sum(p.numel() for p in parts.encoder.parameters())

    assert size(True) > size(False)


def test_unknown_backbone_and_option_fail_clearly():
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        make_backbone("vgg", (1, 64, 64), 4)
    with pytest.raises(ValueError, match="widht.*valid options.*width"):
        make_backbone("burgess", (1, 64, 64), 4, widht=8)
    assert set(backbone_options("nvae")) == {"width", "num_cells", "expansion", "use_se"}


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize(
    "shape",
    [
        (1, 28, 28),
        (3, 48, 48),
        (1, 96, 96),
        (3, 100, 100),
        (3, 48, 64),
        (1, 64, 33),
        (1, 8, 8),
        (3, 8, 40),
    ],
)
def test_any_image_of_eight_pixels_a_side_or_more_goes_through_every_backbone(name, shape):
    """Not only 32, 64 and 128 px: smallNORB's 96, MNIST's 28, odd and non-square sides."""
    torch.manual_seed(0)
    parts = make_backbone(name, shape, 5, width=4)
    x = torch.rand(2, *shape)
    features = parts.encoder(x)
    assert features.shape == (2, parts.feature_dim)
    out = parts.decoder(torch.randn(2, 5))
    assert out.shape == (2, *shape)
    (features.square().sum() + out.square().sum()).backward()
    grads = [p.grad for p in parts.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_map_sizes_halve_until_the_smaller_side_is_under_eight():
    assert map_sizes(32, 32) == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert len(map_sizes(64, 64)) - 1 == 4 and map_sizes(128, 128)[-1] == (4, 4)
    assert map_sizes(28, 28) == [(28, 28), (14, 14), (7, 7)]
    assert map_sizes(96, 96)[-1] == (6, 6)
    assert map_sizes(48, 64) == [(48, 64), (24, 32), (12, 16), (6, 8)]
    assert map_sizes(100, 100) == [(100, 100), (50, 50), (25, 25), (12, 12), (6, 6)]
    assert map_sizes(100, 100, round_up=True)[-2:] == [(13, 13), (7, 7)]
    assert map_sizes(8, 8) == [(8, 8), (4, 4)]


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("size", [32, 64, 128])
def test_the_standard_sizes_end_at_a_four_by_four_map(name, size):
    """At 32, 64 and 128 px the trunks are the ones every recorded run trained: 3, 4 and 5
    stride-2 stages down to a 4x4 map."""
    parts = make_backbone(name, (1, size, size), 4, width=4)
    strided = [
        m for m in parts.encoder.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)
    ]
    assert len(strided) == {32: 3, 64: 4, 128: 5}[size]
    last = []
    strided[-1].register_forward_hook(lambda module, inputs, output: last.append(output.shape))
    parts.encoder(torch.rand(1, 1, size, size))
    assert last[0][-2:] == (4, 4)


@pytest.mark.parametrize(
    "shape",
    [(1, 7, 64), (1, 64, 4), (0, 64, 64), (64, 64), (1.0, 64, 64), (1, 64, True), (1, 2, 3, 4)],
)
def test_bad_image_shapes_fail_clearly(shape):
    with pytest.raises(ValueError, match=r"image_shape must be \(channels, height, width\)"):
        make_backbone("burgess", shape, 4)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_bad_width_fails_clearly(name):
    with pytest.raises(ValueError, match="width"):
        make_backbone(name, (1, 32, 32), 4, width=0)


def test_burgess_leaky_encoder_keeps_every_hidden_unit_alive_on_near_identical_images():
    """On torus (a fixed dial, two small hands) many ReLU units are off for every image."""
    from prodvae.data import get_dataset

    dataset = get_dataset("torus", image_size=32)
    images = dataset.render(dataset.sample_values(512, torch.Generator().manual_seed(0)))
    images = images.float() / 255

    def silent_units(activation):
        torch.manual_seed(2)
        parts = make_backbone(
            "burgess", (3, 32, 32), 4, width=16, hidden_dim=128, encoder_activation=activation
        )
        with torch.no_grad():
            features = parts.encoder(images)
        return int((features.std(0) < 1e-6).sum())

    assert silent_units("relu") >= 128 // 4
    assert silent_units("leaky_relu") == 0


def test_burgess_encoder_activation_is_checked():
    parts = make_backbone("burgess", (1, 32, 32), 4, width=4, encoder_activation="leaky_relu")
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in parts.encoder.modules())
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in parts.decoder.modules())
    with pytest.raises(ValueError, match="encoder_activation must be one of relu, leaky_relu"):
        make_backbone("burgess", (1, 32, 32), 4, encoder_activation="tanh")
