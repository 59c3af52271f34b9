"""``prodvae data render | check | download`` in-process."""

import h5py
import numpy as np
import pytest

from prodvae.cli import main
from prodvae.data import download as download_module
from prodvae.data import from_file, get_dataset


@pytest.mark.parametrize("suffix", ["h5", "npz"])
def test_render_then_check(tmp_path, capsys, suffix):
    out = tmp_path / f"torus.{suffix}"
    assert (
        main(
            ["data", "render", "torus", "--out", str(out), "--size", "16", "--factor-sizes", "4,3"]
        )
        == 0
    )
    ds = from_file(out)
    assert ds.factor_sizes == (4, 3) and ds.image_shape == (3, 16, 16)
    torus = get_dataset("torus", image_size=16, factor_sizes=(4, 3))
    assert np.array_equal(
        ds.images_at(np.arange(12)).numpy(), torus.images_at(np.arange(12)).numpy()
    )
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "valid" in printed and "long_hand" in printed and "loop (period 6.28319)" in printed
    assert "grid: yes (4 x 3 = 12)" in printed


def test_check_reports_a_malformed_file(tmp_path, capsys):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as handle:
        handle["images"] = np.zeros((2, 4, 4, 3), np.uint8)
        handle["factors"] = np.array([[0.0], [np.nan]])
        handle.attrs["factor_spec"] = '[{"name": "a", "kind": "segment"}]'
    assert main(["data", "check", str(path)]) == 2
    error = capsys.readouterr().err
    assert "NaN" in error and len(error.strip().splitlines()) == 1


def test_check_missing_file(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nope.npz")]) == 2
    assert "no dataset file" in capsys.readouterr().err


def test_render_bad_sizes_is_a_user_error(tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["data", "render", "sprites", "--out", str(out), "--factor-sizes", "1,2"]) == 2
    assert "factor_sizes" in capsys.readouterr().err and not out.exists()


def test_render_keeps_an_existing_file_on_failure(tmp_path, capsys):
    out = tmp_path / "keep.h5"
    out.write_bytes(b"precious")
    assert main(["data", "render", "torus", "--out", str(out), "--size", "-3"]) == 2
    assert out.read_bytes() == b"precious"


def test_download_offline_message(tmp_path, capsys, monkeypatch):
    def offline(url, destination, timeout=60.0):
        raise OSError("network is unreachable")

    monkeypatch.setattr(download_module, "fetch_url", offline)
    assert main(["data", "download", "dsprites", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "offline" in error and str(tmp_path) in error


def test_download_uses_the_environment_data_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        download_module, "fetch_url", lambda url, dest, timeout=60.0: dest.write_bytes(b"x")
    )
    monkeypatch.setenv("PRODVAE_DATA", str(tmp_path))
    assert main(["data", "download", "mpi3d_toy"]) == 0
    assert (tmp_path / "mpi3d_toy.npz").read_bytes() == b"x"
    assert "SHA-256" in capsys.readouterr().out


def test_check_a_truncated_file(tmp_path, capsys):
    out = tmp_path / "t.h5"
    assert (
        main(["data", "render", "torus", "--out", str(out), "--size", "8", "--factor-sizes", "3,3"])
        == 0
    )
    out.write_bytes(out.read_bytes()[:-200])
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 2
    assert "truncated" in capsys.readouterr().err


def test_check_reports_a_loops_symmetry(tmp_path, capsys):
    """``data check`` says how many times a loop's images repeat, also when that hangs on
    another factor (as dSprites' orientation on its shape)."""
    path = tmp_path / "turns.npz"
    shape, turn = np.meshgrid([0.0, 1.0], np.arange(8) * np.pi / 4, indexing="ij")
    spec = (
        '[{"name": "shape", "kind": "points"}, {"name": "turn", "kind": "loop", "period": '
        '6.283185307179586, "symmetry_given": ["shape", [4, 1]]}, {"name": "spin", "kind": '
        '"loop", "period": 1.0, "symmetry": 2}]'
    )
    factors = np.stack([shape.ravel(), turn.ravel(), np.tile([0.0, 0.5], 8)], axis=1)
    images = np.zeros((16, 8, 8, 3), np.uint8)
    np.savez(path, images=images, factors=factors, factor_spec=np.array(spec))
    assert main(["data", "check", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "8 values, repeating 4/1 times a period by shape" in printed
    assert "2 values, repeating 2 times a period" in printed
