"""Modularity by hand; explicitness known answers."""

import numpy as np
import pytest

from prodvae.metrics import modularity, modularity_explicitness


def test_modularity_by_hand():
    assert modularity(np.eye(2)) == pytest.approx(1.0)
    assert modularity(np.array([[1.0, 1.0], [1.0, 1.0]])) == pytest.approx(0.0)
    # code 0: squared MI (4, 1) -> 1 - 1/4; code 1 carries nothing -> 0
    assert modularity(np.array([[2.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.375)


def test_identity_and_noise(identity_split, noise_split):
    ident = modularity_explicitness(*identity_split)
    assert ident["modularity"] > 0.95
    assert ident["explicitness_test"] > 0.95
    noise = modularity_explicitness(*noise_split)
    assert abs(noise["explicitness_test"] - 0.5) < 0.06


def test_a_loop_code_enters_explicitness_as_cos_and_sin():
    """A wrapped angle codes 4 classes around a circle, class 0 centred on ±π so that it is
    cut in two by the wrap: near-perfect AUC only when the code is read as an angle."""
    rng = np.random.default_rng(0)
    index = rng.integers(4, size=6000)
    angle = np.angle(np.exp(1j * (2 * np.pi * index / 4 + np.pi + 0.2 * rng.normal(size=6000))))
    other = rng.integers(3, size=6000)  # a second factor, coded plainly by a second code
    codes = np.column_stack([angle, other + 0.1 * rng.normal(size=6000)])
    factors = np.column_stack([index, other])
    split = (codes[:4000], factors[:4000], codes[4000:], factors[4000:])
    as_loop = modularity_explicitness(*split, code_kinds=("loop", "segment"))
    as_line = modularity_explicitness(*split)
    assert as_loop["explicitness_test"] > 0.99
    assert as_line["explicitness_test"] < 0.95
    assert as_loop["modularity"] == as_line["modularity"]  # binned MI needs no change
