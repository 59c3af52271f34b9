"""``download`` never touches the network here: ``fetch_url`` is replaced."""

import hashlib
import shutil
from dataclasses import replace

import numpy as np
import pytest

from prodvae.cli import main
from prodvae.data import download as module
from prodvae.data import get_dataset
from prodvae.data.download import SOURCES, Source, download, resolve_data_dir, sha256_of
from prodvae.data.norb_format import smallnorb_filenames

from .test_cars3d_format import write_fake_cars3d
from .test_norb_format import write_fake_smallnorb

PAYLOAD = b"fake dataset bytes"
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def fake_fetch(monkeypatch):
    calls = []

    def fetch(url, destination, timeout=60.0):
        calls.append(url)
        destination.write_bytes(PAYLOAD)

    monkeypatch.setattr(module, "fetch_url", fetch)
    return calls


def serve_files(monkeypatch, file_for_url):
    """Replace ``fetch_url`` by a copy of ``file_for_url(url)``; returns the fetched URLs."""
    fetched = []

    def fetch(url, destination, timeout=60.0):
        fetched.append(url)
        shutil.copyfile(file_for_url(url), destination)

    monkeypatch.setattr(module, "fetch_url", fetch)
    return fetched


@pytest.fixture
def offline(monkeypatch):
    def fetch(url, destination, timeout=60.0):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(module, "fetch_url", fetch)


def test_download_reports_the_computed_hash(tmp_path, fake_fetch):
    assert SOURCES["mpi3d_toy"].sha256 is None  # no published hash recorded for it
    result = download("mpi3d_toy", tmp_path / "new")
    assert result.path.read_bytes() == PAYLOAD and result.sha256 == DIGEST
    assert not result.verified and DIGEST in result.message
    assert fake_fetch == [SOURCES["mpi3d_toy"].url]


def test_dsprites_is_the_hdf5_copy_with_its_published_hash():
    source = SOURCES["dsprites"]
    assert source.filename == "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
    assert source.url.endswith("/raw/master/" + source.filename)
    assert source.sha256 == "729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb"
    assert source.also_accepted == ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",)


def test_dsprites_download_is_verified(tmp_path, fake_fetch, monkeypatch):
    source = SOURCES["dsprites"]
    monkeypatch.setitem(SOURCES, "dsprites", replace(source, sha256=DIGEST))
    result = download("dsprites", tmp_path)
    assert result.verified and "verified" in result.message
    assert result.path == tmp_path / source.filename and result.path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.filename]


def test_dsprites_download_with_another_hash_is_refused(tmp_path, fake_fetch):
    with pytest.raises(ValueError, match=f"SHA-256 of .* is {DIGEST}, expected 729fa22e"):
        download("dsprites", tmp_path)
    assert fake_fetch == [SOURCES["dsprites"].url]
    assert list(tmp_path.iterdir()) == []  # neither the file nor its partial copy


def test_a_local_dsprites_copy_that_does_not_match_is_reported_and_kept(tmp_path, fake_fetch):
    local = tmp_path / SOURCES["dsprites"].filename
    local.write_bytes(b"local copy")
    with pytest.raises(ValueError, match="SHA-256"):
        download("dsprites", tmp_path)
    assert fake_fetch == [] and local.read_bytes() == b"local copy"


def test_dsprites_offline_message_names_both_copies(tmp_path, offline):
    with pytest.raises(ValueError, match=r"offline.*64x64\.hdf5 at .* or .*64x64\.npz in the same"):
        download("dsprites", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_does_not_match_the_recorded_hash_is_refused(tmp_path, fake_fetch):
    assert SOURCES["shapes3d"].sha256 is not None
    with pytest.raises(ValueError, match="SHA-256"):
        download("shapes3d", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_verifies_a_recorded_hash(tmp_path, fake_fetch, monkeypatch):
    monkeypatch.setitem(SOURCES, "shapes3d", Source("3dshapes.h5", "https://x/3dshapes.h5", DIGEST))
    assert download("shapes3d", tmp_path).verified
    monkeypatch.setitem(SOURCES, "dsprites", Source("d.npz", "https://x/d.npz", "0" * 64))
    with pytest.raises(ValueError, match="SHA-256"):
        download("dsprites", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3dshapes.h5"]  # nothing half-written


def test_existing_file_is_kept_and_checked(tmp_path, fake_fetch):
    (tmp_path / SOURCES["mpi3d_toy"].filename).write_bytes(b"local copy")
    result = download("mpi3d_toy", tmp_path)
    assert fake_fetch == [] and "found" in result.message
    assert result.sha256 == hashlib.sha256(b"local copy").hexdigest()


def test_offline_message_says_where_to_put_a_copy(tmp_path, offline):
    with pytest.raises(ValueError, match=r"offline.*3dshapes\.h5 at .*PRODVAE_DATA"):
        download("shapes3d", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_datasets_without_a_direct_link_explain_themselves(tmp_path, fake_fetch):
    with pytest.raises(ValueError, match="Google Drive.*mpi3d_complex.npz"):
        download("mpi3d_complex", tmp_path)
    assert fake_fetch == []


def test_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        download("mnist", tmp_path)


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("PRODVAE_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir("elsewhere").name == "elsewhere"
    monkeypatch.delenv("PRODVAE_DATA")
    assert str(resolve_data_dir(None)) == "data"


def test_no_invented_hashes():
    for source in SOURCES.values():
        assert source.sha256 is None or len(source.sha256) == 64


# --- smallNORB: six originals, each verified, then converted to smallnorb.npz -----------
NORB_PAGE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"


def test_smallnorb_records_the_six_published_originals():
    source = SOURCES["smallnorb"]
    assert source.filename == "smallnorb.npz" and source.url is None
    names = [original.filename for original in source.originals]
    assert sorted(names) == sorted(smallnorb_filenames())  # the files the conversion reads
    assert all(original.url == NORB_PAGE + original.filename for original in source.originals)
    assert len({original.sha256 for original in source.originals}) == 6
    assert all(len(original.sha256) == 64 for original in source.originals)
    assert sum(original.size for original in source.originals) == 262_778_180


@pytest.fixture
def norb_server(tmp_path, monkeypatch):
    """Fake originals served by a replaced ``fetch_url``, with their hashes recorded in place
    of the published ones; returns the list of fetched URLs."""
    served = tmp_path / "server"
    write_fake_smallnorb(served)
    source = SOURCES["smallnorb"]
    originals = tuple(
        replace(original, sha256=sha256_of(served / original.filename))
        for original in source.originals
    )
    monkeypatch.setitem(SOURCES, "smallnorb", replace(source, originals=originals))
    return serve_files(monkeypatch, lambda url: served / url.removeprefix(NORB_PAGE))


def test_smallnorb_download_verifies_then_converts(tmp_path, norb_server):
    folder = tmp_path / "data"
    lines = []
    result = download("smallnorb", folder, progress=lines.append)
    assert norb_server == [original.url for original in SOURCES["smallnorb"].originals]
    assert result.path == folder / "smallnorb.npz" and result.verified
    assert [checked.verb for checked in result.originals] == ["saved"] * 6
    for checked in result.originals:
        assert checked.sha256 == sha256_of(tmp_path / "server" / checked.path.name)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*smallnorb_filenames(), "smallnorb.npz"]
    )  # no .part or temporary file left
    assert len(lines) == 7 and "(131,896,188 bytes)" in lines[0] and "converting" in lines[6]
    assert result.message.count("(SHA-256 verified)") == 6 and "converted" in result.message
    ds = get_dataset("smallnorb", data_dir=folder)
    assert len(ds) == 48 and ds.factor_sizes == (2, 2, 2, 3, 2)


def test_smallnorb_originals_copied_by_hand_are_verified_not_fetched(tmp_path, norb_server):
    shutil.copytree(tmp_path / "server", tmp_path / "data")
    result = download("smallnorb", tmp_path / "data")
    assert norb_server == [] and [c.verb for c in result.originals] == ["found"] * 6
    assert len(get_dataset("smallnorb", data_dir=tmp_path / "data")) == 48


def test_smallnorb_fetches_only_the_missing_originals(tmp_path, norb_server):
    folder = tmp_path / "data"
    folder.mkdir()
    present = smallnorb_filenames()[:2]
    for name in present:
        shutil.copy(tmp_path / "server" / name, folder / name)
    result = download("smallnorb", folder)
    assert sorted(url.removeprefix(NORB_PAGE) for url in norb_server) == sorted(
        smallnorb_filenames()[2:]
    )
    verbs = {checked.path.name: checked.verb for checked in result.originals}
    assert [verbs[name] for name in present] == ["found", "found"]
    assert (folder / "smallnorb.npz").is_file()


def test_an_existing_smallnorb_npz_is_kept(tmp_path, norb_server):
    (tmp_path / "smallnorb.npz").write_bytes(b"converted earlier")
    result = download("smallnorb", tmp_path)
    assert norb_server == [] and "found" in result.message and "kept" in result.message
    assert result.sha256 is None and result.originals == ()
    assert (tmp_path / "smallnorb.npz").read_bytes() == b"converted earlier"


def test_a_smallnorb_original_with_another_hash_leaves_no_file(tmp_path, norb_server, monkeypatch):
    """The fake files do not match a recorded hash: refused, and nothing of it is kept."""
    source = SOURCES["smallnorb"]
    bad = source.originals[2]
    originals = (*source.originals[:2], replace(bad, sha256="0" * 64), *source.originals[3:])
    monkeypatch.setitem(SOURCES, "smallnorb", replace(source, originals=originals))
    folder = tmp_path / "data"
    with pytest.raises(
        ValueError,
        match=rf"SHA-256 of the download of {NORB_PAGE}{bad.filename} is .*, "
        r"expected 0{64} \([\d,]+ bytes; the published file has 71,052\); it was deleted",
    ):
        download("smallnorb", folder)
    assert len(norb_server) == 3  # stopped at the mismatch
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(smallnorb_filenames()[:2])  # only the two verified before it
    assert not (folder / "smallnorb.npz").exists()


def test_the_published_hashes_refuse_fake_originals(tmp_path, monkeypatch):
    served = tmp_path / "server"
    write_fake_smallnorb(served)
    monkeypatch.setattr(
        module,
        "fetch_url",
        lambda url, dest, timeout=60.0: shutil.copyfile(served / url.removeprefix(NORB_PAGE), dest),
    )
    first = SOURCES["smallnorb"].originals[0]
    published = rf"expected {first.sha256} \([\d,]+ bytes; the published file has 131,896,188\)"
    with pytest.raises(ValueError, match=published):
        download("smallnorb", tmp_path / "data")
    assert list((tmp_path / "data").iterdir()) == []


def test_a_local_smallnorb_original_that_does_not_match_is_kept(tmp_path, norb_server):
    folder = tmp_path / "data"
    folder.mkdir()
    local = folder / smallnorb_filenames()[4]
    local.write_bytes(b"damaged copy")
    with pytest.raises(ValueError, match=f"SHA-256 of {local} is"):
        download("smallnorb", folder)
    assert norb_server == []  # local copies are checked before any fetch
    assert sorted(folder.iterdir()) == [local] and local.read_bytes() == b"damaged copy"


def test_smallnorb_offline_names_the_six_files(tmp_path, offline):
    with pytest.raises(ValueError, match=r"offline, put the 6 files smallnorb-5x46789.* in ") as e:
        download("smallnorb", tmp_path)
    assert all(name in str(e.value) for name in smallnorb_filenames())
    assert "without fetching" in str(e.value) and list(tmp_path.iterdir()) == []


def test_missing_smallnorb_mentions_its_originals(tmp_path):
    with pytest.raises(FileNotFoundError, match="6 original files there and run the download"):
        get_dataset("smallnorb", data_dir=tmp_path)


def test_smallnorb_download_command(tmp_path, norb_server, capsys):
    assert main(["data", "download", "smallnorb", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("smallnorb: fetching https://cs.nyu.edu/") == 6
    assert out.count("(SHA-256 verified)") == 6 and "converted them to" in out
    with np.load(tmp_path / "smallnorb.npz") as archive:
        assert archive["images"].shape == (48, 8, 6) and archive["labels"].shape == (48, 5)
    assert main(["data", "download", "smallnorb", "--data-dir", str(tmp_path)]) == 0
    assert "found" in capsys.readouterr().out and len(norb_server) == 6


# --- Cars3D: one archive, no published hash, converted to cars3d.npz --------------------
CARS3D_URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
CARS3D_ARCHIVE = "nips2015-analogy-data.tar.gz"


def test_cars3d_records_the_published_archive_without_a_hash():
    source = SOURCES["cars3d"]
    assert source.filename == "cars3d.npz" and source.url is None
    assert [(o.filename, o.url) for o in source.originals] == [(CARS3D_ARCHIVE, CARS3D_URL)]
    assert source.originals[0].sha256 is None  # none is published
    assert source.convert is not None


@pytest.fixture
def cars_server(tmp_path, monkeypatch):
    """A fake archive served by a replaced ``fetch_url``; returns the list of fetched URLs."""
    served = tmp_path / "server" / CARS3D_ARCHIVE
    served.parent.mkdir()
    write_fake_cars3d(served)
    return serve_files(monkeypatch, lambda url: served)


def test_cars3d_download_reports_the_hash_then_converts(tmp_path, cars_server):
    folder = tmp_path / "data"
    lines = []
    result = download("cars3d", folder, progress=lines.append)
    digest = sha256_of(tmp_path / "server" / CARS3D_ARCHIVE)
    assert cars_server == [CARS3D_URL] and lines == [
        f"cars3d: fetching {CARS3D_URL}",
        f"cars3d: converting the originals to {folder / 'cars3d.npz'}",
    ]
    assert result.path == folder / "cars3d.npz" and not result.verified
    assert [(c.verb, c.sha256, c.verified) for c in result.originals] == [("saved", digest, False)]
    assert f"SHA-256 {digest} (no recorded hash to compare; record it)" in result.message
    assert "SHA-256 verified" not in result.message and "converted it to" in result.message
    assert sorted(p.name for p in folder.iterdir()) == ["cars3d.npz", CARS3D_ARCHIVE]
    ds = get_dataset("cars3d", data_dir=folder)
    assert ds.factor_sizes == (4, 24, 3) and ds.image_shape == (3, 64, 64)  # the default size


def test_a_cars3d_archive_in_the_folder_is_converted_without_fetching(tmp_path, cars_server):
    folder = tmp_path / "data"
    shutil.copytree(tmp_path / "server", folder)
    result = download("cars3d", folder)
    assert cars_server == [] and [c.verb for c in result.originals] == ["found"]
    assert len(get_dataset("cars3d", data_dir=folder)) == 288


def test_an_existing_cars3d_npz_is_kept(tmp_path, cars_server):
    (tmp_path / "cars3d.npz").write_bytes(b"converted earlier")
    result = download("cars3d", tmp_path)
    assert cars_server == [] and "kept" in result.message and result.originals == ()
    assert (tmp_path / "cars3d.npz").read_bytes() == b"converted earlier"


def test_a_damaged_cars3d_download_says_to_fetch_it_again(tmp_path, fake_fetch):
    """``fake_fetch`` serves bytes that are no archive: no hash can refuse them, so the
    conversion does, naming the file to delete; no npz is written."""
    with pytest.raises(
        ValueError,
        match=r"not a readable tar.gz archive .*No SHA-256 is recorded for "
        rf"{CARS3D_ARCHIVE}: .* delete it and run this again",
    ):
        download("cars3d", tmp_path)
    assert fake_fetch == [CARS3D_URL]
    assert sorted(p.name for p in tmp_path.iterdir()) == [CARS3D_ARCHIVE]


def test_cars3d_offline_names_the_archive(tmp_path, offline):
    with pytest.raises(ValueError, match=rf"offline, put the file {CARS3D_ARCHIVE} in ") as e:
        download("cars3d", tmp_path)
    assert "converts it without fetching" in str(e.value) and list(tmp_path.iterdir()) == []


def test_missing_cars3d_mentions_its_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"original file {CARS3D_ARCHIVE} there"):
        get_dataset("cars3d", data_dir=tmp_path)


def test_cars3d_download_command(tmp_path, cars_server, capsys):
    assert main(["data", "download", "cars3d", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"cars3d: fetching {CARS3D_URL}" in out and "no recorded hash" in out
    assert sha256_of(tmp_path / CARS3D_ARCHIVE) in out
    with np.load(tmp_path / "cars3d.npz") as archive:
        assert archive["images"].shape == (288, 64, 64, 3) and archive["labels"].shape == (288, 3)
    assert main(["data", "download", "cars3d", "--data-dir", str(tmp_path)]) == 0
    assert "kept" in capsys.readouterr().out and len(cars_server) == 1
