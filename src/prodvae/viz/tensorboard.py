"""Reconstructions and traversals as TensorBoard images, for the training loop.

The pictures are plain image grids (no matplotlib), so logging them every few hundred
steps costs one small encode/decode batch. The same ``seed`` picks the same dataset items
at every call, so the images of successive steps can be compared.
"""

from __future__ import annotations

from typing import Any

import torch

from prodvae.viz.figures import encode_all, evaluating, make_decoder, sample_dataset
from prodvae.viz.reconstructions import reconstruction_grid
from prodvae.viz.tiles import tile_grid
from prodvae.viz.traversals import traverse_space


def log_figures_to_tensorboard(
    writer: Any,
    step: int,
    model: torch.nn.Module,
    dataset: Any,
    *,
    num_images: int = 8,
    num_steps: int = 9,
    seed: int = 0,
    tag: str = "figures",
) -> None:
    """Add ``{tag}/reconstructions`` and ``{tag}/traversals`` images at ``step``.

    ``writer`` is a :class:`torch.utils.tensorboard.SummaryWriter` (anything with its
    ``add_image``); ``model`` offers ``space``, ``codes`` and ``reconstruct`` as in
    :func:`prodvae.viz.figures.write_figures`. Traversal rows are the factors (a row per
    axis of a Euclidean block), moved around the projected code of the first item.
    """
    sample = sample_dataset(dataset, num_images, seed)
    with evaluating(model):
        codes = encode_all(model, sample.images)
        decode = make_decoder(model)
        reconstructions = decode(codes)
        base = model.space.project(codes[:1])[0]
        traversals = traverse_space(model.space, decode, num_steps, base)
    recon_grid = reconstruction_grid(sample.images, reconstructions)
    traversal_grid = tile_grid([t.images for t in traversals])
    writer.add_image(f"{tag}/reconstructions", recon_grid, step, dataformats="HWC")
    writer.add_image(f"{tag}/traversals", traversal_grid, step, dataformats="HWC")
