"""A one-line grammar for product spaces.

``"loop(3, 0.5) * segment(half_length=1) * points(4)^2 * euclidean(2)"``: factors
separated by ``*`` (or ``×``); each is a registered name, optionally with arguments in
parentheses (positional in the order of the factor's fields, or ``name=value``), and
optionally repeated with ``^n``. Values are Python literals, parsed without ``eval``.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from prodvae.spaces.base import FACTORS, Factor, make_factor

_TERM = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*(?:\^\s*(\d+))?\s*$", re.DOTALL)


def _literal(text: str, term: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"space term {term!r}: cannot read value {text.strip()!r}") from None


def _parse_arguments(name: str, body: str, term: str) -> dict[str, Any]:
    fields = list(FACTORS.options(name))
    params: dict[str, Any] = {}
    seen_keyword = False
    pieces = [p for p in body.split(",") if p.strip()] if body else []
    for position, piece in enumerate(pieces):
        if "=" in piece:
            key, value = piece.split("=", 1)
            params[key.strip()] = _literal(value, term)
            seen_keyword = True
        elif seen_keyword:
            raise ValueError(f"space term {term!r}: positional argument after a keyword")
        elif position >= len(fields):
            raise ValueError(f"space term {term!r}: {name} takes at most {len(fields)} arguments")
        else:
            params[fields[position]] = _literal(piece, term)
    return params


def parse_factors(text: str) -> list[Factor]:
    """Parse the one-line grammar into a list of factors."""
    factors: list[Factor] = []
    for term in re.split(r"[*×]", text):
        match = _TERM.match(term)
        if not term.strip() or match is None:
            raise ValueError(f"cannot parse space term {term.strip()!r} in {text!r}")
        name, body, repeat = match.groups()
        factor = make_factor(name, **_parse_arguments(name, body or "", term.strip()))
        count = int(repeat) if repeat else 1
        if count < 1:
            raise ValueError(f"space term {term.strip()!r}: repeat count must be >= 1")
        factors.extend([factor] * count)
    return factors
