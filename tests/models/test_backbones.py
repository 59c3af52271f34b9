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
