"""Ground-truth datasets: factor metadata, procedural renderers, standard loaders, files.

```python
from prodvae.data import get_dataset, from_file
ds = get_dataset("torus")                      # procedural: torus, sprites, orbit
ds = get_dataset("shapes3d", data_dir="data")  # standard: shapes3d, dsprites, mpi3d_*, ...
ds = from_file("mine.h5")                      # bring your own (HDF5 or npz)
```
"""

from prodvae.data import (  # noqa: F401  (importing registers the datasets)
    cars3d,
    dsprites,
    mpi3d,
    orbit,
    shapes3d,
    smallnorb,
    sprites,
    torus,
)
from prodvae.data.array_dataset import ArrayDataset
from prodvae.data.base import GroundTruthDataset, Sample
from prodvae.data.files import from_file, save_dataset
from prodvae.data.grid import FactorGrid, detect_grid, ravel_indices, unravel_flat
from prodvae.data.pairs import FactorPair, check_pairs, sample_pair_factors, sample_pairs
from prodvae.data.procedural import ProceduralDataset
from prodvae.data.registry import DATASETS, get_dataset, register_dataset
from prodvae.data.row_pairs import PairRows
from prodvae.data.spec import FactorSpec

__all__ = [
    "ArrayDataset",
    "DATASETS",
    "FactorGrid",
    "FactorPair",
    "FactorSpec",
    "GroundTruthDataset",
    "PairRows",
    "ProceduralDataset",
    "Sample",
    "check_pairs",
    "detect_grid",
    "from_file",
    "get_dataset",
    "ravel_indices",
    "register_dataset",
    "sample_pair_factors",
    "sample_pairs",
    "save_dataset",
    "unravel_flat",
]
