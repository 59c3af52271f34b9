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
