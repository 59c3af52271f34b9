"""Views of an orbit that repeat only nearly, which
:func:`~prodvae.objectives.orbits.orbit_angles` reads as one view each.

A symmetric object turned on a pixel grid (a photographed object, an interpolated turn) gives
views that repeat up to resampling, not pixel for pixel: each image's nearest neighbours are
its own repeats, and the joins of an orbit's images fall into one piece per view.

Views that repeat (exactly or nearly) share one angle, which winds once round per repeat.
How many times (:func:`orbit_folds`) can differ from orbit to orbit of one factor: dSprites'
square repeats every quarter turn, its heart never. Two such orbits are linked at the
harmonic that relates them (:func:`harmonic_reference`), from fewer repeats to more, and a
frame starts from an orbit of the fewest repeats found (:func:`fewest_repeats`), so that it
reaches every other.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import TypeVar

import torch
from scipy.sparse.csgraph import connected_components
from torch import Tensor

Orbit = TypeVar("Orbit")


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


def orbit_folds(angles: Tensor) -> int:
    """How many times an orbit's views repeat while its factor goes once round: how many
    times its ``angles [n]`` (value ``i`` of the factor at row ``i``, in order, as
    :func:`~prodvae.objectives.orbits.orbit_angles` reads them) go round, where they go one
    way from each value to the next (their wrapped steps of one sign, repeated views
    sharing an angle or not: dSprites' 39 orientations of its square repeat no view, yet
    go round four times). 1 where they turn back somewhere: a misread orbit is no
    symmetry."""
    steps = torch.remainder(angles.roll(-1) - angles + math.pi, 2 * math.pi) - math.pi
    if not (bool((steps >= 0).all()) or bool((steps <= 0).all())):
        return 1
    return max(1, abs(round(float(steps.sum()) / (2 * math.pi))))


def harmonic_reference(reference: Tensor, folds: int, repeats: int) -> Tensor | None:
    """``reference`` angles of an orbit whose views repeat ``folds`` times, as the angles of
    an orbit whose views repeat ``repeats`` times (:func:`orbit_folds`) should follow them:
    at the harmonic that relates the two (a square's orbit, views repeating 4 times, runs
    round 4 times for a heart's once, as dSprites' orientation does). ``reference`` itself
    for the same symmetry; ``None`` where ``repeats`` is no multiple of ``folds`` (a heart
    read from a square's frame: which quarter turn is undetermined)."""
    ratio, left = divmod(repeats, folds)
    if left:
        return None
    return reference if ratio == 1 else ratio * reference


def coarser_frame(reference: Tensor, angles: Tensor, ratio: int) -> tuple[Tensor, float]:
    """``angles [n]`` of an orbit whose views repeat ``ratio`` times fewer than those of
    ``reference [n]`` (row i of each an image of the same value), turned (and reflected if
    that fits better) so that ``ratio`` times them best matches ``reference``, and how well
    they then agree: one of ``ratio`` turns that fit alike (a heart's quarter turns read
    from a square), so for a chain of orbits, not for a frame that others are read from."""
    best: tuple[Tensor, float] | None = None
    for sign in (1.0, -1.0):
        offset = torch.angle(torch.exp(1j * (reference - sign * ratio * angles)).mean())
        fitted = sign * angles + offset / ratio
        agreement = float(torch.exp(1j * (reference - ratio * fitted)).mean().abs())
        if best is None or agreement > best[1]:
            best = (fitted, agreement)
    assert best is not None
    return best


def fewest_repeats(
    found: tuple[Orbit, Tensor],
    pick: Callable[[], Orbit],
    read: Callable[[Orbit], Tensor],
    tries: int,
) -> tuple[Orbit, Tensor, int]:
    """A frame's reference orbit ``found`` (an orbit and its angles), or, where its views
    repeat, the orbit of fewest repeats among ``tries`` more drawn by ``pick`` and read by
    ``read``: a frame reaches an orbit of more repeats, not fewer
    (:func:`harmonic_reference`). Its angles and repeats come with it."""
    orbit, angles = found
    folds = orbit_folds(angles)
    for _ in range(tries):
        if folds == 1:
            break
        candidate = pick()
        try:
            theta = read(candidate)
        except ValueError:  # no cycle: no reference
            continue
        repeats = orbit_folds(theta)
        if repeats < folds:
            orbit, angles, folds = candidate, theta, repeats
    return orbit, angles, folds


def spare_generator(generator: torch.Generator) -> torch.Generator:
    """A generator seeded from ``generator``'s state, drawing nothing from it: what it draws
    leaves the draws that follow from ``generator`` as they were."""
    state = generator.get_state().numpy().tobytes()
    digest = hashlib.blake2b(state, digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
