"""The ``prodvae`` entry point."""

import subprocess
import sys

import pytest

import prodvae
from prodvae.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert prodvae.__version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: prodvae" in capsys.readouterr().out


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "prodvae", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "usage: prodvae" in result.stdout
