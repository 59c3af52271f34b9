"""Build a :class:`~prodvae.train.config.Config` from YAML overlays and ``--set`` strings.

Every value is checked against the annotation of its dataclass field: an unknown section
or key, or a value of the wrong type, raises one ``ValueError`` that names the key and
lists what is valid. Nothing here touches the disk except reading the YAML files.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from prodvae.train.config import Config
from prodvae.train.typecheck import check_value, field_hint, strip_optional


def load_config(
    path: str | Path | Sequence[str | Path] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    base: dict[str, Any] | None = None,
) -> Config:
    """Defaults, then ``base`` (a plain dict), then the YAML file(s) at ``path``, then
    ``overrides``.

    ``path`` may be several overlays, merged in order field by field: a run composed of a
    dataset overlay and an objective overlay is
    ``load_config(["configs/data/sprites.yaml", "configs/objective/beta_vae.yaml"])``.
    ``overrides`` are strings ``section.key=value`` (``value`` parsed as YAML); a key inside a
    mapping field is reached with one more dot, e.g. ``objective.options.beta=4``.
    """
    tree: dict[str, dict[str, Any]] = {}
    if base is not None:
        merge_overlay(tree, base, source="base config")
    paths = [path] if isinstance(path, (str, Path)) else list(path or ())
    for each in paths:
        merge_overlay(tree, read_yaml(each), source=str(each))
    for item in overrides:
        apply_override(tree, item)
    return build_config(tree)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, raising ``ValueError`` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping of sections")
    return data


def merge_overlay(tree: dict[str, dict[str, Any]], overlay: dict[str, Any], *, source: str) -> None:
    """Merge ``{section: {key: value}}`` into ``tree``, checking every name and value."""
    for section, fields in overlay.items():
        section_type = _section_type(section)
        if not isinstance(fields, dict):
            raise ValueError(f"{source}: section {section!r} must be a mapping, got {fields!r}")
        for key, value in fields.items():
            hint = field_hint(section_type, section, str(key))
            tree.setdefault(section, {})[key] = check_value(f"{section}.{key}", value, hint)


def apply_override(tree: dict[str, dict[str, Any]], item: str) -> None:
    """Apply one ``section.key[.subkey]=value`` string to ``tree``."""
    if "=" not in item:
        raise ValueError(f"--set {item!r}: expected section.key=value")
    dotted, text = item.split("=", 1)
    parts = dotted.strip().split(".")
    if len(parts) < 2 or not all(parts):
        raise ValueError(f"--set {item!r}: expected section.key=value, e.g. train.steps=100")
    section, key, rest = parts[0], parts[1], parts[2:]
    hint = field_hint(_section_type(section), section, key)
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    fields = tree.setdefault(section, {})
    if rest:
        if strip_optional(hint) is not dict and typing.get_origin(hint) is not dict:
            raise ValueError(f"--set {item!r}: {section}.{key} is not a mapping")
        mapping = dict(fields.get(key, _default(section, key)) or {})
        target = mapping
        for name in rest[:-1]:
            target = target.setdefault(name, {})
            if not isinstance(target, dict):
                raise ValueError(f"--set {item!r}: {name!r} is not a mapping")
        target[rest[-1]] = value
        fields[key] = mapping
        return
    if hint is str and not isinstance(value, str):
        value = text.strip()
    fields[key] = check_value(f"{section}.{key}", value, hint)


def build_config(tree: dict[str, dict[str, Any]]) -> Config:
    """Construct the frozen config (runs each section's own range checks)."""
    sections = {}
    for section_field in dataclasses.fields(Config):
        section_type = _section_type(section_field.name)
        sections[section_field.name] = section_type(**tree.get(section_field.name, {}))
    return Config(**sections)


def _section_type(section: str) -> type:
    hints = typing.get_type_hints(Config)
    if section not in hints:
        valid = ", ".join(f.name for f in dataclasses.fields(Config))
        raise ValueError(f"unknown config section {section!r}; valid sections: {valid}")
    return hints[section]


def _default(section: str, key: str) -> Any:
    return getattr(_section_type(section)(), key)
