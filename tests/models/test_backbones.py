import pytest
import torch

from prodvae.models import BACKBONES, backbone_options, make_backbone
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


@pytest.mark.parametrize("shape", [(1, 48, 48), (1, 64, 32), (0, 64, 64), (64, 64), (1.0, 64, 64)])
def test_bad_image_shapes_fail_clearly(shape):
    with pytest.raises(ValueError, match="image_shape"):
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
