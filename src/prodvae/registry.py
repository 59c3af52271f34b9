"""One generic registry of named entries: ``@REGISTRY.register("name")`` beside a definition.

A :class:`Registry` is a read-only mapping from names to entries (classes, factories,
functions), so ``name in DATASETS``, ``OBJECTIVES[name]`` and ``sorted(FACTORS)`` work as on
a dict. What it adds over a dict: a name is registered once (a duplicate is an error, never
a silent overwrite), an unknown name raises one error that lists the choices, and
:meth:`Registry.build` constructs an entry by name with its options checked against what
the entry takes. It imports nothing from ``prodvae``, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class UnknownNameError(KeyError, ValueError):
    """A name that is not registered. A ``KeyError`` (what a mapping raises, so ``get`` and
    ``in`` work) and a ``ValueError`` (what callers of ``get_dataset`` and the like expect),
    printed as its message rather than ``KeyError``'s quoted repr."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Mapping[str, T]):
    """Entries of one ``kind`` (``"dataset"``, ``"objective"``; used in messages) by name.

    ``set_name``: registering also sets the entry's ``name`` attribute to its registry name
    (for classes that know their name, like objectives and factors).
    """

    def __init__(self, kind: str, *, set_name: bool = False) -> None:
        self.kind = kind
        self._set_name = set_name
        self._entries: dict[str, T] = {}
        self._extra: dict[str, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(sorted(self._entries)) or "(none registered)"
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; expected one of: {choices}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"

    def register(self, name: str, **extra: Any) -> Callable[[T], T]:
        """Decorator: :meth:`add` the decorated entry as ``name`` with ``extra`` data."""

        def decorate(entry: T) -> T:
            return self.add(name, entry, **extra)

        return decorate

    def add(self, name: str, entry: T, **extra: Any) -> T:
        """Register ``entry`` as ``name``, with ``extra`` data (see :meth:`extra`); return it.

        A name already registered raises ``ValueError``, even for the very same entry: a
        reloaded module defines new objects anyway, so allowing the same one would not make
        reloads work; a module that may be imported twice checks ``name in registry`` first.
        """
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._store(name, entry, extra)
        return entry

    def remove(self, name: str) -> T:
        """Unregister ``name`` and return its entry (an unknown name raises)."""
        entry = self[name]
        del self._entries[name], self._extra[name]
        return entry

    def extra(self, name: str) -> Mapping[str, Any]:
        """The extra data that ``name`` was registered with (``register(name, key=value)``)."""
        self[name]  # an unknown name raises the listing error
        return dict(self._extra[name])

    @contextmanager
    def temporarily(
        self, name: str, entry: T, *, replace: bool = False, **extra: Any
    ) -> Iterator[T]:
        """Register ``entry`` as ``name`` for a ``with`` block (tests' entries), then undo it.

        ``replace``: ``entry`` may stand in for an entry already registered as ``name``,
        which is put back (in its place) afterwards; otherwise a duplicate raises as in
        :meth:`add`.
        """
        saved = (self._entries[name], self._extra[name]) if replace and name in self else None
        if saved is None:
            self.add(name, entry, **extra)
        else:
            self._store(name, entry, extra)
        try:
            yield entry
        finally:
            if saved is None:
                self.remove(name)
            else:
                self._entries[name], self._extra[name] = saved

    def options(self, name: str, num_positional: int = 0) -> dict[str, Any]:
        """The options :meth:`build` takes for ``name`` by keyword, with their defaults
        (``inspect.Parameter.empty`` for a required one).

        They are the fields of the entry's ``Options`` dataclass when it has one (an
        objective), else the keyword parameters of its signature after the first
        ``num_positional`` (the arguments :meth:`build` passes by position).
        """
        entry = self[name]
        options_type = _options_type(entry)
        if options_type is not None:
            fields = dataclasses.fields(options_type)
            return {f.name: _field_default(f) for f in fields if f.init}
        signature = inspect.signature(entry)  # type: ignore[arg-type]
        parameters = list(signature.parameters.values())[num_positional:]
        return {p.name: p.default for p in parameters if p.kind in _KEYWORD}

    def check_options(self, name: str, options: Mapping[str, Any], num_positional: int = 0) -> None:
        """Raise ``ValueError`` naming the ``options`` that ``name`` does not take, and
        listing those it does (see :meth:`options`)."""
        valid = self.options(name, num_positional)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"{self.kind} {name!r}: unknown option(s) {', '.join(unknown)}; "
                f"valid options: {', '.join(sorted(valid)) or '(none)'}"
            )

    def build(self, name: str, /, *args: Any, **options: Any) -> Any:
        """Entry ``name`` called with ``args`` and the checked keyword ``options``.

        An entry with an ``Options`` dataclass (an objective) gets its options as one
        ``Options(**options)`` after ``args``, built by :meth:`build_options`.
        """
        entry = self[name]
        if _options_type(entry) is not None:
            return entry(*args, self.build_options(name, **options))  # type: ignore[operator]
        self.check_options(name, options, len(args))
        return entry(*args, **options)  # type: ignore[operator]

    def build_options(self, name: str, /, **options: Any) -> Any:
        """The ``Options`` dataclass of entry ``name`` from the checked ``options``; a
        ``ValueError`` of its own checks is raised again as ``"<name>: <message>"``."""
        options_type = _options_type(self[name])
        if options_type is None:
            raise TypeError(f"{self.kind} {name!r} has no Options dataclass")
        self.check_options(name, options)
        try:
            return options_type(**options)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None

    def _store(self, name: str, entry: T, extra: dict[str, Any]) -> None:
        self._entries[name] = entry
        self._extra[name] = extra
        if self._set_name:
            entry.name = name  # type: ignore[attr-defined]


def _options_type(entry: Any) -> type | None:
    """The entry's ``Options`` dataclass, or None."""
    options_type = getattr(entry, "Options", None)
    is_dataclass = isinstance(options_type, type) and dataclasses.is_dataclass(options_type)
    return options_type if is_dataclass else None


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return inspect.Parameter.empty
