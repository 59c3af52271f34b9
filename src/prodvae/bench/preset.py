"""A benchmark preset: datasets x objectives (x hyperparameter grids) x seeds, from YAML.

A preset file holds config overlays for :func:`prodvae.train.load_config`::

    name: cpu
    base: {train: {steps: 3000}, eval: {at_end: false}}   # every cell
    datasets:
      torus: {data: {name: torus}, vars: {latent_dim: 4}}  # label -> overlay (+ vars)
    objectives:
      beta_vae:                                            # label -> overlay (+ sweep)
        objective: {name: beta_vae}
        model: {space: "euclidean({latent_dim})"}          # {var} from the dataset's vars
                                                           # ("{var}" alone keeps its type)
        sweep: {objective.options.beta: [1, 4]}            # one variant per value
    seeds: [0, 1, 2]
    evaluation: {suites: [standard, topology], fast: true, num_train: 10000, num_test: 5000}
    # evaluation.metrics: [mig, dci, topology] runs only these metrics of the suites
    headline: {mig: MIG, dci.disentanglement: DCI D}       # results key -> column title

Overlays merge deeply in the order base, dataset, objective, sweep values, then the seed.
Every cell's config is built and checked (names, types, registered objective) before any
training starts, so a typo fails at once with one ``ValueError``.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Keys of a preset file.
PRESET_KEYS = (
    "name",
    "description",
    "base",
    "datasets",
    "objectives",
    "seeds",
    "evaluation",
    "headline",
)
#: Keys of the ``evaluation`` section and their defaults.
EVALUATION_DEFAULTS: dict[str, Any] = {
    "suites": ["standard", "topology"],
    "fast": True,
    "num_train": 10000,
    "num_test": 5000,
    "seed": 0,
    "device": "cpu",
    "metrics": None,
}
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.=+-]+")


@dataclass(frozen=True)
class Evaluation:
    """How each cell is scored with :func:`prodvae.metrics.evaluate`."""

    suites: tuple[str, ...]
    fast: bool
    num_train: int
    num_test: int
    seed: int
    device: str
    metrics: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Cell:
    """One training run of the sweep: ``overlay`` is the merged config overlay (a plain dict)."""

    cell_id: str
    dataset: str
    objective: str
    variant: str
    seed: int
    overlay: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Preset:
    """A parsed preset; ``raw`` is the YAML mapping as read (recorded in ``results.json``)."""

    name: str
    description: str
    cells: tuple[Cell, ...]
    evaluation: Evaluation
    headline: dict[str, str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def variants(self) -> list[str]:
        """Objective variants in preset order."""
        return list(dict.fromkeys(cell.variant for cell in self.cells))

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(cell.dataset for cell in self.cells))


def load_preset(path: str | Path) -> Preset:
    """Read, expand and check the preset at ``path`` (``ValueError`` naming what is wrong)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"preset file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"preset {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"preset {str(path)!r} must hold a mapping")
    return parse_preset(raw, default_name=path.stem)


def parse_preset(raw: dict[str, Any], default_name: str = "preset") -> Preset:
    """Build a :class:`Preset` from a mapping (see the module docstring for the schema)."""
    unknown = sorted(set(raw) - set(PRESET_KEYS))
    if unknown:
        raise ValueError(f"preset: unknown key(s) {unknown}; valid keys: {', '.join(PRESET_KEYS)}")
    datasets = _mapping(raw, "datasets", required=True)
    objectives = _mapping(raw, "objectives", required=True)
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(_is_int(s) for s in seeds):
        raise ValueError(f"preset: seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"preset: seeds must be distinct, got {seeds!r}")
    _check_objectives_registered(objectives)
    base = _mapping(raw, "base")
    cells = [
        _cell(base, d_label, d_entry, variant, seed)
        for d_label, d_entry in datasets.items()
        for variant in _variants(objectives)
        for seed in seeds
    ]
    headline = raw.get("headline") or {"mig": "MIG"}
    if not isinstance(headline, dict):
        raise ValueError(f"preset: headline must map result keys to titles, got {headline!r}")
    return Preset(
        name=str(raw.get("name", default_name)),
        description=str(raw.get("description", "")),
        cells=tuple(cells),
        evaluation=_evaluation(_mapping(raw, "evaluation")),
        headline={str(k): str(v) for k, v in headline.items()},
        raw=copy.deepcopy(raw),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(raw: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
    value = raw.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        raise ValueError(f"preset: {key} must be a non-empty mapping, got {value!r}")
    return value


def _check_objectives_registered(objectives: dict[str, Any]) -> None:
    from prodvae.objectives import OBJECTIVES

    missing = []
    for label, entry in objectives.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("objective"), dict):
            raise ValueError(f"preset: objective {label!r} needs an 'objective: {{name: ...}}'")
        name = entry["objective"].get("name")
        if name not in OBJECTIVES:
            missing.append(f"{label!r} (objective {name!r})")
    if missing:
        raise ValueError(
            f"preset names objective(s) that are not registered: {', '.join(missing)}; "
            f"registered: {', '.join(sorted(OBJECTIVES))}"
        )


@dataclass(frozen=True)
class _Variant:
    label: str
    overlay: dict[str, Any]


def _variants(objectives: dict[str, Any]) -> list[_Variant]:
    """One variant per objective entry and combination of its ``sweep`` values."""
    variants = []
    for label, entry in objectives.items():
        overlay = {k: v for k, v in entry.items() if k != "sweep"}
        sweep = entry.get("sweep") or {}
        if not isinstance(sweep, dict) or not all(
            isinstance(v, list) and v for v in sweep.values()
        ):
            raise ValueError(f"preset: {label}.sweep must map dotted keys to non-empty lists")
        keys = list(sweep)
        for values in itertools.product(*(sweep[k] for k in keys)):
            merged = copy.deepcopy(overlay)
            for key, value in zip(keys, values):
                _set_dotted(merged, key, value, label)
            suffix = ",".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values))
            variants.append(_Variant(f"{label}[{suffix}]" if suffix else str(label), merged))
    return variants


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any, label: str) -> None:
    parts = dotted.split(".")
    if len(parts) < 2:
        raise ValueError(f"preset: {label}.sweep key {dotted!r} must be section.key[.subkey]")
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
        if not isinstance(tree, dict):
            raise ValueError(f"preset: {label}.sweep key {dotted!r} crosses a non-mapping")
    tree[parts[-1]] = value


def merge(tree: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(tree)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _substitute(value: Any, names: dict[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, names, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names, where) for v in value]
    if isinstance(value, str) and "{" in value:
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in names:
            return copy.deepcopy(names[whole.group(1)])  # "{name}" alone keeps the var's type
        try:
            return value.format(**names)
        except KeyError as error:
            raise ValueError(
                f"preset: {where} uses {{{error.args[0]}}} but the dataset's vars are "
                f"{sorted(names)}"
            ) from None
    return value


def _cell(base: dict, d_label: str, d_entry: Any, variant: _Variant, seed: int) -> Cell:
    if not isinstance(d_entry, dict):
        raise ValueError(f"preset: dataset {d_label!r} must be a config overlay mapping")
    names = d_entry.get("vars") or {}
    data_overlay = {k: v for k, v in d_entry.items() if k != "vars"}
    overlay = merge(merge(base, data_overlay), variant.overlay)
    overlay = _substitute(overlay, names, f"{d_label} x {variant.label}")
    overlay = merge(overlay, {"train": {"seed": int(seed)}})
    cell_id = _SAFE_ID.sub("_", f"{d_label}--{variant.label}--seed{seed}")
    return Cell(cell_id, str(d_label), _objective_name(variant), variant.label, int(seed), overlay)


def _objective_name(variant: _Variant) -> str:
    return str(variant.overlay["objective"]["name"])


def _evaluation(section: dict[str, Any]) -> Evaluation:
    unknown = sorted(set(section) - set(EVALUATION_DEFAULTS))
    if unknown:
        raise ValueError(
            f"preset: unknown evaluation key(s) {unknown}; valid: {', '.join(EVALUATION_DEFAULTS)}"
        )
    values = {**EVALUATION_DEFAULTS, **section}
    suites = values["suites"]
    if isinstance(suites, str):
        suites = [suites]
    from prodvae.metrics import SUITES

    bad = [s for s in suites if s not in SUITES]
    if bad or not suites:
        raise ValueError(f"preset: evaluation.suites {suites!r}; valid suites: {SUITES}")
    for key in ("num_train", "num_test"):
        if not _is_int(values[key]) or values[key] < 2:
            raise ValueError(
                f"preset: evaluation.{key} must be an integer >= 2, got {values[key]!r}"
            )
    return Evaluation(
        tuple(suites),
        bool(values["fast"]),
        int(values["num_train"]),
        int(values["num_test"]),
        int(values["seed"]),
        str(values["device"]),
        _metric_names(values["metrics"], suites),
    )


def _metric_names(names: Any, suites: list[str]) -> tuple[str, ...] | None:
    """Registered metric names of ``evaluation.metrics`` (``None``: whole suites)."""
    if names is None:
        return None
    from prodvae.metrics import metrics_in_suite

    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"preset: evaluation.metrics must be a list of metric names, got {names!r}"
        )
    available = {entry.name for suite in suites for entry in metrics_in_suite(suite)}
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"preset: evaluation.metrics {unknown} are not in the suites {suites}; "
            f"available: {', '.join(sorted(available))}"
        )
    return tuple(names)
