"""The disentanglement benchmark: ``python -m benchmarks.disentangle PRESET`` (see README)."""
