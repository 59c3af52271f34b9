"""Views of an orbit that repeat only nearly, which
:func:`~prodvae.objectives.orbits.orbit_angles` reads as one view each.

A symmetric object turned on a pixel grid (a photographed object, an interpolated turn) gives
views that repeat up to resampling, not pixel for pixel: each image's nearest neighbours are
its own repeats, and the joins of an orbit's images fall into one piece per view.
"""

from __future__ import annotations

import torch
from scipy.sparse.csgraph import connected_components
from torch import Tensor


def near_repeats(joined: Tensor, squared: Tensor, min_pieces: int) -> Tensor | None:
    """The piece of each image ``[n]`` (long, numbered from 0) where the joins that weigh
    something (``joined [n, n]``) split an orbit's images into near repeats: at least
    ``min_pieces`` pieces, fewer than images, each image nearer to every image of its own
    piece than any two pieces come (``squared [n, n]``, squared distances) -- the same view
    under a symmetry, from pixels that do not land exactly on each other (a photographed
    object, an interpolated turn; a half turn's single repeat too, whose second join, to the
    next view, weighs nothing beside the repeat's). None for any other split (fewer pieces
    make no cycle; pieces that reach into each other are no repeats)."""
    count, labels = connected_components(joined.cpu().numpy(), directed=False)
    if not min_pieces <= count < len(labels):
        return None
    pieces = torch.from_numpy(labels).to(squared.device, torch.long)
    same = pieces[:, None] == pieces[None, :]
    if not float(squared[same].max()) < float(squared[~same].min()):
        return None
    return pieces
