"""Ground-truth datasets: factor metadata, procedural renderers, standard loaders, files."""

from prodvae.data.spec import FactorSpec

__all__ = ["FactorSpec"]
