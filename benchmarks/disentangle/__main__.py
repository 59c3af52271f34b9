"""``python -m benchmarks.disentangle PRESET [--out DIR] [--executor ...]``.

The same harness as ``prodvae bench`` (:mod:`prodvae.bench`); presets live in
``benchmarks/disentangle/presets/``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from prodvae.bench.arguments import (
    add_arguments,
    describe_cells,
    describe_result,
    read_preset,
    sweep_from_args,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.disentangle", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        preset = read_preset(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.list:
        print(describe_cells(preset))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = sweep_from_args(args, preset)
    print(describe_result(result))
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
