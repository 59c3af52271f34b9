"""InfoMEC known answers."""

import numpy as np
from tests.tolerances import float_tol

from prodvae.metrics import infomec


def test_identity_noise_and_duplicate(identity_split, noise_split):
    ident = infomec(identity_split.codes_train, identity_split.factors_train)
    assert min(ident.values()) > 0.9
    noise = infomec(noise_split.codes_train, noise_split.factors_train)
    assert max(noise.values()) < 0.15
    codes = identity_split.codes_train
    dup = infomec(np.column_stack([codes, codes[:, 0]]), identity_split.factors_train)
    assert dup["infom"] > 0.9  # each code still talks about one factor
    assert dup["infoc"] < ident["infoc"] - 0.1  # factor 0 is spread over two codes


def test_inactive_codes_are_ignored(identity_split):
    codes = np.column_stack(
        [identity_split.codes_train, np.full(len(identity_split.codes_train), 2.0)]
    )
    ident = infomec(identity_split.codes_train, identity_split.factors_train)
    padded = infomec(codes, identity_split.factors_train)
    # the same float64 scores (of size <= 1) with one more, inactive code: a few roundings
    assert abs(padded["infoc"] - ident["infoc"]) < float_tol(np.float64, 1.0, 8)
