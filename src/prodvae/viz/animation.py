"""The traversal animation: one GIF whose frames move every factor at once.

Frame ``t`` of ``T`` shows, for each traversal row, the step at the same fraction
``t / (T - 1)`` of its path, so a loop's tile comes back to its first image on the last
frame and the animation closes on itself. All frames share one palette, so a pixel with
the same colour gets the same palette index in every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from prodvae.atomic import atomic_write
from prodvae.viz.canvas import FigureFile
from prodvae.viz.tiles import PAD, display_scale, enlarge, tile_grid, to_uint8
from prodvae.viz.traversals import Traversal

#: Height in pixels of the label strip above the tiles.
LABEL_HEIGHT = 14


def frame_indices(num_steps: int, num_frames: int) -> np.ndarray:
    """For each of ``num_frames`` frames, the step of a path of ``num_steps`` to show."""
    if num_frames < 2:
        return np.zeros(num_frames, dtype=np.int64)
    return np.rint(np.linspace(0, num_steps - 1, num_frames)).astype(np.int64)


def animation_frames(traversals: list[Traversal]) -> list[np.ndarray]:
    """uint8 frames ``[LABEL_HEIGHT + scale*(H+2*PAD), scale*(R*(W+PAD)+PAD), 3]``.

    One tile per traversal row side by side, each labelled ``z{i}`` above it, enlarged by
    :func:`display_scale`. The number of frames is the longest row's number of steps.
    """
    if not traversals:
        raise ValueError("traversals must not be empty")
    num_frames = max(len(t.images) for t in traversals)
    picks = [frame_indices(len(t.images), num_frames) for t in traversals]
    scale = display_scale(traversals[0].images.shape[1])
    header = _label_strip(traversals, scale)
    frames = []
    for frame in range(num_frames):
        tiles = np.stack([t.images[p[frame]] for t, p in zip(traversals, picks)])
        body = to_uint8(enlarge(tile_grid([tiles]), scale))
        frames.append(np.concatenate([header, body], axis=0))
    return frames


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at 10 pixels (its older bitmap font before Pillow 10.1)."""
    try:
        return ImageFont.load_default(size=10)
    except TypeError:
        return ImageFont.load_default()


def _label_strip(traversals: list[Traversal], scale: int) -> np.ndarray:
    """A white strip with each row's short name (e.g. ``z0 loop``) above its tile."""
    width = traversals[0].images.shape[2]
    total = scale * (len(traversals) * (width + PAD) + PAD)
    strip = Image.new("RGB", (total, LABEL_HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    font = _font()
    for column, traversal in enumerate(traversals):
        short = traversal.path.label.split(":")[0]
        draw.text((scale * (PAD + column * (width + PAD)), 1), short, fill=(0, 0, 0), font=font)
    return np.asarray(strip)


def write_traversal_gif(
    traversals: list[Traversal], path: Path | str, frame_ms: int = 150
) -> FigureFile:
    """Write the looping traversal animation to ``path`` (GIF) and return its frame size."""
    if frame_ms <= 0:
        raise ValueError(f"frame_ms must be > 0, got {frame_ms}")
    frames = animation_frames(traversals)
    palette = Image.fromarray(np.concatenate(frames, axis=0)).quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    images = [
        Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE)
        for frame in frames
    ]

    def write(tmp: Path) -> None:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=frame_ms,
            loop=0,
            optimize=False,
            disposal=1,
        )

    height, width = frames[0].shape[:2]
    return FigureFile(atomic_write(path, write), width, height)
