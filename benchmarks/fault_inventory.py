"""How many bad-input and fault cases the test suite tries, by category.

    python -m benchmarks.fault_inventory

Collects the suite's test ids with ``pytest --collect-only -q`` (nothing runs), reads each test
function's source, and counts every collected case (a parametrised test counts once per
parameter set) that tries a fault. The rules are keyword rules, so the counts are an
inventory, not a proof; they are:

1. A case tries a fault when its function name holds a fault word (:data:`FAULT_NAME`: bad,
   corrupt, malformed, invalid, truncated, missing, refused, rejected, unknown, wrong,
   mismatched, kill, signal, interrupt, non-finite, fail, error, ...) or its body calls
   ``pytest.raises`` (other than on ``SystemExit``, which ``--version`` raises too) or sends a
   signal (``os.kill``).
2. Its category is, in this order: ``signals`` or ``checkpoints`` when the function name
   matches their pattern in :data:`CATEGORIES`; else the category of its module in
   :data:`MODULES` (test_checkpoint.py is all checkpoints, test_files.py all files, ...);
   else ``files`` or ``configs`` when the name matches theirs; else ``other`` (bad tensors or
   arguments handed to a library function, non-finite losses, failing hooks).

Writes ``benchmarks/results/fault_inventory.json`` through :func:`benchmarks.results.record`
(rendered by ``benchmarks/tables/fault_inventory.py``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FAULT_NAME = re.compile(
    r"bad|corrupt|malformed|invalid|truncat|missing|refus|reject|typo|unknown|wrong|mismatch"
    r"|impossible|incomplete|broken|kill|signal|sigterm|sigint|(?<!un)interrupt|ctrl_c|non_?finite|fail|error"
    r"|without_a"
)
FAULT_BODY = re.compile(r"pytest\.raises\((?!SystemExit\))|os\.kill\(")

#: (category, what it covers, pattern over the function name), tried in this order.
CATEGORIES = (
    (
        "signals",
        "kills and interrupts: SIGKILL, SIGINT, SIGTERM, Ctrl-C",
        r"sigkill|sigint|sigterm|signal|(?<!un)interrupt|ctrl_c|kill",
    ),
    (
        "checkpoints",
        "corrupt, truncated, missing or mismatched checkpoints; refused resumes",
        r"checkpoint|resume|safetensors",
    ),
    (
        "files",
        "malformed, truncated or missing files: datasets, archives, downloads, run folders, logs",
        r"file|npz|hdf5|archive|gzip|stream|download|hash|original|matrix|_car|folder|results"
        r"|truncat|malformed|corrupt|not_a_grid|incomplete_grid|camera|halves|overwrit",
    ),
    (
        "configs",
        "bad config values, typos and unknown names: YAML, --set, presets, options, specs",
        r"config|override|yaml|preset|option|unknown|typo|objective|backbone|family|suite"
        r"|parse|parameter|sizes|counts|ramps|scales",
    ),
)
OTHER = (
    "other",
    "bad tensors or arguments to library functions, non-finite losses, failing hooks",
)
#: Modules whose every fault case belongs to one category (checked after signals, checkpoints).
MODULES = {
    "tests/train/test_checkpoint.py": "checkpoints",
    "tests/train/test_faults.py": "checkpoints",
    "tests/data/test_files.py": "files",
    "tests/data/test_standard.py": "files",
    "tests/data/test_norb_format.py": "files",
    "tests/data/test_cars3d_format.py": "files",
    "tests/data/test_download.py": "files",
    "tests/train/test_config.py": "configs",
    "tests/train/test_configs.py": "configs",
    "tests/bench/test_preset.py": "configs",
}
NUM_EXAMPLES = 3


def collect(root: Path = ROOT) -> list[str]:
    """The suite's test ids (``path::name[params]``), as ``pytest --collect-only -q`` lists them."""
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    ids = [line for line in listing.stdout.splitlines() if "::" in line]
    if listing.returncode != 0 or not ids:
        raise RuntimeError(f"pytest --collect-only failed:\n{listing.stdout[-2000:]}")
    return ids


def function_sources(path: Path) -> dict[str, str]:
    """``name`` or ``Class::name`` -> source of every test function in the file at ``path``."""
    text = path.read_text()
    found: dict[str, str] = {}
    for node in ast.parse(text).body:
        scope = node.body if isinstance(node, ast.ClassDef) else [node]
        prefix = f"{node.name}::" if isinstance(node, ast.ClassDef) else ""
        for item in scope:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + item.name] = ast.get_source_segment(text, item) or ""
    return found


def classify(test_id: str, body: str) -> str | None:
    """The category of a fault case, or ``None`` when the case tries no fault."""
    path, _, name = test_id.partition("::")
    name = name.split("[", 1)[0]
    if not (FAULT_NAME.search(name.lower()) or FAULT_BODY.search(body)):
        return None
    patterns = {category: pattern for category, _, pattern in CATEGORIES}
    name = name.lower()
    for category in ("signals", "checkpoints"):
        if re.search(patterns[category], name):
            return category
    if path in MODULES:
        return MODULES[path]
    for category in ("files", "configs"):
        if re.search(patterns[category], name):
            return category
    return OTHER[0]


def inventory(ids: list[str], root: Path = ROOT) -> dict:
    """Counts per category: cases, distinct test functions and the functions with most cases."""
    sources: dict[str, dict[str, str]] = {}
    cases: dict[str, list[str]] = {}
    for test_id in ids:
        path, _, name = test_id.partition("::")
        if path not in sources:
            sources[path] = function_sources(root / path)
        body = sources[path].get(name.split("[", 1)[0], "")
        category = classify(test_id, body)
        if category is not None:
            cases.setdefault(category, []).append(test_id)
    rows = []
    for category, covers, _ in (*CATEGORIES, (*OTHER, "")):
        found = cases.get(category, [])
        functions = Counter(case.split("[", 1)[0] for case in found)  # in collection order
        rows.append(
            {
                "category": category,
                "covers": covers,
                "count": len(found),
                "functions": len(functions),
                "examples": [name for name, _ in functions.most_common(NUM_EXAMPLES)],
            }
        )
    total = sum(row["count"] for row in rows)
    return {"num_collected": len(ids), "num_fault_cases": total, "rows": rows}


def main() -> int:
    results = inventory(collect())
    print(f"{'category':<12} {'cases':>5} {'tests':>5}  examples")
    for row in results["rows"]:
        example = row["examples"][0] if row["examples"] else ""
        print(f"{row['category']:<12} {row['count']:>5} {row['functions']:>5}  {example}")
    print(f"{results['num_fault_cases']} fault cases of {results['num_collected']} collected")
    from benchmarks.results import record

    print(f"wrote {record('fault_inventory', results)}")
    return 0


if __name__ == "__main__":
    if not __package__:  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
