"""Discover each factor's topology from data: points, segment or loop, and a loop's symmetry.

``prodvae discover DATA`` varies one factor at a time from many base points and reads the
persistent homology of the path the images trace (:mod:`.reading`); the findings propose a
product space for ``model.space``.
"""

from prodvae.discover.reading import Barcodes, PathReading, barcodes, classify, read_path

__all__ = ["Barcodes", "PathReading", "barcodes", "classify", "read_path"]
