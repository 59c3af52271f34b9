"""Discovery reads every factor of each standard dataset's loader with its declared topology,
on synthetic files in the real schemas (:mod:`tests.discover.standard_fixtures`): a check of
the loaders plus the discovery pipeline end to end, not of the real datasets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from tests.discover import standard_fixtures as fixtures

from prodvae.data import get_dataset
from prodvae.discover.report import discover_dataset

SEEDS = range(5)


@dataclass(frozen=True)
class Case:
    name: str  # the registered dataset
    write: object  # the fixture writer
    sizes: tuple[int, ...]  # values per factor written
    loaded: tuple[int, ...]  # factor sizes the loader should find
    options: dict = field(default_factory=dict)  # for the loader
    num_bases: int = 8  # base points per factor (discover_dataset's default)

    @property
    def id(self) -> str:
        return f"{self.name}-{'x'.join(map(str, self.sizes))}"


CASES = [
    # the three hue loops; then scale and orientation (segments) and the four shapes
    Case("shapes3d", fixtures.write_shapes3d, (12, 12, 12, 1, 1, 1), (12, 12, 12, 1, 1, 1)),
    Case("shapes3d", fixtures.write_shapes3d, (1, 1, 1, 8, 4, 15), (1, 1, 1, 8, 4, 15)),
    # the public file's 40 stored orientations, 39 once the loader drops the repeated one.
    # Every path from one shape is alike here, so the symmetry of each shape is read only if
    # the bases hit all three shapes: 8 bases miss one with probability 3 * (2/3)^8 = 12%,
    # 16 with 0.5%
    Case("dsprites", fixtures.write_dsprites, (3, 1, 40, 1, 1), (3, 1, 39, 1, 1), num_bases=16),
    Case("dsprites", fixtures.write_dsprites, (3, 6, 1, 1, 1), (3, 6, 1, 1, 1)),
    Case("dsprites", fixtures.write_dsprites, (3, 1, 1, 8, 8), (3, 1, 1, 8, 8)),
    # the point factors; then camera height and the two arm axes (segments)
    Case(
        "mpi3d_toy",
        fixtures.write_mpi3d,
        (3, 3, 2, 1, 3, 1, 1),
        (3, 3, 2, 1, 3, 1, 1),
        {"factor_sizes": (3, 3, 2, 1, 3, 1, 1)},
    ),
    Case(
        "mpi3d_toy",
        fixtures.write_mpi3d,
        (1, 1, 2, 5, 1, 6, 6),
        (1, 1, 2, 5, 1, 6, 6),
        {"factor_sizes": (1, 1, 2, 5, 1, 6, 6)},
    ),
    # the real 4 elevations and 24 azimuths, three cars
    Case("cars3d", fixtures.write_cars3d, (4, 24, 3), (4, 24, 3)),
    # the real 18 azimuths, 5 of the 9 elevations, three categories; then the point factors
    Case("smallnorb", fixtures.write_smallnorb, (3, 1, 5, 18, 1), (3, 1, 5, 18, 1)),
    Case("smallnorb", fixtures.write_smallnorb, (3, 3, 1, 1, 3), (3, 3, 1, 1, 3)),
]


def load(case: Case, folder):
    case.write(folder, case.sizes)
    return get_dataset(case.name, data_dir=folder, **case.options)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_discovery_reads_the_declared_topology(tmp_path, case):
    """Every factor that varies is found of its declared kind, from every seed; a loop
    repeats as declared: once per period, or, for dSprites' orientation, as each shape does
    (the square every quarter turn, the ellipse every half turn, the heart never)."""
    ds = load(case, tmp_path)
    assert ds.factor_sizes == case.loaded
    varying = [spec for spec in ds.spec if spec.size > 1]
    constant = tuple(spec.name for spec in ds.spec if spec.size == 1)
    if case.name == "dsprites" and "orientation" in {spec.name for spec in varying}:
        assert ds.spec[2].symmetry_given == ("shape", (4, 2, 1))
    for seed in SEEDS:
        discovery = discover_dataset(ds, seed=seed, num_bases=case.num_bases)
        report = "\n".join([f"{case.id}, seed {seed}:", *discovery.table()])
        assert [f.name for f in discovery.findings] == [spec.name for spec in varying], report
        assert discovery.constant == constant, report
        for finding, spec in zip(discovery.findings, varying):
            assert finding.found == spec.kind, report
            if spec.kind != "loop":
                continue
            if spec.symmetry_given is None:
                assert finding.symmetry == spec.symmetry == 1, report
            assert finding.symmetry_given == spec.symmetry_given, report


def test_dsprites_fixture_is_the_public_layout(tmp_path):
    """Binary sprites of 64 x 64 under the public HDF5 file's name and keys."""
    path = fixtures.write_dsprites(tmp_path, (3, 1, 5, 1, 1))
    assert path.name == "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
    ds = get_dataset("dsprites", data_dir=tmp_path)
    images = ds.images_at(np.arange(len(ds)))
    assert tuple(images.shape[1:]) == (1, 64, 64)
    assert set(images.unique().tolist()) == {0, 255}
