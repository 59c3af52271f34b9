"""Small labelled files that are not grids, written with the library's own writer."""

import numpy as np

from prodvae.data import FactorSpec
from prodvae.data.files import write_dataset


def write_labelled_file(path, factors, kinds, *, periods=None, image_size=8, seed=0):
    """A file of random ``image_size`` px images (or ``(height, width)``) with ``factors
    [N, K]`` and one factor per ``kinds`` entry, named ``f0, f1, ...`` (``periods``:
    ``{index: period}`` of the loops)."""
    factors = np.asarray(factors, dtype=np.float64)
    periods = periods or {}
    spec = tuple(
        FactorSpec(f"f{k}", kind, values=(0.0,), period=periods.get(k))
        for k, kind in enumerate(kinds)
    )
    rng = np.random.default_rng(seed)
    height, width = (image_size, image_size) if np.isscalar(image_size) else image_size
    images = rng.integers(0, 256, (len(factors), height, width, 3), dtype=np.uint8)
    shape = (3, height, width)
    return write_dataset(path, spec, len(factors), shape, iter([(images, factors)]))


def objects_at_angles(num_rows=600, seed=0):
    """Factor values ``[N, 3]`` of photographs of 5 objects at random angles (a loop of period
    2 pi) and random scales (a segment), a few rows repeating another's values exactly."""
    rng = np.random.default_rng(seed)
    factors = np.stack(
        [
            rng.integers(0, 5, num_rows).astype(np.float64),
            rng.uniform(0, 2 * np.pi, num_rows),
            rng.uniform(0.5, 1.5, num_rows),
        ],
        axis=1,
    )
    factors[1:40:2, 1:] = factors[0:40:2, 1:]  # exact repeats of angle and scale
    return factors
