"""Discover what a trained model's latent blocks learned: the topology each block traces.

The reading is the model-free one (:mod:`.report`) with the images' embedding replaced by a
latent block's codes: each ground-truth factor is varied alone from base points, the path's
images are encoded, and each block's codes along the path are read by their persistent
homology. A block **follows** the factor whose paths move it most (the mean diameter of the
paths in the block, over the spread of the block's codes on the data); its found kind is what
those paths trace in it. Each factor is then read once more on every latent dimension its
paths move by at least :data:`MOVES` of the dimension's spread
(:attr:`~prodvae.discover.report.Discovery.by_factor`): a factor that a model spreads over
several blocks or dimensions, none of which holds it alone or follows it first, may still
close into a loop over them together. A factor that moves no dimension is not read; one
whose paths cannot be drawn (:class:`~prodvae.discover.paths.Untraceable`) is reported as not
read, with a warning, and then a block that no factor read moves by :data:`MOVES` of its
spread is said to follow none (it may hold that factor).

Blocks: each factor of a product space is a block, except Euclidean ones, whose dimensions are
first grouped into factors by how they change together across weak pairs (pairs of images
that differ in one factor, as Ada-GVAE trains on): two dimensions of one factor both move on
that factor's pairs and both stay on the others', so their changes over the pairs correlate;
dimensions of different factors take turns (:func:`co_change_groups`). A block or dimension
whose codes vary over the data less than the posterior's own spread (signal-to-noise below
1) carries nothing and is left out.

Without labels (:func:`discover_codes`, ``prodvae discover RUN_DIR --no-labels``) no factor
is varied: each group's codes over the data are read as one cloud (the same persistent
homology, on farthest-point landmarks), which tells what a clean block holds but reads a ring
that the other factors' codes fill in as a segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from prodvae.data import GroundTruthDataset, sample_pairs
from prodvae.discover.paths import SAMPLES, Untraceable, factor_paths
from prodvae.discover.reading import (
    MAX_POINTS,
    farthest_points,
    pairwise_distances,
    read_cloud,
    read_distances,
)
from prodvae.discover.report import BASES, Discovery, Finding, tally
from prodvae.spaces import KINDS, ProductSpace

#: Images drawn to measure each dimension's spread and activity, and weak pairs to group by.
NUM_IMAGES = 2000
NUM_PAIRS = 2000
#: A factor *moves* a latent dimension whose range along the factor's paths is at least this
#: many of the dimension's standard deviations over the data.
MOVES = 0.5
#: Dimensions whose changes across the pairs correlate (Pearson, average linkage) at least
#: this much are one factor's.
CO_CHANGE = 0.3


@dataclass(frozen=True)
class LatentGroup:
    """Latent dimensions read as one factor."""

    name: str  # "z3" (the space's factor 3), "z6+z7" (Euclidean factors), "z2.0" (a dimension)
    dims: tuple[int, ...]
    topology: str  # the space factor's topology; "euclidean" for grouped dimensions


@torch.no_grad()
def encode(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 256):
    """Posterior means and variances ``float64 numpy [n, dim]`` of ``uint8`` images; the
    variances are ``None`` when the model's posterior is not described by a variance."""
    device = next(model.parameters()).device
    means, variances = [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device).float() / 255.0
        posterior = model.encode(x)
        means.append(posterior.mu.double().cpu())
        try:
            logvar = model.space.expand_logvar(posterior.logvar)
        except ValueError:
            logvar = None
        if logvar is not None and logvar.shape == posterior.mu.shape:
            variances.append(logvar.double().exp().cpu())
    mu = torch.cat(means).numpy()
    var = torch.cat(variances).numpy() if len(variances) == len(means) else None
    return mu, var


def _draw_images(dataset: GroundTruthDataset, n: int, generator: torch.Generator) -> torch.Tensor:
    rows = torch.randint(len(dataset), (n,), generator=generator).numpy()
    return dataset.images_at(rows)


def co_change_groups(delta: np.ndarray) -> list[np.ndarray]:
    """Groups of columns of ``delta [pairs, dims]`` (how much each dimension moved on each
    pair) that change together: average linkage on ``1 - correlation`` (Pearson's), cut
    where the correlation falls below :data:`CO_CHANGE`."""
    n = delta.shape[1]
    if n == 1:
        return [np.arange(1)]
    with np.errstate(invalid="ignore", divide="ignore"):  # a column that never moves
        rho = np.nan_to_num(np.corrcoef(delta, rowvar=False), nan=0.0)
    distance = 1.0 - (rho + rho.T) / 2
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(np.clip(distance, 0.0, None), checks=False), "average")
    labels = fcluster(tree, 1.0 - CO_CHANGE, "distance")
    return [np.flatnonzero(labels == label) for label in np.unique(labels)]


def latent_groups(
    model: torch.nn.Module, dataset: GroundTruthDataset, generator: torch.Generator
) -> tuple[list[LatentGroup], np.ndarray, np.ndarray]:
    """The latent groups of ``model`` that carry something, the spread (standard deviation
    over the data) of every latent dimension, and the codes ``[NUM_IMAGES, dim]`` (posterior
    means) it was measured on."""
    space: ProductSpace = model.space
    mu, var = encode(model, _draw_images(dataset, NUM_IMAGES, generator))
    spread = mu.std(axis=0)
    active = spread**2 > (var.mean(axis=0) if var is not None else 0.0)
    groups, euclidean, names = [], [], {}
    for k, (factor, part) in enumerate(zip(space.factors, space.slices)):
        dims = np.arange(part.start, part.stop)
        if factor.topology == "euclidean":
            euclidean += [d for d in dims if active[d]]
            for i, d in enumerate(dims):
                names[int(d)] = f"z{k}" if len(dims) == 1 else f"z{k}.{i}"
        elif active[dims].any():
            groups.append(LatentGroup(f"z{k}", tuple(int(d) for d in dims), factor.topology))
    if euclidean:
        pairs = sample_pairs(dataset, NUM_PAIRS, 1, generator)
        first, _ = encode(model, dataset.images_at(pairs.rows1.numpy()))
        second, _ = encode(model, dataset.images_at(pairs.rows2.numpy()))
        dims = np.asarray(euclidean)
        delta = np.abs(first[:, dims] - second[:, dims]) / np.maximum(spread[dims], 1e-12)
        for members in co_change_groups(delta):
            chosen = tuple(int(d) for d in dims[members])
            name = "+".join(names[d] for d in chosen)
            groups.append(LatentGroup(name, chosen, "euclidean"))
    groups.sort(key=lambda g: g.dims)
    return groups, spread, mu


@dataclass(frozen=True)
class ModelFinding(Finding):
    """A latent group's finding: ``declared`` is its topology in the model's space, and it
    follows the ground-truth factor ``follows`` (of kind ``follows_kind``)."""

    follows: str = ""
    follows_kind: str = ""

    @property
    def proposed(self) -> str:
        """The kind found, or the followed factor's own kind where the reading is unsure."""
        return self._proposed(self.follows_kind)

    @property
    def agrees(self) -> bool:
        """Whether the group traces its factor with the factor's own kind."""
        return self.found == self.follows_kind

    def disagreement(self) -> str:
        return (
            f"latent {self.name} (a {self.declared} block) follows {self.follows!r}, a "
            f"{self.follows_kind}, but traces it as a {self.found} "
            f"(confidence {self.confidence:.2f})"
        )

    def as_json(self) -> dict:
        return {**super().as_json(), "follows": self.follows, "follows_kind": self.follows_kind}


def discover_model(
    model: torch.nn.Module,
    dataset: GroundTruthDataset,
    *,
    num_bases: int = BASES,
    samples: int = SAMPLES,
    seed: int = 0,
) -> Discovery:
    """Read what each latent group of a trained ``model`` traces (see the module docstring)."""
    generator = torch.Generator().manual_seed(int(seed))
    groups, spread, _ = latent_groups(model, dataset, generator)
    _check_groups(groups)
    varying = [k for k, spec in enumerate(dataset.spec) if spec.size > 1]
    # per factor: its paths' values and codes
    traced, unread = {}, {}
    for k in varying:
        try:
            paths = factor_paths(dataset, k, num_bases, generator, samples)
        except Untraceable as error:  # no path to read it on: reported, not read
            unread[k] = str(error)
            continue
        coded = []
        for path in paths:
            sub = path.subsampled()
            codes, _ = encode(model, sub.images)
            coded.append((sub.values, sub.points(codes)))
        traced[k] = coded
    if not traced:
        raise ValueError("no factor of the dataset can be varied alone: nothing to read")

    def read(name: str, declared: str, dims: list[int], k: int):
        """The finding of latent ``dims`` read on factor ``k``'s paths (None: they never
        move there)."""
        spec = dataset.spec[k]
        period = spec.period if spec.kind == "loop" else None
        examples = [(values, pairwise_distances(codes[:, dims])) for values, codes in traced[k]]
        examples = [(v, d) for v, d in examples if d.max() > 0]
        if not examples:
            return None
        readings = [read_distances(d, v, period) for v, d in examples]
        found, agreement, symmetry, evidence = tally(readings)
        return ModelFinding(
            name=name,
            declared=declared,
            found=found,
            symmetry=symmetry,
            confidence=agreement,
            size=spec.size,
            evidence=evidence,
            readings=tuple(readings),
            example=examples[0],
            follows=spec.name,
            follows_kind=spec.kind,
        )

    findings = []
    for group in groups:
        dims = list(group.dims)
        scale = float(np.linalg.norm(spread[dims])) or 1.0
        moves = {
            k: float(np.mean([np.ptp(codes[:, dims], axis=0).max() for _, codes in coded])) / scale
            for k, coded in traced.items()
        }
        follows = max(moves, key=lambda k: moves[k])
        if unread and moves[follows] < MOVES:
            continue  # it may hold a factor that could not be traced: it follows none read
        finding = read(group.name, group.topology, dims, follows)
        if finding is not None:
            findings.append(finding)
    # each factor read once more on every active dimension its paths move
    dims_active = sorted(d for g in groups for d in g.dims)
    by_factor = []
    for k in varying:
        if k in unread:
            spec = dataset.spec[k]
            by_factor.append(
                ModelFinding(
                    "",
                    "",
                    "",
                    1,
                    0.0,
                    size=spec.size,
                    unread=unread[k],
                    follows=spec.name,
                    follows_kind=spec.kind,
                )
            )
            continue
        moved = [
            d
            for d in dims_active
            if np.mean([np.ptp(codes[:, d]) for _, codes in traced[k]]) / max(spread[d], 1e-12)
            >= MOVES
        ]
        if not moved:
            continue
        members = [g for g in groups if set(g.dims) & set(moved)]
        name = "+".join(f"{g.name}" for g in members)
        finding = read(name, "+".join(sorted({g.topology for g in members})), moved, k)
        if finding is not None:
            by_factor.append(finding)
    return Discovery(tuple(findings), by_factor=tuple(by_factor))


def _check_groups(groups: list[LatentGroup]) -> None:
    if not groups:
        raise ValueError("no latent block of the model varies over the data: nothing to read")


@dataclass(frozen=True)
class CloudFinding(Finding):
    """A latent group read without labels: ``declared`` is its topology in the model's space
    ("euclidean" for grouped Euclidean dimensions, which declare no kind)."""

    subject: ClassVar[str] = "latent"

    @property
    def agrees(self) -> bool:
        return self.declared not in KINDS or self.found == self.declared

    def disagreement(self) -> str:
        return (
            f"latent {self.name} is a {self.declared} block but its codes over the data form "
            f"a {self.found} (confidence {self.confidence:.2f})"
        )


def discover_codes(
    model: torch.nn.Module, dataset: GroundTruthDataset, *, num_readings: int = BASES, seed: int = 0
) -> Discovery:
    """Read each latent group of a trained ``model`` from its codes alone, without the
    factors' values: what works on data without factor labels.

    The groups are :func:`latent_groups`' (a product space's blocks; a Euclidean model's
    dimensions grouped by how they change across weak pairs: the pairs, not labels). Each
    group's posterior means over :data:`NUM_IMAGES` images form a cloud, read by its
    persistent homology (:func:`~prodvae.discover.reading.read_cloud`) ``num_readings``
    times, each on a random half of the images; the found kind is the majority, the
    confidence the fraction agreeing. A group is only as clean as the model: a ring that the
    other factors' codes fill in reads as a segment (benchmarks/README.md has the figures).
    """
    if num_readings < 1:
        raise ValueError(f"num_readings must be >= 1, got {num_readings}")
    generator = torch.Generator().manual_seed(int(seed))
    groups, _, mu = latent_groups(model, dataset, generator)
    _check_groups(groups)
    rng = np.random.default_rng(seed)
    findings = []
    for group in groups:
        cloud = mu[:, list(group.dims)]
        halves = [rng.permutation(len(cloud))[: len(cloud) // 2] for _ in range(num_readings)]
        readings = [read_cloud(cloud[half], seed=i) for i, half in enumerate(halves)]
        found, agreement, _, evidence = tally(readings)
        first = cloud[halves[0]]
        landmarks = first[farthest_points(first, MAX_POINTS, 0)]
        findings.append(
            CloudFinding(
                name=group.name,
                declared=group.topology,
                found=found,
                symmetry=1,
                confidence=agreement,
                size=max(int(round(evidence["groups"])), 2),
                evidence=evidence,
                readings=tuple(readings),
                example=(None, pairwise_distances(landmarks)),
            )
        )
    return Discovery(tuple(findings))
