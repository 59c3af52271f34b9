"""Registry of named datasets: ``@register_dataset("name")`` beside each definition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prodvae.data.base import GroundTruthDataset
from prodvae.registry import Registry

Factory = TypeVar("Factory", bound=Callable[..., GroundTruthDataset])

#: The registered dataset classes and factory functions, by name (read-only).
DATASETS: Registry[Callable[..., GroundTruthDataset]] = Registry("dataset")


def register_dataset(name: str) -> Callable[[Factory], Factory]:
    """Register a dataset class or factory function under ``name`` (once)."""
    return DATASETS.register(name)  # type: ignore[return-value]


def get_dataset(name: str, **options: Any) -> GroundTruthDataset:
    """Build the registered dataset ``name`` with its keyword ``options``.

    Raises:
        ValueError: unknown name, or an option the dataset does not take.
    """
    return DATASETS.build(name, **options)
