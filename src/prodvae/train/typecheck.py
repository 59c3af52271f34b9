"""Values from YAML and ``--set`` checked against the type hints of dataclass fields.

:func:`check_value` converts a value to its field's hint (``"1e-3"`` to a float, ``1e3`` to
an int, a list to a tuple) or raises one ``ValueError`` naming the key; :func:`field_hint`
finds a field's hint, or raises listing the valid keys. Config sections and objective options
(:mod:`prodvae.train.config`) are both checked this way.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union


def field_hint(owner: type, where: str, key: str) -> Any:
    """The type hint of field ``key`` of dataclass ``owner``; ``where`` names it in errors."""
    names = [f.name for f in dataclasses.fields(owner)]
    if key not in names:
        raise ValueError(f"unknown config key {where}.{key}; valid keys: {', '.join(names)}")
    return typing.get_type_hints(owner)[key]


def check_value(key: str, value: Any, hint: Any) -> Any:
    """Return ``value`` converted to the type ``hint`` or raise ``ValueError`` naming ``key``."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return _check_union(key, value, typing.get_args(hint))
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            valid = ", ".join(repr(c) for c in choices)
            raise ValueError(f"{key} must be one of {valid}, got {value!r}")
        return value
    if hint is dict or origin is dict:
        return _check_mapping(key, value, typing.get_args(hint))
    if hint is tuple or origin is tuple:
        return _check_tuple(key, value, typing.get_args(hint))
    return _check_scalar(key, value, hint)


def strip_optional(hint: Any) -> Any:
    """``X`` for ``X | None``; any other hint unchanged."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _check_union(key: str, value: Any, options: tuple[Any, ...]) -> Any:
    if value is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return check_value(key, value, option)
        except ValueError as error:
            errors.append(str(error))
    raise ValueError(errors[0] if len(errors) == 1 else f"{key}: {value!r} fits no type")


def _check_mapping(key: str, value: Any, args: tuple[Any, ...]) -> dict[Any, Any]:
    """A mapping; with ``dict[K, V]`` (other than ``dict[str, Any]``) its entries converted."""
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping, got {value!r}")
    if not args or args == (str, Any):
        return value
    key_hint, value_hint = args
    return {
        check_value(f"{key} key", k, key_hint): check_value(f"{key}.{k}", v, value_hint)
        for k, v in value.items()
    }


def _check_tuple(key: str, value: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A list or tuple, as a tuple; ``tuple[X, ...]`` converts every item to ``X``."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{key} must be a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(check_value(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
    if args and len(args) != len(value):
        raise ValueError(f"{key} must be a list of {len(args)} values, got {value!r}")
    return tuple(check_value(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args)))


def _check_scalar(key: str, value: Any, hint: Any) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key} must be true or false, got {value!r}")
    if hint in (int, float):
        return _check_number(key, value, hint)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {value!r}")
        return value
    raise ValueError(f"{key}: unsupported field type {hint!r}")


def _check_number(key: str, value: Any, hint: type) -> int | float:
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{key} must be a number ({hint.__name__}), got {value!r}") from None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ValueError(f"{key} must be a number ({hint.__name__}), got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{key} must be finite, got {value!r}")
    if hint is int:
        if float(number) != int(number):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        return int(number)
    return float(number)
