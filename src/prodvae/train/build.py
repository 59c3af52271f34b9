"""Build the dataset, latent space, model and objective that a config names.

Everything is looked up by registry name; a bad name or option raises the registry's
``ValueError`` (which lists the valid choices) before a run folder is created. The objective
then prepares itself on the training data (:meth:`~prodvae.objectives.Objective.prepare`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import torch

from prodvae.data import GroundTruthDataset, check_pairs, from_file, get_dataset
from prodvae.models import VAE, build_vae
from prodvae.objectives import Objective, get_objective
from prodvae.spaces import Factor, ProductSpace
from prodvae.train.config import DISCOVER_SPACE, Config, DataConfig, ModelConfig


class Components(NamedTuple):
    """What a run trains: a dataset, its latent space, a VAE and an objective."""

    dataset: GroundTruthDataset
    space: ProductSpace
    model: VAE
    objective: Objective


def build_dataset(config: DataConfig) -> GroundTruthDataset:
    """The dataset named by ``data.name`` (``file``: the HDF5/npz at ``data.path``)."""
    if config.name == "file":
        return from_file(config.path, **config.options)
    options = dict(config.options)
    if config.path:
        options["data_dir"] = config.path
    return get_dataset(config.name, **options)


def auto_space(dataset: GroundTruthDataset) -> ProductSpace:
    """One latent factor per varying ground-truth factor, of the type registered to model its
    kind (:meth:`~prodvae.spaces.Factor.for_ground_truth`)."""
    factors = [Factor.for_ground_truth(s.kind, s.size) for s in dataset.spec if s.size > 1]
    if not factors:
        raise ValueError("model.space=auto: the dataset has no factor that varies")
    return ProductSpace(factors)


def build_space(config: ModelConfig, dataset: GroundTruthDataset) -> ProductSpace:
    """``model.space``: ``auto``, a one-line description, or a list of factor mappings
    (``discover`` is resolved by the trainer before this is called).

    In a description, a repeat count may be a multiple of ``K``, the number of varying
    ground-truth factors: ``euclidean^2K`` is twice as many Euclidean latents as factors.
    """
    space = config.space
    if space == "auto":
        return auto_space(dataset)
    if space == DISCOVER_SPACE:
        raise ValueError(
            "model.space=discover is found by the trainer (prodvae train / prodvae.train.train "
            "reads each factor's kind from the data, then writes the space into the run's config)"
        )
    if isinstance(space, str):
        return ProductSpace.parse(per_factor_counts(space, dataset))
    if not all(isinstance(entry, dict) for entry in space):
        raise ValueError(
            f"model.space: every factor must be a mapping with a 'kind', got {space!r}"
        )
    return ProductSpace.from_config(space)


_PER_FACTOR = re.compile(r"\^\s*(\d*)\s*K\b")


def per_factor_counts(space: str, dataset: GroundTruthDataset) -> str:
    """``space`` with each repeat count ``^nK`` replaced by ``n`` times the number of varying
    ground-truth factors (``^K`` by that number)."""
    num_factors = sum(s.size > 1 for s in dataset.spec)
    return _PER_FACTOR.sub(lambda m: f"^{int(m.group(1) or 1) * num_factors}", space)


def build_model(config: ModelConfig, space: ProductSpace, image_shape: tuple[int, ...]) -> VAE:
    """The VAE of ``model.backbone`` over ``space`` (CPU, float32)."""
    return build_vae(
        space, backbone=config.backbone, image_shape=tuple(image_shape), **config.options
    )


def build_objective(config: Config, model: VAE) -> Objective:
    """The objective named by ``objective.name``, checked against the model."""
    objective = get_objective(config.objective.name, **config.objective.options)
    objective.check_model(model)
    return objective


def build_components(config: Config, *, dataset: GroundTruthDataset | None = None) -> Components:
    """All four components; the model's initial weights depend only on ``train.seed``, and so
    does what the objective draws to prepare itself (a generator seeded with it).

    ``dataset`` replaces the one ``config.data`` names (e.g. an in-memory dataset).
    """
    dataset = build_dataset(config.data) if dataset is None else dataset
    space = build_space(config.model, dataset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, space, dataset.image_shape)
        objective = build_objective(config, model)
    if objective.needs_pairs:  # no pairs (or a bad data.num_changed): fail before the run
        check_pairs(dataset, config.data.num_changed)
    generator = torch.Generator().manual_seed(config.train.seed)
    objective.prepare(dataset, space, generator, num_changed=config.data.num_changed)
    return Components(dataset, space, model, objective)
