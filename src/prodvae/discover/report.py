"""Discover every factor of a labelled dataset, model-free, and report what was found.

Each varying factor is read on ``num_bases`` paths (:mod:`.paths`), each path embedded
(:mod:`.embedding`) and read by its persistent homology (:mod:`.reading`). The factor's
found kind is the kind most paths show; its **confidence** is the fraction of paths that show
it (0 when the factor has only two values, for two images are both two points and the two
ends of a segment). A loop's symmetry order is the most common among its loop paths; when it
changes with another factor of the base point (dSprites' square, ellipse and heart), the
finding records the order at each of that factor's values.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from prodvae.data import GroundTruthDataset
from prodvae.discover.embedding import embed_images
from prodvae.discover.paths import SAMPLES, FactorPath, Untraceable, factor_paths
from prodvae.discover.reading import (
    PathReading,
    pairwise_distances,
    read_distances,
)
from prodvae.spaces import KINDS, Factor, ProductSpace

#: Base points per factor.
BASES = 16
#: Below this confidence a disagreement with the declared kind is reported but not warned of.
WARN_CONFIDENCE = 0.5
#: A loop's symmetry is given by another factor's value when the order at each of its values
#: holds for at least this share of the loop paths (:func:`_symmetry_given`).
GIVEN_SHARE = 0.75


@dataclass(frozen=True)
class Finding:
    """What the data say about one factor."""

    #: what a row of the table names: a dataset's factor (a model's latent group, in subclasses)
    subject: ClassVar[str] = "factor"

    name: str
    declared: str
    found: str
    symmetry: int
    confidence: float
    declared_symmetry: int = 1
    #: the fraction of loop paths whose symmetry is the declared one at their base point
    #: (dSprites' orientation: 4 from a square, 2 from an ellipse, 1 from a heart)
    symmetry_agreement: float = 1.0
    #: ``(factor, orders)``: the symmetry at each value of another factor, when it varies
    symmetry_given: tuple[str, tuple[int, ...]] | None = None
    size: int = 0  # the factor's number of grid values
    #: medians over the paths: loop (leading H1 bar), loop_gap, separation, spread, groups
    evidence: dict[str, float] = field(default_factory=dict)
    readings: tuple[PathReading, ...] = ()
    #: the first path read: its values (None for a cloud read without labels) and the
    #: distances between its embedded images
    example: tuple[np.ndarray | None, np.ndarray] | None = None
    #: why the factor could not be read (:class:`~prodvae.discover.paths.Untraceable`); its
    #: found kind is then empty and its confidence 0
    unread: str = ""

    @property
    def proposed(self) -> str:
        """The kind proposed for this factor's latent factor: the kind found where the reading
        is sure (confidence >= :data:`WARN_CONFIDENCE`), the declared one where it is not (two
        values are two points and a segment's two ends alike: confidence 0)."""
        return self._proposed(self.declared)

    def _proposed(self, declared: str) -> str:
        """The kind found, or ``declared`` where the reading is unsure and ``declared`` is a
        factor's kind (a grouped Euclidean block declares none)."""
        if self.confidence >= WARN_CONFIDENCE or declared not in KINDS:
            return self.found
        return declared

    @property
    def agrees(self) -> bool:
        """Whether the found kind and symmetry are the declared ones."""
        if self.found != self.declared:
            return False
        return self.found != "loop" or self.symmetry_agreement >= 0.5

    def disagreement(self) -> str:
        """What differs from the declaration, in one line."""
        if self.found != self.declared:
            return (
                f"factor {self.name!r} is declared a {self.declared} but its images trace a "
                f"{self.found} (confidence {self.confidence:.2f})"
            )
        return (
            f"factor {self.name!r}: its images repeat {self.symmetry} times per period, "
            f"declared {self.declared_symmetry} (the declared order in "
            f"{self.symmetry_agreement:.0%} of the paths)"
        )

    def as_json(self) -> dict[str, Any]:
        row = {
            "name": self.name,
            "declared": self.declared,
            "found": self.found,
            "symmetry": self.symmetry,
            "confidence": round(self.confidence, 4),
        }
        if self.symmetry_given is not None:
            other, orders = self.symmetry_given
            row["symmetry_given"] = {"factor": other, "orders": list(orders)}
        return {**row, "unread": self.unread} if self.unread else row


@dataclass(frozen=True)
class Discovery:
    """The findings for every varying factor of a dataset."""

    findings: tuple[Finding, ...]
    constant: tuple[str, ...] = ()  # factors with a single value, not read
    #: model-based: each followed factor read on all the latent groups that follow it
    by_factor: tuple[Finding, ...] = ()

    @property
    def space(self) -> ProductSpace:
        """One latent factor per finding (for a model, per followed factor), of the type that
        models its :attr:`~Finding.proposed` kind (the kind found, where the reading is sure)."""
        findings = self.by_factor or self.findings
        return ProductSpace(Factor.for_ground_truth(f.proposed, f.size) for f in findings)

    def warnings(self) -> list[str]:
        """One line per confident disagreement (:meth:`Finding.disagreement`) and per factor
        that could not be read."""
        lines = []
        for f in (*self.findings, *(f for f in self.by_factor if f.unread)):
            if f.unread:
                lines.append(f"{f.unread}; the proposed space keeps its declared kind")
            elif not f.agrees and f.confidence >= WARN_CONFIDENCE:
                lines.append(f.disagreement())
        return lines

    def as_json(self) -> list[dict[str, Any]]:
        return [f.as_json() for f in self.findings]

    def to_json(self) -> str:
        return json.dumps(self.as_json(), indent=2)

    def table(self) -> list[str]:
        """The report as text lines: one row per factor (per latent group, for a model, with
        the factor it follows), then the proposed space."""
        model = any(getattr(f, "follows", "") for f in self.findings)
        subject = self.findings[0].subject if self.findings else "factor"
        names = ("latent", "follows", "kind") if model else (subject,)
        widths = (10, 15, 9) if model else (16,)
        columns = (*names, "declared", "found", "sym", "conf", "H1 lead", "H1 gap", "groups")
        columns += ("H0 sep", "H0 in")
        widths += (9, 9, 5, 5, 7, 6, 6, 6, 6)
        lefts = len(names) + 2  # names, declared and found are text

        def row(cells: tuple) -> str:
            parts = [
                f"{cell:<{w}}" if i < lefts else f"{cell:>{w}}"
                for i, (cell, w) in enumerate(zip(cells, widths))
            ]
            return " ".join(parts).rstrip()

        header = row(columns)
        lines = [header, "-" * len(header)]
        for f in self.findings:
            if f.unread:
                label = (f.name, getattr(f, "follows", ""), getattr(f, "follows_kind", ""))
                lines.append(row((*label[: len(names)], f.declared, "-")) + "  not read")
                continue
            e = f.evidence
            symmetry = str(f.symmetry) if f.found == "loop" else "-"
            if f.symmetry_given is not None:
                symmetry = "/".join(map(str, f.symmetry_given[1]))
            mark = "" if f.agrees else "  <- differs" if f.confidence >= WARN_CONFIDENCE else "  ?"
            label = (f.name, getattr(f, "follows", ""), getattr(f, "follows_kind", ""))
            cells = (*label[: len(names)], f.declared, f.found, symmetry, f"{f.confidence:.2f}")
            cells += (f"{e['loop']:.2f}", f"{e['loop_gap']:.2f}", f"{e['groups']:.0f}")
            cells += (f"{e['separation']:.2f}", f"{e['spread']:.2f}")
            lines.append(row(cells) + mark)
        for f in self.findings:
            if f.symmetry_given is not None:
                other, orders = f.symmetry_given
                lines.append(f"{f.name}: symmetry by {other} value: {', '.join(map(str, orders))}")
        for f in self.by_factor:
            if f.unread:
                lines.append(f"{getattr(f, 'follows', f.name)}: not read")
                continue
            lines.append(
                f"{getattr(f, 'follows', f.name)} on {f.name}: traced as a {f.found} "
                f"(confidence {f.confidence:.2f})"
            )
        if self.constant:
            lines.append(f"not read (one value): {', '.join(self.constant)}")
        lines.append(f"proposed space: {self.space.describe()}")
        return lines


class Tally(NamedTuple):
    """What several readings of one factor say together."""

    found: str  # the kind most readings show (ties: points, then segment, then loop)
    agreement: float  # the fraction of readings that show it
    symmetry: int  # the most common symmetry among the loop readings (1 if none)
    evidence: dict[str, float]  # medians of the readings' numbers


def tally(readings: list[PathReading]) -> Tally:
    """The majority reading of ``readings`` (at least one)."""
    votes = Counter(r.kind for r in readings)
    found = max(KINDS, key=lambda kind: (votes[kind], -KINDS.index(kind)))
    loops = [r.symmetry for r in readings if r.kind == "loop"]
    evidence = {
        key: float(np.median([getattr(r, key) for r in readings]))
        for key in ("loop", "loop_gap", "separation", "spread", "groups")
    }
    symmetry = Counter(loops).most_common(1)[0][0] if loops else 1
    return Tally(found, votes[found] / len(readings), symmetry, evidence)


def _symmetry_given(
    dataset: GroundTruthDataset, factor: int, paths: list[FactorPath], orders: list[int]
) -> tuple[str, tuple[int, ...]] | None:
    """The other factor whose value decides the symmetry order, when one does: at each of its
    values one order holds for more than half of the loop paths from there, these orders are
    not all one, and they hold for at least :data:`GIVEN_SHARE` of all the loop paths (a small
    square whose turns barely show may read another order on one path). Of several such
    factors, the one whose orders hold for most paths. (A value that one path alone reached
    takes that path's order, as every value did before: the base points may reach a shape
    once.)"""
    if len(set(orders)) < 2:
        return None
    best, best_share = None, 0.0
    for k, spec in enumerate(dataset.spec):
        if k == factor or spec.size < 2:
            continue
        at: dict[int, list[int]] = {}
        for path, order in zip(paths, orders):
            at.setdefault(int(path.base[k]), []).append(order)
        if len(at) != spec.size:
            continue
        chosen, held = {}, 0  # each value's majority order, and the paths that read it
        for value, found in at.items():
            order, count = Counter(found).most_common(1)[0]
            if 2 * count <= len(found):
                break
            chosen[value], held = order, held + count
        if len(chosen) != spec.size or len(set(chosen.values())) < 2:
            continue
        share = held / len(orders)
        if share >= GIVEN_SHARE and share > best_share:
            best, best_share = (spec.name, tuple(chosen[i] for i in range(spec.size))), share
    return best


def read_factor(dataset: GroundTruthDataset, factor: int, paths: list[FactorPath]) -> Finding:
    """Aggregate the readings of one factor's paths into a finding."""
    spec = dataset.spec[factor]
    period = spec.period if spec.kind == "loop" else None
    paths = [p for p in paths if _moves(p)]  # a path whose images never change says nothing
    examples = []
    for path in paths:
        sub = path.subsampled()
        examples.append((sub.values, pairwise_distances(sub.points(embed_images(sub.images)))))
    readings = [read_distances(d, values, period) for values, d in examples]
    name = spec.name
    if not readings:
        raise Untraceable(f"factor {name!r}: its images never change, so it has no topology")
    found, agreement, symmetry, evidence = tally(readings)
    distinct = min(len(np.unique(p.values)) for p in paths)
    confidence = 0.0 if distinct < 3 else agreement
    loops = [(p, r.symmetry) for p, r in zip(paths, readings) if r.kind == "loop"]
    given = None
    if found == "loop" and loops:
        given = _symmetry_given(dataset, factor, [p for p, _ in loops], [k for _, k in loops])
    else:
        symmetry = 1
    declared_symmetry = spec.symmetry
    agreement_of_symmetry = 1.0
    if loops:
        declared_orders = [_declared_order(dataset, factor, p) for p, _ in loops]
        agreement_of_symmetry = float(
            np.mean([order == want for (_, order), want in zip(loops, declared_orders)])
        )
        declared_symmetry = Counter(declared_orders).most_common(1)[0][0]
    return Finding(
        name=name,
        declared=spec.kind,
        found=found,
        symmetry=symmetry,
        confidence=confidence,
        declared_symmetry=declared_symmetry,
        symmetry_agreement=agreement_of_symmetry,
        symmetry_given=given,
        size=spec.size,
        evidence=evidence,
        readings=tuple(readings),
        example=examples[0],
    )


def _declared_order(dataset: GroundTruthDataset, factor: int, path: FactorPath) -> int:
    """The symmetry the spec declares for ``factor`` at the path's base point."""
    spec = dataset.spec[factor]
    if spec.symmetry_given is None:
        return spec.symmetry
    other, folds = spec.symmetry_given
    names = [s.name for s in dataset.spec]
    return folds[int(path.base[names.index(other)])]


def _moves(path: FactorPath) -> bool:
    flat = path.images.flatten(1)
    return bool((flat != flat[:1]).any())


def discover_dataset(
    dataset: GroundTruthDataset,
    *,
    factors: list[str] | None = None,
    num_bases: int = BASES,
    samples: int = SAMPLES,
    seed: int = 0,
    between: bool = True,
) -> Discovery:
    """Read every varying factor of ``dataset`` (or those named in ``factors``) from
    ``num_bases`` base points; a renderer is sampled at ``samples`` values between its grid
    values unless ``between`` is false (:func:`~prodvae.discover.paths.factor_paths`)."""
    names = [spec.name for spec in dataset.spec]
    if factors is not None:
        unknown = [name for name in factors if name not in names]
        if unknown:
            raise ValueError(f"unknown factor {unknown[0]!r}; the dataset has {', '.join(names)}")
        for name in factors:
            if dataset.spec[names.index(name)].size < 2:
                raise ValueError(f"factor {name!r} takes a single value: nothing varies to read")
    if num_bases < 1:
        raise ValueError(f"num_bases must be >= 1, got {num_bases}")
    chosen = [names.index(name) for name in factors] if factors is not None else range(len(names))
    generator = torch.Generator().manual_seed(int(seed))
    findings, constant = [], []
    for k in chosen:
        spec = dataset.spec[k]
        if spec.size < 2:
            constant.append(spec.name)
            continue
        try:
            paths = factor_paths(dataset, k, num_bases, generator, samples, between)
            findings.append(read_factor(dataset, k, paths))
        except Untraceable as error:  # the other factors are still read
            unread = Finding(spec.name, spec.kind, "", 1, 0.0, size=spec.size, unread=str(error))
            findings.append(unread)
    if not findings:
        raise ValueError("the dataset has no factor that varies: nothing to discover")
    return Discovery(tuple(findings), tuple(constant))
