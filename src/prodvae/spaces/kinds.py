"""The vocabulary of topologies shared by spaces, data and metrics.

A ground-truth factor (``FactorSpec.kind``) and an intrinsic code column of a metric are one
of three one-dimensional :data:`Kind`\\ s; a latent factor's :data:`Topology` adds the
Euclidean block and the tilted sphere. What the kinds mean for arithmetic is said once,
here: :func:`is_circular` (an angle, compared modulo a turn) and :func:`is_discrete` (a few
separate values, compared as classes); any other kind is a linear position.
"""

from typing import Literal, cast

Kind = Literal["points", "segment", "loop"]

#: A latent factor's topology: a ground-truth kind, a Euclidean block or a tilted sphere.
Topology = Literal[Kind, "euclidean", "sphere"]

#: The three one-dimensional topologies of a ground-truth factor or a latent factor.
KINDS: tuple[Kind, ...] = ("points", "segment", "loop")


def check_kind(kind: str) -> Kind:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise ``ValueError`` naming it."""
    if kind not in KINDS:
        raise ValueError(f"unknown factor kind {kind!r}; expected one of {', '.join(KINDS)}")
    return cast(Kind, kind)


def is_circular(kind: str) -> bool:
    """Whether a coordinate of this kind (or topology) is an angle: a loop's."""
    return kind == "loop"


def is_discrete(kind: str) -> bool:
    """Whether a coordinate of this kind (or topology) takes separate values: a point set's."""
    return kind == "points"
