"""A new factor kind is one file (issue 19): a kind defined only here, registered as the model
of ground-truth segments, is auto-built, annealed, supervised, trained, scored (the topology
suite) and drawn (the run's figures) with no other change to the library. The registries are
restored after each test."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import Tensor

from prodvae.data import get_dataset
from prodvae.metrics import intrinsic_codes, latent_groups, topology_report
from prodvae.metrics.geodesic import latent_distances
from prodvae.models import build_vae
from prodvae.objectives import get_objective
from prodvae.objectives.semi_supervision import supervised_pull
from prodvae.spaces import (
    FACTORS,
    GROUND_TRUTH,
    Factor,
    Loop,
    PointSet,
    ProductSpace,
    Reading,
    Segment,
)
from prodvae.spaces.base import check_input, check_positive, resolve_device
from prodvae.train import load_config, train
from prodvae.train.build import auto_space
from prodvae.viz.association import latent_units
from prodvae.viz.traversals import traversal_paths


@dataclass(frozen=True)
class Ray(Factor):
    """The half-line [0, ∞): a soft wall of width ``width`` below 0 and an exponential tail
    of scale ``scale`` above, energy relu(-z)² / 2w² + relu(z) / scale (test-only)."""

    scale: float = 2.0
    width: float = 0.25

    topology = "segment"

    def __post_init__(self) -> None:
        check_positive(self, "scale")
        check_positive(self, "width")

    @property
    def dim(self) -> int:
        return 1

    def log_normalizer(self) -> float:
        return math.log(self.scale + self.width * math.sqrt(math.pi / 2))

    def energy(self, z: Tensor) -> Tensor:
        check_input("Ray", z, 1)
        wall = torch.relu(-z[:, 0])
        return wall * wall / (2 * self.width**2) + torch.relu(z[:, 0]) / self.scale

    def kl(self, mu, logvar, num_samples=None, generator=None) -> Tensor:
        return self.kl_monte_carlo(mu, logvar, num_samples or 64, generator)

    def sample(self, n, generator=None, *, device=None, dtype=torch.float32) -> Tensor:
        draw, out = resolve_device(generator, device)
        on_ray = self.scale / math.exp(self.log_normalizer())
        u = torch.rand(3, n, generator=generator, dtype=torch.float64, device=draw)
        tail = -self.scale * torch.log1p(-u[1])
        wall = -self.width * math.sqrt(2) * torch.special.erfinv(u[2]).abs()
        return torch.where(u[0] < on_ray, tail, wall)[:, None].to(device=out, dtype=dtype)

    def coordinate(self, z: Tensor) -> Tensor:
        check_input("Ray", z, 1)
        return z[:, 0].clamp_min(0.0)

    def project(self, z: Tensor) -> Tensor:
        return self.coordinate(z)[:, None]

    def traverse(self, num_steps: int) -> Tensor:
        return torch.linspace(0.0, 2 * self.scale, num_steps, dtype=torch.float64)[:, None]

    @property
    def reading(self) -> Reading:
        return Reading(("segment",), levels=(0.0,))

    def annealed(self, k: float, min_ring_ratio: float) -> Ray:
        return self.replace(width=self.width * k, scale=self.scale * k)

    def label_target(self, value: Tensor) -> Tensor:
        return value.clamp_min(0.0)[:, None]

    @property
    def label_width(self) -> float:
        return self.width


@pytest.fixture
def ray():
    """``Ray`` registered as "ray", the model of ground-truth segments, for one test."""
    with FACTORS.temporarily("ray", Ray), GROUND_TRUTH.temporarily("segment", Ray, replace=True):
        yield Ray


def test_auto_space_models_ground_truth_segments_with_the_new_kind(ray):
    sprites = get_dataset("sprites", image_size=32)
    kinds = [spec.kind for spec in sprites.spec]
    space = auto_space(sprites)
    assert kinds == ["points", "segment", "loop", "loop", "segment", "segment"]
    assert [type(f) for f in space.factors] == [PointSet, Ray, Loop, Loop, Ray, Ray]
    assert space.factors[0].num_points == sprites.spec[0].size
    assert ProductSpace.parse("ray(1.5, 0.5) * loop") == ProductSpace([Ray(1.5, 0.5), Loop()])
    assert ProductSpace.from_config(space.to_config()) == space


def test_the_product_objective_anneals_and_supervises_the_new_kind(ray):
    space = ProductSpace([Ray(2.0, 0.25), Loop()])
    objective = get_objective("product", anneal_steps=100, labelled_fraction=0.5, label_map={0: 0})
    flat = objective.space_at(space, 0).factors[0]
    assert isinstance(flat, Ray) and flat.width > 0.25 and flat.scale > 2.0
    assert objective.space_at(space, 100) == space
    mu = torch.tensor([[-1.0, 3.0, 0.0], [0.5, 0.0, 3.0]])
    labels = torch.tensor([[1.0], [float("nan")]], dtype=torch.float64)
    # row 0 pulled from -1 to 1 with width 0.25: 4 / (2 · 0.0625), over a batch of 2
    assert supervised_pull(space, mu, labels, {0: 0}).item() == pytest.approx(16.0)
    torch.manual_seed(0)
    model = build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=16)
    objective.check_model(model)
    loss, logs = objective(model, torch.rand(2, 1, 32, 32), 0, labels)
    loss.backward()
    assert math.isfinite(loss.item()) and logs["supervised"] > 0


def test_metrics_and_plots_read_the_new_kind(ray):
    space = ProductSpace([Ray(), Segment()])
    codes = np.column_stack([np.linspace(-1.0, 3.0, 8), np.zeros(8)])
    intrinsic = intrinsic_codes(codes, latent_groups(space))
    assert intrinsic.kinds == ("segment", "segment")
    np.testing.assert_array_equal(intrinsic.values[:, 0], np.clip(codes[:, 0], 0, None))
    pairs = np.arange(8), np.zeros(8, dtype=int)
    distances = latent_distances(codes, latent_groups(space), *pairs)
    np.testing.assert_allclose(distances, np.abs(codes[:, 0] - codes[0, 0]))
    assert latent_units(space, codes).names == ["z0 ray value", "z1 segment value"]
    assert traversal_paths(space, 5)[0].position_name == "latent value"


def test_a_run_auto_builds_trains_and_scores_the_new_kind(ray, tmp_path):
    config = load_config(
        None,
        [
            "data.name=sprites",
            "data.options={image_size: 32}",
            "model.space=auto",
            "model.options={width: 4, hidden_dim: 16}",
            "objective.name=product",
            "objective.options={anneal_steps: 10, labelled_fraction: 0.5, label_map: {1: 1}}",
            "train.batch_size=8",
            "train.steps=2",
            "train.log_every=1",
            "train.progress=false",
            "train.num_workers=0",
            "run.tensorboard=false",
            "eval.suite=topology",
            "eval.num_train=200",
            "eval.num_test=50",
        ],
    )
    result = train(config, tmp_path / "run")
    assert result.status == "finished"
    rows = [
        json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows[0]["supervised"] > 0 and rows[0]["width_scale"] > 1
    scores = rows[-1]
    assert 0 <= scores["eval/topology.recovery.scale"] <= 1
    assert math.isfinite(scores["eval/geometry.geodesic_stress"])
    assert (result.run_dir / "figures" / "portraits.png").is_file()
    assert (result.run_dir / "figures" / "traversals.png").is_file()


def test_topology_report_reads_the_new_kind_as_a_segment(ray):
    space = ProductSpace([Ray()])
    spec = get_dataset("sprites", image_size=32).spec[1:2]  # scale: a segment of 6 values
    factors = np.repeat(np.arange(6), 20)[:, None]
    codes = 0.5 * factors
    report = topology_report(intrinsic_codes(codes, latent_groups(space)), factors, spec)
    assert report[0].kind_match and report[0].recovery == pytest.approx(1.0)


def test_the_registries_are_restored():
    assert "ray" not in FACTORS and GROUND_TRUTH["segment"] is Segment
