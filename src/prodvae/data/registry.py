"""Registry of named datasets: ``@register_dataset("name")`` beside each definition."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from prodvae.data.base import GroundTruthDataset

Factory = TypeVar("Factory", bound=Callable[..., GroundTruthDataset])

_DATASETS: dict[str, Callable[..., GroundTruthDataset]] = {}

#: Read-only view of the registered dataset factories, by name.
DATASETS: Mapping[str, Callable[..., GroundTruthDataset]] = MappingProxyType(_DATASETS)


def register_dataset(name: str) -> Callable[[Factory], Factory]:
    """Register a dataset class or factory function under ``name``."""

    def decorate(factory: Factory) -> Factory:
        if name in _DATASETS and _DATASETS[name] is not factory:
            raise ValueError(f"dataset name {name!r} is already registered")
        _DATASETS[name] = factory
        return factory

    return decorate


def get_dataset(name: str, **options: Any) -> GroundTruthDataset:
    """Build the registered dataset ``name`` with its keyword ``options``.

    Raises:
        ValueError: unknown name, or an option the dataset does not take.
    """
    if name not in _DATASETS:
        known = ", ".join(sorted(_DATASETS))
        raise ValueError(f"unknown dataset {name!r}; expected one of {known}")
    factory = _DATASETS[name]
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"dataset {name!r} takes no option {', '.join(map(repr, unknown))}; "
            f"options: {', '.join(accepted)}"
        )
    return factory(**options)
