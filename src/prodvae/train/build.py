"""Build the dataset, latent space, model and objective that a config names.

Everything is looked up by registry name; a bad name or option raises the registry's
``ValueError`` (which lists the valid choices) before a run folder is created.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from prodvae.spaces import Loop, PointSet, ProductSpace, Segment
from prodvae.train.config import Config, DataConfig, ModelConfig


class Components(NamedTuple):
    """What a run trains: a dataset, its latent space, a VAE and an objective."""

    dataset: Any
    space: ProductSpace
    model: torch.nn.Module
    objective: Any


def build_dataset(config: DataConfig) -> Any:
    """The dataset named by ``data.name`` (``file``: the HDF5/npz at ``data.path``)."""
    from prodvae.data import get_dataset

    if config.name == "file":
        from prodvae.data import from_file

        return from_file(config.path, **config.options)
    options = dict(config.options)
    if config.path:
        options["data_dir"] = config.path
    return get_dataset(config.name, **options)


def auto_space(dataset: Any) -> ProductSpace:
    """One latent factor per varying ground-truth factor, of the same topology."""
    factors = []
    for spec in dataset.spec:
        if spec.size == 1:
            continue
        if spec.kind == "points":
            factors.append(PointSet(num_points=spec.size))
        elif spec.kind == "segment":
            factors.append(Segment())
        else:
            factors.append(Loop())
    if not factors:
        raise ValueError("model.space=auto: the dataset has no factor that varies")
    return ProductSpace(factors)


def build_space(config: ModelConfig, dataset: Any) -> ProductSpace:
    """``model.space``: ``auto``, a one-line description, or a list of factor mappings."""
    space = config.space
    if space == "auto":
        return auto_space(dataset)
    if isinstance(space, str):
        return ProductSpace.parse(space)
    if not all(isinstance(entry, dict) for entry in space):
        raise ValueError(
            f"model.space: every factor must be a mapping with a 'kind', got {space!r}"
        )
    return ProductSpace.from_config(space)


def build_model(config: ModelConfig, space: ProductSpace, image_shape: tuple[int, ...]) -> Any:
    """The VAE of ``model.backbone`` over ``space`` (CPU, float32)."""
    from prodvae.models import build_vae

    return build_vae(
        space, backbone=config.backbone, image_shape=tuple(image_shape), **config.options
    )


def build_objective(config: Config, model: Any) -> Any:
    """The objective named by ``objective.name``, checked against the model."""
    from prodvae.objectives import get_objective

    objective = get_objective(config.objective.name, **config.objective.options)
    objective.check_model(model)
    return objective


def build_components(config: Config, *, dataset: Any = None) -> Components:
    """All four components; the model's initial weights depend only on ``train.seed``.

    ``dataset`` replaces the one ``config.data`` names (e.g. an in-memory dataset).
    """
    dataset = build_dataset(config.data) if dataset is None else dataset
    space = build_space(config.model, dataset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, space, dataset.image_shape)
        objective = build_objective(config, model)
    fit_anchor(objective, dataset, space, config)
    return Components(dataset, space, model, objective)


#: Training images (and pairs, for objectives trained on pairs) the anchor is fitted on.
ANCHOR_IMAGES, ANCHOR_PAIRS = 1024, 2048


def fit_anchor(objective: Any, dataset: Any, space: ProductSpace, config: Config) -> None:
    """``product(anchor_weight > 0)``: fit its starting layout before training, on
    ``ANCHOR_IMAGES`` training images drawn with ``train.seed`` and, when the objective trains
    on pairs, ``ANCHOR_PAIRS`` pairs changing ``data.num_changed`` factors (grid datasets)."""
    if getattr(objective, "anchor_weight", 0.0) <= 0:
        return
    from prodvae.data import sample_pair_factors

    generator = torch.Generator().manual_seed(config.train.seed)
    rows = torch.randint(len(dataset), (ANCHOR_IMAGES,), generator=generator).numpy()
    images = dataset.images_at(rows).float() / 255
    pairs = None
    if objective.needs_pairs:
        pair = sample_pair_factors(dataset, ANCHOR_PAIRS, config.data.num_changed, generator)
        first, second = (dataset.images_from_factors(i) for i in (pair.indices1, pair.indices2))
        pairs = (first.float() / 255, second.float() / 255)
    objective.fit_anchor(space, images, pairs, generator)
