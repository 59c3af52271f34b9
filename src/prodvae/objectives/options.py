"""Objective options: one frozen dataclass per objective, defaults in code, checked on creation.

An objective declares its options as ``Options``, a subclass of :class:`ObjectiveOptions`;
the fields are the option names and their annotations the types that a config's
``objective.options`` is converted to when it loads (:mod:`prodvae.train.config`). Value
checks run in ``__post_init__`` and raise :class:`OptionError`, whose message starts with
the option's name, so each caller can say where the value came from (``product:
anchor_weight ...`` from :func:`~prodvae.objectives.get_objective`,
``objective.options.anchor_weight ...`` from a config). The likelihood and
weak-supervision options that the ELBO objectives share are
:class:`~prodvae.objectives.likelihoods.LikelihoodOptions` and
:class:`~prodvae.objectives.weak.WeakOptions`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class OptionError(ValueError):
    """A bad option value; the message is ``"<key> <problem>"``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key} {problem}")
        self.key = key


@dataclass(frozen=True, kw_only=True)
class ObjectiveOptions:
    """Base of every objective's options (an objective without options uses it as is)."""


def check_number(key: str, value: Any, *, low: float = 0.0, allow_low: bool = True) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` unless ``allow_low``), else OptionError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value >= low if allow_low else value > low)
    if not ok:
        bound = f">= {low}" if allow_low else f"> {low}"
        raise OptionError(key, f"must be a finite number {bound}, got {value!r}")
    return float(value)


def check_count(key: str, value: Any, *, low: int = 0) -> int:
    """``value`` as an int ``>= low``, else OptionError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise OptionError(key, f"must be an integer >= {low}, got {value!r}")
    return value


def check_choice(key: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else OptionError listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise OptionError(key, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_flag(key: str, value: Any) -> bool:
    """``value`` if it is a bool, else OptionError."""
    if not isinstance(value, bool):
        raise OptionError(key, f"must be a bool, got {value!r}")
    return value


def normalise(options: ObjectiveOptions, key: str, value: Any) -> None:
    """Store the checked ``value`` of ``key`` on frozen ``options`` (from ``__post_init__``)."""
    object.__setattr__(options, key, value)


def check_numbers(
    options: ObjectiveOptions, *keys: str, low: float = 0.0, allow_low: bool = True
) -> None:
    """:func:`check_number` each of ``keys`` of ``options`` and store it as a float."""
    for key in keys:
        value = check_number(key, getattr(options, key), low=low, allow_low=allow_low)
        normalise(options, key, value)
