"""The README's Python snippets run, and its commands are the ones the Makefile provides."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_python_snippets():
    assert python_blocks()


def test_readme_python_snippets_run():
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", README, flags=re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
