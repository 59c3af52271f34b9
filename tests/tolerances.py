"""Tolerances that follow from a computation's precision, not from one machine's last digits.

A float result is off by about ``eps × magnitude × roundings``: a sum of ``n`` terms of size
``m`` by up to ``n · eps · m`` whatever order the kernel (SIMD width, BLAS blocking) adds them
in. A Monte Carlo estimate is off by its standard error ``σ / √n``; tests allow ``k`` of them.
"""

import math

import numpy as np
import torch

#: The error scipy's quad aims at by default, absolute and relative (epsabs = epsrel): what a
#: test may expect of a quadrature, per call.
QUAD_TARGET = 1.49e-8


def eps(dtype) -> float:
    """Machine epsilon of a torch or numpy float dtype."""
    return torch.finfo(dtype).eps if isinstance(dtype, torch.dtype) else float(np.finfo(dtype).eps)


def float_tol(dtype, magnitude, factor: float = 1.0):
    """``factor · eps(dtype) · magnitude``: the rounding error of a result built from values
    of size ``magnitude`` (a number or an array) through ``factor`` roundings (``n`` for a sum
    of ``n`` terms)."""
    return factor * eps(dtype) * magnitude


def monte_carlo_tol(std, n: float, k: float = 5.0):
    """``k · std / √n``: ``k`` standard errors of a mean of ``n`` independent draws (``std``
    a number or an array of them)."""
    return k * std / math.sqrt(n)


def chained_terms(module: torch.nn.Module) -> int:
    """Terms in all the dot products a forward pass of ``module`` chains (its weights' fan-ins):
    how far another summation order (another batch size or kernel) can move its outputs, in eps."""
    return sum(w[0].numel() for name, w in module.named_parameters() if name.endswith("weight"))
