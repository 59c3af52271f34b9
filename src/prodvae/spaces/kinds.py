"""The vocabulary of one-dimensional topologies shared by spaces, data and metrics."""

from typing import Literal

Kind = Literal["points", "segment", "loop"]

#: The three one-dimensional topologies of a ground-truth factor or a latent factor.
KINDS: tuple[str, ...] = ("points", "segment", "loop")


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise ``ValueError`` naming it."""
    if kind not in KINDS:
        raise ValueError(f"unknown factor kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind
