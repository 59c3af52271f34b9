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


def readme_commands():
    """Every ``prodvae ...`` line of the README's bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("prodvae ")]


def test_readme_cli_commands_parse():
    """Each command line parses with the real parser (each is also run by its own CLI test)."""
    import shlex

    from prodvae.cli import build_parser

    commands = readme_commands()
    assert {c.split()[1] for c in commands} >= {"train", "eval", "viz"}
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert callable(args.func), command
