"""A pytest plugin (loaded by `-p tests.isolate_results` in pyproject.toml): suite-wide fixtures.

Not a top-level conftest.py: the test folders have conftest modules of their own, and pytest
cannot import two modules named `conftest` when one is named on the command line."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _benchmark_results_elsewhere(tmp_path_factory, monkeypatch):
    """Benchmarks run by tests write their result files to a temporary folder, never over the
    committed ``benchmarks/results/`` that the docs' tables are made from."""
    monkeypatch.setenv("PRODVAE_BENCH_RESULTS", str(tmp_path_factory.mktemp("bench-results")))
