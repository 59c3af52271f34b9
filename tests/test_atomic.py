"""Files are written whole or not at all, with the permissions the user's umask gives any file
(a temporary file is private: a dataset, a run's config or a figure renamed from one was
unreadable to the user's group)."""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest

from prodvae.atomic import atomic_write, atomic_write_text
from prodvae.data import FactorSpec
from prodvae.data.files import write_dataset
from prodvae.train import load_config
from prodvae.train.run_folder import RunFolder


@pytest.fixture
def group_readable():
    """Run under umask 027: new files rw-r----- (0o640)."""
    before = os.umask(0o027)
    yield 0o640
    os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_take_the_umask_not_the_temporary_files_privacy(tmp_path, group_readable):
    assert mode(atomic_write_text(tmp_path / "a.json", "{}\n")) == group_readable
    spec = (FactorSpec("turn", "loop", (0.0, math.pi), period=2 * math.pi),)
    images = np.zeros((2, 4, 4, 1), np.uint8)
    for name in ("d.npz", "d.h5"):
        path = write_dataset(
            tmp_path / name, spec, 2, (1, 4, 4), iter([(images, np.c_[[0.0, 1.0]])])
        )
        assert mode(path) == group_readable, name
    run = RunFolder(tmp_path / "run")
    run.create(load_config(None, ["data.name=torus"]))
    assert sorted(p.name for p in run.path.iterdir() if p.is_file()) == ["config.yaml", "meta.json"]
    for path in run.path.iterdir():
        if path.is_file():
            assert mode(path) == group_readable, path.name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_the_umask_is_read_without_changing_it(group_readable):
    from prodvae.atomic import umask

    assert umask() == 0o027
    assert os.umask(0o027) == 0o027  # still in force


def test_the_folder_is_made_if_missing(tmp_path):
    path = atomic_write_text(tmp_path / "a" / "b" / "c.txt", "x")
    assert path.read_text() == "x"


def test_a_temporary_left_by_a_killed_write_is_no_figure(tmp_path):
    from prodvae.viz.report import figure_files

    folder = tmp_path / "figures"
    folder.mkdir()
    names = []

    def killed(tmp):  # what a process killed mid-write leaves: its temporary
        names.append(tmp.name)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(folder / "extra.png", killed)
    assert names[0].startswith(".extra.png.") and names[0].endswith(".tmp")
    for name in ("traversals.png", "extra.png", names[0]):
        (folder / name).write_bytes(b"png")
    assert [p.name for p in figure_files(tmp_path)] == ["traversals.png", "extra.png"]
