"""``python -m benchmarks.tables [--check]``: rewrite (or check) the generated tables.

Exit status with ``--check``: 0 when every table in README.md and benchmarks/README.md is what
its result file makes, 1 when one differs (each is named), 2 when a result file or renderer is
missing or malformed.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.tables import DOCUMENTS, ROOT, regenerate, stale, unused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tables", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="compare only; exit 1 if a table differs"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            differing = stale()
            for name in differing:
                print(f"stale table: {name} (run python -m benchmarks.tables)", file=sys.stderr)
            for name in unused():
                print(f"note: benchmarks/results/{name}.json is shown in no document")
            return 1 if differing else 0
        for document in DOCUMENTS:
            text = document.read_text()
            fresh = regenerate(text)
            if fresh != text:
                document.write_text(fresh)
                print(f"rewrote {document.relative_to(ROOT)}")
    except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
