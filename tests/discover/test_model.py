"""Model-based discovery: exact answers from a model whose codes are known functions of the
factors, and a trained run through the CLI."""

import json
import math

import numpy as np
import pytest
import torch

from prodvae.cli import main
from prodvae.data import FactorSpec, from_file
from prodvae.data.files import write_dataset
from prodvae.discover.model import co_change_groups, discover_codes, discover_model, latent_groups
from prodvae.discover.plot import plot_discovery
from prodvae.spaces import ProductSpace

SIZE = 24  # values per loop


@pytest.fixture(scope="module")
def two_loops(tmp_path_factory):
    """A grid of two loops whose images store each angle, as a fraction of a turn, in a pixel."""
    turns = np.arange(SIZE) / SIZE
    a, b = (g.reshape(-1) for g in np.meshgrid(turns, turns, indexing="ij"))
    images = np.zeros((len(a), 4, 4, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.round(a * 240)
    images[:, 0, 1, 0] = np.round(b * 240)
    spec = tuple(FactorSpec(n, "loop", (0.0,), period=2 * math.pi) for n in ("a", "b"))
    factors = np.c_[a, b] * 2 * math.pi
    path = tmp_path_factory.mktemp("data") / "loops.h5"
    return from_file(write_dataset(path, spec, len(a), (3, 4, 4), iter([(images, factors)])))


class KnownCodes(torch.nn.Module):
    """Codes that are known functions of the stored angles: ``a`` on a loop block, a segment
    block that never moves (collapsed), ``b`` on two Euclidean dimensions as ``(cos, sin)``,
    and a third Euclidean dimension that never moves."""

    def __init__(self, constant=False):
        super().__init__()
        self.space = ProductSpace.parse("loop * segment * euclidean(1)^3")
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the model a device
        self.constant = constant

    def encode(self, x):
        a = x[:, 0, 0, 0] * 255 / 240 * 2 * math.pi
        b = x[:, 0, 0, 1] * 255 / 240 * 2 * math.pi
        zero = torch.zeros_like(a)
        if self.constant:
            a, b = zero, zero
        mu = torch.stack([3 * a.cos(), 3 * a.sin(), zero, b.cos(), b.sin(), zero], dim=1)
        logvar = torch.full((len(x), self.space.logvar_dim), math.log(1e-4))
        return type("Posterior", (), {"mu": mu, "logvar": logvar})


def test_co_change_groups_dimensions_that_move_on_the_same_pairs():
    rng = np.random.default_rng(0)
    which = rng.integers(0, 3, 3000)  # the factor each pair changes
    amount = rng.uniform(0.2, 1.0, 3000)
    delta = 0.01 * rng.random((3000, 5))
    for dim, factor in enumerate([0, 1, 0, 2, 1]):
        delta[which == factor, dim] += amount[which == factor] * rng.uniform(0.5, 1.5)
    groups = co_change_groups(delta)
    assert sorted(map(tuple, groups)) == [(0, 2), (1, 4), (3,)]


def test_latent_groups_leave_out_blocks_that_do_not_move(two_loops):
    groups, spread, codes = latent_groups(KnownCodes(), two_loops, torch.Generator().manual_seed(0))
    assert [(g.name, g.dims, g.topology) for g in groups] == [
        ("z0", (0, 1), "loop"),
        ("z2+z3", (3, 4), "euclidean"),
    ]
    assert spread[2] == 0 and spread[5] == 0
    assert codes.shape == (2000, 6) and np.allclose(spread, codes.std(axis=0))


def test_each_group_follows_its_factor_and_traces_a_loop(two_loops):
    discovery = discover_model(KnownCodes(), two_loops, num_bases=4)
    rows = [(f.name, f.follows, f.declared, f.found, f.symmetry) for f in discovery.findings]
    assert rows == [("z0", "a", "loop", "loop", 1), ("z2+z3", "b", "euclidean", "loop", 1)]
    assert all(f.agrees and f.confidence == 1.0 for f in discovery.findings)
    # each factor once more, on every dimension its paths move
    assert [(f.follows, f.name, f.found) for f in discovery.by_factor] == [
        ("a", "z0", "loop"),
        ("b", "z2+z3", "loop"),
    ]
    assert discovery.warnings() == []
    assert discovery.space == ProductSpace.parse("loop * loop")
    assert json.loads(discovery.to_json())[1] == {
        "name": "z2+z3",
        "declared": "euclidean",
        "found": "loop",
        "symmetry": 1,
        "confidence": 1.0,
        "follows": "b",
        "follows_kind": "loop",
    }


def test_a_model_whose_codes_never_move_is_one_clear_error(two_loops):
    with pytest.raises(ValueError, match="no latent block of the model varies"):
        discover_model(KnownCodes(constant=True), two_loops, num_bases=2)


class KnownShapes(torch.nn.Module):
    """Codes of three shapes, each a function of one stored angle: ``a`` round a loop block,
    ``b`` along a segment block (its turn, as a coordinate in [-1, 1)), and ``a`` again as one
    of three far-apart points on two Euclidean dimensions."""

    def __init__(self):
        super().__init__()
        self.space = ProductSpace.parse("loop * segment * euclidean(1)^2")
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def encode(self, x):
        a = x[:, 0, 0, 0] * 255 / 240  # turns
        b = x[:, 0, 0, 1] * 255 / 240
        third = torch.floor(3 * a) * 2 * math.pi / 3
        mu = torch.stack(
            [(2 * math.pi * a).cos(), (2 * math.pi * a).sin(), 2 * b - 1, third.cos(), third.sin()],
            dim=1,
        )
        logvar = torch.full((len(x), self.space.logvar_dim), math.log(1e-4))
        return type("Posterior", (), {"mu": mu, "logvar": logvar})


def test_without_labels_each_group_is_read_from_its_codes_alone(two_loops, tmp_path):
    discovery = discover_codes(KnownShapes(), two_loops, num_readings=4)
    rows = [(f.name, f.declared, f.found, f.confidence) for f in discovery.findings]
    assert rows == [
        ("z0", "loop", "loop", 1.0),
        ("z1", "segment", "segment", 1.0),
        ("z2+z3", "euclidean", "points", 1.0),
    ]
    assert discovery.findings[2].evidence["groups"] == 3
    assert discovery.warnings() == []
    assert discovery.space == ProductSpace.parse("loop * segment * points(3)")
    assert not hasattr(discovery.findings[0], "follows")  # nothing said of the factors
    figures = plot_discovery(discovery, tmp_path)
    assert [f.path.name for f in figures] == ["z0.png", "z1.png", "z2+z3.png"]
    # the same codes without labels as with them: the loop block and the (cos, sin) circle
    known = discover_codes(KnownCodes(), two_loops, num_readings=4)
    assert [(f.name, f.found) for f in known.findings] == [("z0", "loop"), ("z2+z3", "loop")]


def test_without_labels_a_block_that_disagrees_with_its_topology_is_a_warning(two_loops):
    class Folded(KnownShapes):
        def encode(self, x):
            posterior = super().encode(x)
            mu = posterior.mu.clone()
            mu[:, 1] = 0.0  # the loop block's ring flattened onto a line
            posterior.mu = mu
            return posterior

    discovery = discover_codes(Folded(), two_loops, num_readings=4)
    assert discovery.findings[0].found == "segment"
    assert discovery.warnings() == [
        "latent z0 is a loop block but its codes over the data form a segment (confidence 1.00)"
    ]
    with pytest.raises(ValueError, match="num_readings must be >= 1"):
        discover_codes(Folded(), two_loops, num_readings=0)
    with pytest.raises(ValueError, match="no latent block of the model varies"):
        discover_codes(KnownCodes(constant=True), two_loops)


TINY = (
    "data: {name: torus, options: {image_size: 32, factor_sizes: [8, 8]}}\n"
    "model: {space: 'loop * euclidean(1)^2', backbone: burgess,"
    " options: {width: 4, hidden_dim: 16}}\n"
    "objective: {name: product}\n"
    "train: {steps: 4, batch_size: 8, progress: false, num_workers: 0}\n"
    "eval: {at_end: false}\n"
    "run: {tensorboard: false, name: tiny}\n"
)


def test_cli_reads_a_trained_run(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert main(["train", str(tmp_path / "tiny.yaml"), "--set", f"run.dir={tmp_path}"]) == 0
    capsys.readouterr()
    run = str(tmp_path / "tiny")
    assert main(["discover", run, "--bases", "2", "--samples", "8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["follows"] in ("long_hand", "short_hand") for r in rows)
    assert all(
        r["follows_kind"] == "loop" and r["found"] in ("points", "segment", "loop") for r in rows
    )
    assert main(["discover", run, "--bases", "2", "--samples", "8"]) == 0
    assert "latent     follows" in capsys.readouterr().out
    assert main(["discover", run, "--grid-only"]) == 2
    assert "read a dataset, not a run folder" in capsys.readouterr().err
    assert main(["discover", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["discover", run, "--no-labels", "--bases", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows][:1] == ["z0"] and all("follows" not in r for r in rows)
    assert all(r["found"] in ("points", "segment", "loop") for r in rows)
    assert main(["discover", "torus", "--no-labels"]) == 2
    assert "--no-labels reads a trained run's codes" in capsys.readouterr().err


class JitteredCodes(KnownCodes):
    """:class:`KnownCodes` with b's two dimensions jittered by a fixed function of the image
    (so that they move a little on any path, a's too)."""

    def encode(self, x):
        posterior = super().encode(x)
        jitter = 0.02 * torch.sin(97 * x.flatten(1).sum(1) * 255)
        posterior.mu[:, 3:5] += jitter[:, None]
        return posterior


@pytest.mark.parametrize("codes", [KnownCodes, JitteredCodes])
def test_a_factor_without_paths_is_left_unread_and_the_others_read(two_loops, monkeypatch, codes):
    from prodvae.discover import model as model_module
    from prodvae.discover.paths import Untraceable

    draw = model_module.factor_paths

    def no_b(dataset, factor, *args):
        if factor == 1:
            raise Untraceable("factor 'b': no rows vary it alone")
        return draw(dataset, factor, *args)

    monkeypatch.setattr(model_module, "factor_paths", no_b)
    discovery = discover_model(codes(), two_loops, num_bases=4)
    # b's block moves only a little on a's paths: it is not said to follow a; a is read
    assert [(f.name, f.follows, f.found) for f in discovery.findings] == [("z0", "a", "loop")]
    assert [(f.follows, f.found, f.unread) for f in discovery.by_factor] == [
        ("a", "loop", ""),
        ("b", "", "factor 'b': no rows vary it alone"),
    ]
    assert discovery.space == ProductSpace.parse("loop * loop")  # b keeps its declared kind
    (warning,) = discovery.warnings()
    assert warning.startswith("factor 'b': no rows vary it alone")
    assert "b: not read" in discovery.table()
    monkeypatch.setattr(model_module, "factor_paths", lambda *args: no_b(args[0], 1))
    with pytest.raises(ValueError, match="no factor of the dataset can be varied alone"):
        discover_model(codes(), two_loops, num_bases=4)
