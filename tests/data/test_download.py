"""``download`` never touches the network here: ``fetch_url`` is replaced."""

import hashlib
from dataclasses import replace

import pytest

from prodvae.data import download as module
from prodvae.data.download import SOURCES, Source, download, resolve_data_dir

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
    with pytest.raises(ValueError, match="cars3d.npz"):
        download("cars3d", tmp_path)
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
