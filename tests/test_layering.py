"""Imports point one way: spaces ← models ← objectives ← train ← bench ← commands ← cli
(DESIGN.md), with ``discover`` under ``train``; ``errors``, ``registry`` and ``atomic`` sit
below everything, so any layer may raise its errors, register its named entries and write its
files whole or not at all."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "prodvae"

#: Layers below ``commands``, in the order they may import each other.
LIBRARY = ("spaces", "data", "models", "objectives", "metrics", "viz", "discover", "train", "bench")

#: Modules that every layer may import; they import nothing from the package.
FOUNDATION = ("errors", "registry", "atomic")

# What each layer (a folder, or a module at the top of the package) may import from inside the
# package besides itself and the foundation.
ALLOWED = {
    "errors": set(),
    "registry": set(),
    "atomic": set(),
    "spaces": set(),
    "data": {"spaces"},
    "models": {"spaces"},
    "objectives": {"spaces", "data", "models"},
    "metrics": {"spaces", "data"},
    "viz": {"spaces", "data"},
    "discover": {"spaces", "data", "viz"},
    "train": {"spaces", "data", "models", "objectives", "metrics", "viz", "discover"},
    "bench": {"spaces", "data", "models", "objectives", "metrics", "viz", "discover", "train"},
    "commands": set(LIBRARY),
    "cli": {*LIBRARY, "commands"},
    "__main__": {"cli"},
}


def internal_imports(path: Path) -> set[str]:
    """The layers of ``prodvae`` that the module at ``path`` imports."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "prodvae":  # from prodvae import commands
                names = [f"prodvae.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "prodvae" and len(parts) > 1:
                layers.add(parts[1])
    return layers - {"__version__"}


def modules(layer: str) -> list[Path]:
    folder = PACKAGE / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]


def test_every_module_of_the_package_is_in_a_layer():
    tops = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert tops - {"__init__"} == set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer):
    for path in modules(layer):
        used = internal_imports(path) - {layer, *FOUNDATION}
        assert used <= ALLOWED[layer], (
            f"{path.relative_to(PACKAGE)} imports {used - ALLOWED[layer]}"
        )


@pytest.mark.parametrize("module", FOUNDATION)
def test_the_foundation_imports_nothing_from_the_package(module):
    assert internal_imports(PACKAGE / f"{module}.py") == set()


def test_only_the_cli_imports_commands_and_nothing_imports_the_cli():
    for layer in ALLOWED:
        for path in modules(layer):
            used = internal_imports(path) - {layer}
            if layer != "cli":
                assert "commands" not in used, path.relative_to(PACKAGE)
            if layer != "__main__":
                assert "cli" not in used, path.relative_to(PACKAGE)


def test_internal_imports_see_every_form(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import prodvae\nimport prodvae.train\nfrom prodvae import commands, __version__\n"
        "from prodvae.cli import UserError\nfrom . import sibling\n"
    )
    assert internal_imports(source) == {"train", "commands", "cli"}


def test_data_uses_only_the_kind_vocabulary_of_spaces():
    for path in (PACKAGE / "data").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "prodvae.spaces"
            ):
                assert node.module == "prodvae.spaces.kinds", path
