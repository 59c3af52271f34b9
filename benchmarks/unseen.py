"""Data the recipe was never tuned on: labelled files of pictures turned, recoloured, moved.

The recipe (``configs/product_weak.yaml``) was built on three procedural datasets; a user
brings other images. This writes seven files in the library's dataset format (what a user's
own ``data.name=file`` data would be): six of pictures shown in a disc on black -- made from
smooth random colour pictures (a stand-in for a photograph: blobs of colour at several
scales, no edges or shapes to rotate) or from crops of real photographs, on a grid or at
random values -- and one of black-and-white sprites:

- ``photo``: one picture turned once round (a loop of 36 values), its colours turned round
  the grey axis (a hue loop of 12), at 5 sizes (a segment);
- ``symmetric``: three pictures (points), each made symmetric under a third of a turn (the
  mean of its three turns), turned once round (a loop of 24 values whose views repeat every
  8: symmetry 3, read at its third harmonic; the turned pixels do not land on each other, so
  the repeats are near, not exact), its hue turned (8 values), and the disc moved once round
  a circle in the frame (12 places): three loops at once;
- ``real``: four crops of real photographs (scikit-learn's two sample images, a pagoda over
  a lake and a dahlia, shipped with the package: points), each turned once round in its
  disc (36 values), zoomed into (5 values, a segment) and moved left to right (5 places, a
  segment);
- ``scattered``: the same crops and factors as ``real``, but each of its 4000 rows at a turn,
  zoom and shift of its own drawn at random (and a crop drawn at random): photographs taken
  at whatever angles someone took them, with no grid and no two rows at one value, so pairs
  and orbits match rows by the nearest values (equal-count bins) and the runs are scored on
  the file's own rows;
- ``scattered_photo``: the ``photo`` file's picture with each of its 4000 rows at a turn, a
  hue and a size of its own drawn at random: two continuous loops at once;
- ``mixed``: three pictures (points) made symmetric under a quarter turn, a half turn and
  none (as dSprites' square, ellipse and heart), turned once round (24 values, whose views
  repeat 4, 2 and 1 times: ``symmetry_given``, each picture read at its own harmonic), at 4
  sizes and 5 places left to right (segments): symmetries that differ within one loop;
- ``binary``: one-channel sprites in the manner of dSprites -- the dSprites test fixture's
  square, ellipse and heart (``tests/discover/standard_fixtures.py``: drawn in black and
  white at twice the file's size, each 2 x 2 block averaged), at 6 scales, 39 orientations
  once round (repeating 4, 2 and 1 times by shape) and 8 x 8 positions (segments): no
  colour, small shapes that move over the whole frame.

    python -m benchmarks.unseen --out runs/unseen
    python -m benchmarks.recovery --datasets runs/unseen/photo.npz runs/unseen/symmetric.npz \\
        --methods product_weak --seeds 0 1 2 --jobs 2 --record recovery_cpu_unseen
    python -m benchmarks.unseen --out runs/unseen_real --files real
    python -m benchmarks.unseen --out runs/unseen_scattered --files scattered
    python -m benchmarks.unseen --out runs/unseen_scattered_photo --files scattered_photo
    python -m benchmarks.unseen --out runs/unseen_mixed --files mixed
    python -m benchmarks.unseen --out runs/unseen_binary --files binary
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.datasets import load_sample_image

from prodvae.data import FactorSpec
from prodvae.data.files import write_dataset

#: The side of the square a picture is drawn on before it is shown, in pixels.
PICTURE = 128


def picture(seed: int, size: int = PICTURE) -> np.ndarray:
    """A smooth random colour picture ``[size, size, 3]`` in [0, 1]: Gaussian-filtered noise
    at two scales (blobs of about size/16 and size/64), grey 0.5 on average."""
    rng = np.random.default_rng(seed)
    layers = [
        weight * ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma, mode="wrap")
        for weight, sigma in ((1.0, size / 16), (0.15, size / 64))
        for _ in range(3)
    ]
    colour = np.stack(layers[:3], -1) + np.stack(layers[3:], -1)
    return _grey_half(colour)


def symmetrised(image: np.ndarray, fold: int) -> np.ndarray:
    """The mean of ``image``'s ``fold`` turns about its centre (symmetric under ``1/fold`` of
    a turn), its contrast brought back to :func:`picture`'s."""
    turns = [
        ndimage.rotate(image, 360 * k / fold, reshape=False, order=1, mode="wrap")
        for k in range(fold)
    ]
    return _grey_half(np.mean(turns, axis=0))


def _grey_half(colour: np.ndarray) -> np.ndarray:
    """``colour`` standardised and shown at grey 0.5 with spread 0.22, clipped to [0, 1]."""
    return np.clip(0.5 + 0.22 * (colour - colour.mean()) / colour.std(), 0.0, 1.0)


def hue_turned(colour: np.ndarray, angle: float) -> np.ndarray:
    """``colour [..., 3]`` turned by ``angle`` about the grey axis of RGB (Rodrigues' formula),
    clipped to [0, 1]: a hue rotation that keeps grey."""
    k = np.full(3, 1 / math.sqrt(3))
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    turn = (
        math.cos(angle) * np.eye(3)
        + math.sin(angle) * cross
        + (1 - math.cos(angle)) * np.outer(k, k)
    )
    return np.clip(colour @ turn.T, 0.0, 1.0)


def view(
    image: np.ndarray,
    size: int,
    turn: float = 0.0,
    hue: float = 0.0,
    radius: float = 0.55,
    place: float | None = None,
    zoom: float = 1.0,
    shift: float = 0.0,
) -> np.ndarray:
    """``image`` shown in a disc of ``radius`` (a share of half the frame) on black, ``uint8
    [size, size, 3]``: turned by ``turn``, its hue turned by ``hue``, the disc centred or, with
    ``place``, moved to that angle on a circle of radius 0.4 about the centre; ``zoom`` < 1
    shows that share of the picture's middle in the same disc (a camera zooming in), ``shift``
    moves the disc right by that share of half the frame."""
    n = image.shape[0]
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = (x - (size - 1) / 2) / (size / 2) - shift, (y - (size - 1) / 2) / (size / 2)
    if place is not None:
        u, v = u - 0.4 * math.cos(place), v - 0.4 * math.sin(place)
    c, s = math.cos(turn), math.sin(turn)
    across = ((c * u + s * v) / radius, (-s * u + c * v) / radius)  # the picture's own frame
    rows, columns = ((a * 0.45 * zoom + 0.5) * (n - 1) for a in (across[1], across[0]))
    shown = np.stack(
        [
            ndimage.map_coordinates(image[..., channel], [rows, columns], order=1, mode="nearest")
            for channel in range(3)
        ],
        -1,
    )
    inside = np.clip((radius - np.hypot(u, v)) * size / 2 + 0.5, 0.0, 1.0)[..., None]
    return np.round(hue_turned(shown, hue) * inside * 255).astype(np.uint8)


def _loop(name: str, count: int, symmetry: int = 1) -> FactorSpec:
    values = tuple(2 * math.pi * i / count for i in range(count))
    return FactorSpec(name, "loop", values=values, period=2 * math.pi, symmetry=symmetry)


def grid_values(spec: tuple[FactorSpec, ...]) -> np.ndarray:
    """Every combination of the factors' values, ``[rows, factors]``, the last factor
    changing fastest (the grid order of the library's files)."""
    cells = np.stack(np.meshgrid(*(np.arange(len(f.values)) for f in spec), indexing="ij"), -1)
    cells = cells.reshape(-1, len(spec))
    return np.stack([np.asarray(f.values)[cells[:, k]] for k, f in enumerate(spec)], 1)


def photo(path: Path, size: int = 32, seed: int = 0) -> Path:
    """The ``photo`` file (see the module docstring): turn, hue, size; 2160 images."""
    image = picture(seed)
    spec = (
        _loop("turn", 36),
        _loop("hue", 12),
        FactorSpec("size", "segment", values=tuple(np.linspace(0.6, 1.0, 5))),
    )
    values = grid_values(spec)
    images = np.stack([view(image, size, turn=t, hue=h, radius=r) for t, h, r in values])
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


def symmetric(path: Path, size: int = 32, seed: int = 1) -> Path:
    """The ``symmetric`` file (see the module docstring): picture, turn (symmetry 3), hue,
    place; 6912 images."""
    images_of = [symmetrised(picture(seed + k), 3) for k in range(3)]
    spec = (
        FactorSpec("picture", "points", values=(0.0, 1.0, 2.0)),
        _loop("turn", 24, symmetry=3),
        _loop("hue", 8),
        _loop("place", 12),
    )
    values = grid_values(spec)
    images = np.stack(
        [view(images_of[int(p)], size, turn=t, hue=h, place=w) for p, t, h, w in values]
    )
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


#: The folds of the ``mixed`` file's pictures: a quarter turn, a half turn, none.
MIXED_FOLDS = (4, 2, 1)


def mixed(path: Path, size: int = 32, seed: int = 4) -> Path:
    """The ``mixed`` file (see the module docstring): picture, turn (symmetry by picture),
    size, shift; 1440 images."""
    images_of = [symmetrised(picture(seed + k), fold) for k, fold in enumerate(MIXED_FOLDS)]
    turn = _loop("turn", 24)
    spec = (
        FactorSpec("picture", "points", values=(0.0, 1.0, 2.0)),
        FactorSpec(
            "turn", "loop", turn.values, turn.period, symmetry_given=("picture", MIXED_FOLDS)
        ),
        FactorSpec("size", "segment", values=tuple(np.linspace(0.4, 0.6, 4))),
        FactorSpec("shift", "segment", values=tuple(np.linspace(-0.3, 0.3, 5))),
    )
    values = grid_values(spec)
    images = np.stack(
        [view(images_of[int(p)], size, turn=t, radius=r, shift=w) for p, t, r, w in values]
    )
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


#: Four crops ``(photograph, top row, left column, side)`` of scikit-learn's two sample
#: photographs (427 x 640, shipped with the package), each with a clear up and down: the
#: pagoda's top, trees over the lake, the dahlia's edge on its leaves, the bud below it.
CROPS = (
    ("china.jpg", 20, 60, 300),
    ("china.jpg", 127, 340, 300),
    ("flower.jpg", 0, 100, 300),
    ("flower.jpg", 127, 250, 300),
)


def crop(name: str, top: int, left: int, side: int, size: int = 96) -> np.ndarray:
    """A square crop of a sample photograph, ``[size, size, 3]`` in [0, 1], shrunk with
    Lanczos filtering. (A view at 32 px still shows 2.4 to 4.9 of its pixels a pixel, read
    bilinearly: some detail aliases, as in a photograph shrunk without care.)"""
    pixels = load_sample_image(name)[top : top + side, left : left + side]
    if pixels.shape[:2] != (side, side):
        raise ValueError(f"the crop {(top, left, side)} runs off {name} ({pixels.shape[:2]})")
    lanczos = getattr(Image, "Resampling", Image).LANCZOS  # Pillow < 9.1 has no Resampling
    shrunk = Image.fromarray(pixels).resize((size, size), lanczos)
    return np.asarray(shrunk, dtype=np.float64) / 255


def real(path: Path, size: int = 32) -> Path:
    """The ``real`` file (see the module docstring): crop, turn, zoom, shift; 3600 images."""
    images_of = [crop(*where) for where in CROPS]
    spec = (
        FactorSpec("crop", "points", values=tuple(float(k) for k in range(len(CROPS)))),
        _loop("turn", 36),
        FactorSpec("zoom", "segment", values=tuple(np.linspace(0.5, 1.0, 5))),
        FactorSpec("shift", "segment", values=tuple(np.linspace(-0.3, 0.3, 5))),
    )
    values = grid_values(spec)
    images = np.stack(
        [view(images_of[int(c)], size, turn=t, zoom=z, shift=x) for c, t, z, x in values]
    )
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


def scattered(path: Path, size: int = 32, seed: int = 2, rows: int = 4000) -> Path:
    """The ``scattered`` file (see the module docstring): the ``real`` file's crops and
    factors, each row at its own values drawn at random (no grid, no two rows at one turn,
    zoom or shift); ``rows`` images."""
    images_of = [crop(*where) for where in CROPS]
    spec = (
        FactorSpec("crop", "points"),
        FactorSpec("turn", "loop", period=2 * math.pi),
        FactorSpec("zoom", "segment"),
        FactorSpec("shift", "segment"),
    )
    rng = np.random.default_rng(seed)
    values = np.stack(
        [
            rng.integers(len(CROPS), size=rows).astype(np.float64),
            rng.uniform(0, 2 * math.pi, rows),
            rng.uniform(0.5, 1.0, rows),
            rng.uniform(-0.3, 0.3, rows),
        ],
        1,
    )
    images = np.stack(
        [view(images_of[int(c)], size, turn=t, zoom=z, shift=x) for c, t, z, x in values]
    )
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


def scattered_photo(path: Path, size: int = 32, seed: int = 3, rows: int = 4000) -> Path:
    """The ``scattered_photo`` file (see the module docstring): the ``photo`` file's picture,
    each row at a turn, hue and size of its own drawn at random; ``rows`` images."""
    image = picture(0)
    spec = (
        FactorSpec("turn", "loop", period=2 * math.pi),
        FactorSpec("hue", "loop", period=2 * math.pi),
        FactorSpec("size", "segment"),
    )
    rng = np.random.default_rng(seed)
    values = np.stack(
        [
            rng.uniform(0, 2 * math.pi, rows),
            rng.uniform(0, 2 * math.pi, rows),
            rng.uniform(0.6, 1.0, rows),
        ],
        1,
    )
    images = np.stack([view(image, size, turn=t, hue=h, radius=r) for t, h, r in values])
    return write_dataset(path, spec, len(images), (3, size, size), iter([(images, values)]))


#: The ``binary`` file's shapes repeat under a quarter turn (the square), a half turn (the
#: ellipse) and never (the heart), as dSprites' do.
BINARY_FOLDS = (4, 2, 1)


def binary(path: Path, size: int = 32, scales: int = 6, places: int = 8) -> Path:
    """The ``binary`` file (see the module docstring): shape, scale, orientation (symmetry by
    shape), posX, posY; 44928 one-channel images (``scales`` scales and ``places`` positions
    along each axis)."""
    from tests.discover.standard_fixtures import dsprites_sprite

    spec = (
        FactorSpec("shape", "points", values=(0.0, 1.0, 2.0)),
        FactorSpec("scale", "segment", values=tuple(np.linspace(0.5, 1.0, scales))),
        FactorSpec(
            "orientation",
            "loop",
            tuple(2 * math.pi * i / 39 for i in range(39)),
            2 * math.pi,
            symmetry_given=("shape", BINARY_FOLDS),
        ),
        FactorSpec("posX", "segment", values=tuple(np.linspace(0.0, 1.0, places))),
        FactorSpec("posY", "segment", values=tuple(np.linspace(0.0, 1.0, places))),
    )
    values = grid_values(spec)
    # drawn at twice the size, in {0, 1}, then each 2 x 2 block averaged: grey edges
    drawn = np.stack(
        [dsprites_sprite(int(k) + 1, r, o, x, y, size=2 * size) for k, r, o, x, y in values]
    )
    pooled = drawn.reshape(len(drawn), size, 2, size, 2).mean(axis=(2, 4), dtype=np.float32)
    images = np.round(pooled * 255).astype(np.uint8)[..., None]
    return write_dataset(path, spec, len(images), (1, size, size), iter([(images, values)]))


FILES = {
    "photo": photo,
    "symmetric": symmetric,
    "real": real,
    "scattered": scattered,
    "scattered_photo": scattered_photo,
    "mixed": mixed,
    "binary": binary,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs") / "unseen")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--files", nargs="+", default=list(FILES), choices=list(FILES))
    args = parser.parse_args(argv)
    if args.image_size < 8:
        parser.error(f"--image-size must be at least 8, got {args.image_size}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.files:
        print(f"wrote {FILES[name](args.out / f'{name}.npz', args.image_size)}")


if __name__ == "__main__":
    main()
