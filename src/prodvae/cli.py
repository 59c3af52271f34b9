"""The ``prodvae`` command line.

Each module of :mod:`prodvae.commands` contributes one sub-command through its
``add_parser(subparsers)`` function, which sets ``func`` on the parser it adds; the
function receives the parsed arguments and returns an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import prodvae
from prodvae import commands
from prodvae.errors import UserError

__all__ = ["UserError", "build_parser", "main"]  # UserError re-exported from prodvae.errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prodvae",
        description="Disentangled VAEs on products of points, segments and loops.",
    )
    parser.add_argument("--version", action="version", version=f"prodvae {prodvae.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"prodvae {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
