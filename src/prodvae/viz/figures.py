"""All figures of a trained model at once, for ``figures/`` of a run folder.

The model is used only through three members, so this module needs nothing from
:mod:`prodvae.models`: ``model.space`` (a :class:`ProductSpace`), ``model.codes(x)``
(posterior means ``[n, dim]`` of images ``[n, C, H, W]`` in [0, 1]) and
``model.reconstruct(z)`` (images in [0, 1] decoded from ``z [n, dim]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from prodvae.data import FactorSpec
from prodvae.data.factor_bins import scored_factors
from prodvae.viz.animation import write_traversal_gif
from prodvae.viz.association import associate, plot_association
from prodvae.viz.canvas import FigureFile
from prodvae.viz.curves import plot_training_curves
from prodvae.viz.portraits import plot_portraits
from prodvae.viz.reconstructions import plot_reconstructions
from prodvae.viz.traversals import plot_traversals, traverse_space

#: File names inside the figures folder, in the order a report shows them.
FIGURE_FILES = (
    "reconstructions.png",
    "traversals.png",
    "traversals.gif",
    "portraits.png",
    "association.png",
    "training_curves.png",
)


class FigureSample(NamedTuple):
    """Dataset images and their factor values drawn for the figures."""

    images: Tensor  # float [n, C, H, W] in [0, 1]
    factors: Tensor  # float64 [n, K]


def sample_dataset(dataset: Any, num_samples: int, seed: int = 0) -> FigureSample:
    """``num_samples`` items of ``dataset`` chosen by ``seed`` (uniform over a factor grid)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    generator = torch.Generator().manual_seed(seed)
    if getattr(dataset, "is_grid", False):
        indices = dataset.sample_factors(num_samples, generator)
        images = dataset.images_from_factors(indices)
        factors = torch.as_tensor(dataset.factor_values(indices))
    else:
        rows = torch.randperm(len(dataset), generator=generator)[:num_samples].tolist()
        items = [dataset[row] for row in rows]
        images = torch.stack([torch.as_tensor(item[0]) for item in items])
        factors = torch.stack([torch.as_tensor(item[1]) for item in items])
    images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return FigureSample(images.cpu(), factors.to(torch.float64).cpu())


def scored_sample(factors: Tensor, dataset: Any) -> tuple[np.ndarray, tuple[FactorSpec, ...]]:
    """A sample's factor values ``[n, K]`` and the spec its association is read against: a
    grid's own; on any other dataset the classes the scores read
    (:func:`~prodvae.data.factor_bins.scored_factors`), each value at its bin's centre, so that
    a factor drawn at random is not a class a row."""
    spec = tuple(dataset.spec)
    values = factors.numpy()
    if getattr(dataset, "is_grid", False) or not all(factor.values for factor in spec):
        return values, spec  # (factors without listed values are binned by the association)
    indices, scored = scored_factors(values, spec)
    centres = [np.asarray(factor.values)[indices[:, k]] for k, factor in enumerate(scored)]
    return np.stack(centres, axis=1), scored


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no gradients for the duration, then the model's mode as it was."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _placement(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and dtype of the model's parameters (CPU float32 for a model without any)."""
    parameter = next(model.parameters(), None)
    if parameter is None:
        return torch.device("cpu"), torch.float32
    return parameter.device, parameter.dtype


def encode_all(model: torch.nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """Posterior means ``float64 [n, dim]`` of ``images [n, C, H, W]``, in batches."""
    device, dtype = _placement(model)
    chunks = [
        model.codes(images[start : start + batch_size].to(device, dtype)).double().cpu()
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(chunks)


def make_decoder(model: torch.nn.Module) -> Any:
    """``decode(z [n, dim]) -> images [n, C, H, W]`` in [0, 1], on CPU, for the traversals."""
    device, dtype = _placement(model)

    def decode(z: Tensor) -> Tensor:
        return model.reconstruct(z.to(device=device, dtype=dtype)).float().cpu()

    return decode


def write_figures(
    model: torch.nn.Module,
    dataset: Any,
    out_dir: Path | str,
    *,
    num_samples: int = 1000,
    num_images: int = 8,
    num_steps: int = 9,
    seed: int = 0,
    metrics_path: Path | str | None = None,
) -> dict[str, FigureFile]:
    """Write every figure of ``model`` on ``dataset`` into ``out_dir``; return them by name.

    ``num_samples`` items (chosen by ``seed``) give the codes for the portraits and the
    association matrix, the first ``num_images`` of them the reconstructions; traversals
    take ``num_steps`` steps around the projected code of the first item. The training
    curves come from ``metrics_path`` (default: ``metrics.jsonl`` beside ``out_dir`` when
    ``out_dir`` is a run's ``figures/`` folder), if that file exists.
    """
    out_dir = Path(out_dir)
    if not 1 <= num_images <= num_samples:
        raise ValueError(f"num_images must be in [1, num_samples={num_samples}], got {num_images}")
    space = model.space
    sample = sample_dataset(dataset, num_samples, seed)
    with evaluating(model):
        codes = encode_all(model, sample.images)
        decode = make_decoder(model)
        shown = sample.images[:num_images]
        recon = decode(codes[:num_images])
        base = space.project(codes[:1])[0]
        traversals = traverse_space(space, decode, num_steps, base)
    association = associate(space, codes, *scored_sample(sample.factors, dataset))
    files = {
        "reconstructions": plot_reconstructions(shown, recon, out_dir / FIGURE_FILES[0]),
        "traversals": plot_traversals(traversals, out_dir / FIGURE_FILES[1]),
        "traversal_animation": write_traversal_gif(traversals, out_dir / FIGURE_FILES[2]),
        "portraits": plot_portraits(
            space, codes, sample.factors, dataset.spec, association, out_dir / FIGURE_FILES[3]
        ),
        "association": plot_association(association, out_dir / FIGURE_FILES[4]),
    }
    metrics_path = Path(metrics_path) if metrics_path else out_dir.parent / "metrics.jsonl"
    if metrics_path.is_file() and metrics_path.stat().st_size > 0:
        files["training_curves"] = plot_training_curves(metrics_path, out_dir / FIGURE_FILES[5])
    return files
