"""Discovery reads every factor of each standard dataset's loader with its declared topology,
on synthetic files in the real schemas (:mod:`tests.discover.standard_fixtures`): a check of
the loaders plus the discovery pipeline end to end, not of the real datasets."""

from __future__ import annotations

import numpy as np
import pytest
from tests.discover.standard_fixtures import CASES, load

from prodvae.data import get_dataset
from prodvae.discover.report import discover_dataset

SEEDS = range(5)


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
        assert discovery.warnings() == [], report
        for finding, spec in zip(discovery.findings, varying):
            assert finding.found == spec.kind and finding.agrees, report
            if spec.kind != "loop":
                continue
            if spec.symmetry_given is None:
                assert finding.symmetry == spec.symmetry == 1, report
            assert finding.symmetry_given == spec.symmetry_given, report


def test_dsprites_fixture_is_the_public_layout(tmp_path):
    """Binary sprites of 64 x 64 under the public HDF5 file's name and keys."""
    from tests.discover.standard_fixtures import write_dsprites

    path = write_dsprites(tmp_path, (3, 1, 5, 1, 1))
    assert path.name == "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
    ds = get_dataset("dsprites", data_dir=tmp_path)
    images = ds.images_at(np.arange(len(ds)))
    assert tuple(images.shape[1:]) == (1, 64, 64)
    assert set(images.unique().tolist()) == {0, 255}
