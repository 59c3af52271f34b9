"""Imports point one way: spaces ← models ← objectives ← train ← bench ← cli (DESIGN.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "prodvae"

# What each layer may import from inside the package (besides itself).
ALLOWED = {
    "spaces": set(),
    "data": {"spaces"},
    "models": {"spaces"},
    "objectives": {"spaces", "models"},
    "metrics": {"spaces", "data"},
    "viz": {"spaces", "data"},
    "train": {"spaces", "data", "models", "objectives", "metrics", "viz"},
    "bench": {"spaces", "data", "models", "objectives", "metrics", "viz", "train"},
}


def internal_imports(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "prodvae" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        used = internal_imports(path) - {layer}
        assert used <= ALLOWED[layer], (
            f"{path.relative_to(PACKAGE)} imports {used - ALLOWED[layer]}"
        )


def test_data_uses_only_the_kind_vocabulary_of_spaces():
    for path in (PACKAGE / "data").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "prodvae.spaces"
            ):
                assert node.module == "prodvae.spaces.kinds", path
