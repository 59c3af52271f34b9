"""``model.space: discover``: each factor's kind read from the data before training, the space
written into the run, the report, and resuming."""

import json
import logging
from pathlib import Path

import pytest
import yaml
from tests.discover.test_discover import write_propellers, write_tagged_propellers

from prodvae.discover.report import Discovery, Finding, discover_dataset
from prodvae.spaces import ProductSpace
from prodvae.train import discovery as discovery_module
from prodvae.train import load_config, load_run, train
from prodvae.train.build import build_dataset, build_space
from prodvae.train.discovery import discover_space, discovered_space

TINY = [
    "model.space=discover",
    "model.options={width: 4, hidden_dim: 16}",
    "train.steps=6",
    "train.batch_size=8",
    "train.progress=false",
    "train.num_workers=0",
    "eval.at_end=false",
    "run.tensorboard=false",
    "run.name=found",
]
DIAL = ["data.name=torus", "data.options={image_size: 32}"]


def propellers(tmp_path: Path) -> list[str]:
    """A file whose ``angle`` is declared a segment but turns a wedge once round (a loop), at
    two brightnesses (a segment of two values)."""
    path = write_propellers(tmp_path / "p.npz", 1, 1, declared_kind="segment")
    return ["data.name=file", f"data.path={path}"]


def test_the_space_is_one_factor_per_factor_read_in_the_datasets_order(tmp_path):
    from prodvae.data import from_file, get_dataset

    dial = get_dataset("torus", image_size=32, factor_sizes=(40, 1))
    space, kinds = discovered_space(discover_dataset(dial, num_bases=4, samples=16))
    assert space == ProductSpace.parse("loop") and kinds == {"long_hand": "loop"}
    # the kind read, not the one declared: the wedge's turn is a loop
    data = from_file(propellers(tmp_path)[1].removeprefix("data.path="))
    space, kinds = discovered_space(discover_dataset(data, num_bases=4))
    assert space == ProductSpace.parse("loop * segment")
    assert kinds == {"angle": "loop", "brightness": "segment"}
    # paths that mostly disagree with each other are no reading: the declared kind stays
    unsure = Finding("turn", "loop", "segment", 1, 0.4, size=36)
    sure = Finding("hue", "segment", "loop", 1, 0.5, size=12)
    space, kinds = discovered_space(Discovery((unsure, sure)))
    assert space == ProductSpace.parse("loop^2") and kinds == {"turn": "loop", "hue": "loop"}
    with pytest.raises(ValueError, match="no factor that varies"):
        discovered_space(Discovery(()))


def test_build_space_says_discover_is_the_trainers():
    config = load_config(overrides=TINY + DIAL)
    from prodvae.data import get_dataset

    with pytest.raises(ValueError, match="model.space=discover is found by the trainer"):
        build_space(config.model, get_dataset("torus", image_size=32))


def test_a_run_trains_on_the_kinds_its_data_trace_and_resumes(tmp_path, monkeypatch, caplog):
    calls = []
    read = discovery_module.discover_dataset

    def counted(dataset, **options):
        calls.append(options)
        return read(dataset, **options)

    monkeypatch.setattr(discovery_module, "discover_dataset", counted)
    config = load_config(overrides=TINY + propellers(tmp_path) + [f"run.dir={tmp_path}"])
    run = tmp_path / "found"
    with caplog.at_level(logging.WARNING, logger="prodvae.train.discovery"):
        assert train(config, run).status == "finished"
    (warning,) = [r.getMessage() for r in caplog.records if "discover" in r.getMessage()]
    assert "'angle' is declared a segment" in warning and "loop" in warning
    assert calls == [{"seed": config.train.seed}]
    written = "loop(radius=3.0, width=0.5) * segment(half_length=2.0, width=0.25)"
    record = json.loads((run / "discovery.json").read_text())
    assert record["space"] == written and record["read_from"] == "data"
    assert record["factors"] == {"angle": "loop", "brightness": "segment"}
    # the reading as read: two brightnesses are two points as much as a segment's two ends
    # (confidence 0), so that factor keeps its declared kind
    assert [
        tuple(f[k] for k in ("name", "declared", "found", "confidence")) for f in record["findings"]
    ] == [("angle", "segment", "loop", 1.0), ("brightness", "segment", "points", 0.0)]
    figures = sorted(p.name for p in (run / "discovery" / "figures").iterdir())
    assert figures == ["factor-angle.png", "factor-brightness.png"]
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["space"] == written
    loaded = load_run(run)
    assert loaded.step == 6 and loaded.space == ProductSpace.parse(written)
    from prodvae.viz.report import render_report

    page = render_report(run)
    assert "<h2>Discovery</h2>" in page and f"found {written}" in page
    assert "<td>angle</td><td>segment</td><td>loop</td>" in page
    assert "alt='factor-angle.png'" in page
    # resuming reads the space from the run; a run stopped after its reading reuses it
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert train(load_config(base=saved, overrides=["train.steps=8"]), run, resume=True).step == 8
    (run / "config.yaml").unlink()
    for folder in ("checkpoints", "figures"):
        for path in sorted((run / folder).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    assert train(config, run).status == "finished"
    assert len(calls) == 1  # not read a second time


def test_a_process_that_does_not_record_reads_the_same_space(tmp_path):
    config = load_config(overrides=TINY + propellers(tmp_path) + [f"run.dir={tmp_path}"])
    data = build_dataset(config.data)
    found = discover_space(config, tmp_path / "found", data, record=False).model.space
    assert not (tmp_path / "found").exists()  # neither the record nor the figures
    assert discover_space(config, tmp_path / "found", data).model.space == found
    assert ProductSpace.parse(found) == ProductSpace.parse("loop * segment")
    record = json.loads((tmp_path / "found" / "discovery.json").read_text())
    assert record["space"] == found
    assert record["read"] == {
        "data": {"name": "file", "path": config.data.path, "options": {}},
        "seed": config.train.seed,
    }
    # a record of the same data and seed is reused as it stands
    recorded = tmp_path / "found" / "discovery.json"
    recorded.write_text(json.dumps({**record, "space": "loop^2"}))
    assert discover_space(config, tmp_path / "found", data).model.space == "loop^2"


@pytest.mark.parametrize("before", ["another seed", "other data", "not recorded"])
def test_a_record_of_other_data_or_seed_is_read_again(tmp_path, caplog, before):
    config = load_config(overrides=TINY + propellers(tmp_path) + [f"run.dir={tmp_path}"])
    data = build_dataset(config.data)
    recorded = tmp_path / "found" / "discovery.json"
    discover_space(config, tmp_path / "found", data)
    record = json.loads(recorded.read_text())
    read = {
        "another seed": {**record["read"], "seed": config.train.seed + 1},
        "other data": {**record["read"], "data": {**record["read"]["data"], "name": "torus"}},
        "not recorded": None,
    }[before]
    stale = {**record, "space": "points(3)", "read": read}
    recorded.write_text(json.dumps({k: v for k, v in stale.items() if v is not None}))
    with caplog.at_level(logging.WARNING, logger="prodvae.train.discovery"):
        found = discover_space(config, tmp_path / "found", data).model.space
    assert ProductSpace.parse(found) == ProductSpace.parse("loop * segment")
    assert json.loads(recorded.read_text()) == record  # the record is the new reading's
    (warning,) = [r.getMessage() for r in caplog.records if "again" in r.getMessage()]
    assert "read from other data or another train.seed" in warning and str(recorded) in warning


def test_a_factor_the_reading_cannot_trace_keeps_its_declared_kind(tmp_path, caplog):
    path = write_tagged_propellers(tmp_path / "t.npz")
    overrides = TINY + ["data.name=file", f"data.path={path}", f"run.dir={tmp_path}"]
    config = load_config(overrides=overrides)
    with caplog.at_level(logging.WARNING, logger="prodvae.train.discovery"):
        found = discover_space(config, tmp_path / "found", build_dataset(config.data)).model.space
    assert ProductSpace.parse(found) == ProductSpace.parse("loop * segment * points(3)")
    (warning,) = [r.getMessage() for r in caplog.records if "'tag'" in r.getMessage()]
    assert "images never change" in warning and "keeps its declared kind" in warning
    record = json.loads((tmp_path / "found" / "discovery.json").read_text())
    assert record["factors"] == {"angle": "loop", "brightness": "segment", "tag": "points"}
    assert "never change" in record["findings"][2]["unread"]
    figures = sorted(p.name for p in (tmp_path / "found" / "discovery" / "figures").iterdir())
    assert figures == ["factor-angle.png", "factor-brightness.png"]


def test_the_report_marks_a_factor_not_read(tmp_path):
    from prodvae.viz.report import _discovery_html

    path = write_tagged_propellers(tmp_path / "t.npz")
    config = load_config(overrides=TINY + ["data.name=file", f"data.path={path}"])
    discover_space(config, tmp_path / "run", build_dataset(config.data))
    page = _discovery_html(tmp_path / "run")
    assert "<td>tag</td><td>points</td><td>not read</td>" in page
    assert "<td>angle</td><td>loop</td><td>loop</td>" in page
