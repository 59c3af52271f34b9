"""``model.space: discover``: read each factor's kind from the data, then train on that space.

Before the run proper, every varying factor of the run's dataset is read model-free
(:func:`prodvae.discover.report.discover_dataset`, what ``prodvae discover DATA`` prints):
the factor is varied alone from :data:`~prodvae.discover.report.BASES` base points (a renderer
also between its grid values; a file on its rows) and the persistent homology of the path its
images trace says points, a segment or a loop. The space is one latent factor per varying
factor, of the kind read (sized as ``model.space: auto`` sizes it), in the dataset's factor
order; a factor read otherwise than it is declared is named in the log, and one the reading
cannot tell (two values, or paths that disagree with each other) keeps its declared kind,
as does one it cannot read at all (no rows that share the others take two of its values, or
its images never change), with a warning.

The kinds are read from the images, not from a model trained first: a Euclidean model's codes
fold or tear a loop (the project's premise), and a Euclidean Ada-GVAE scout read so --
this module's first design -- found the dial's long hand a segment in three of four seeds
and sprites' hue a segment in every seed tried (``benchmarks/README.md``), where the images
trace a loop in every seed. The reading takes seconds where the scout took a third of the
run's steps. (A trained model's own codes are read by ``prodvae discover RUN_DIR``.)

``<run>/discovery.json`` records the space and each factor's reading, and
``<run>/discovery/figures/`` each factor's persistence diagram and path
(``factor-<name>.png``); the run's ``config.yaml`` holds the space found, so the run loads and
resumes as any other. The reading depends on the data and ``train.seed`` only, so every
process of a torchrun run reads the same space; the main one records it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from prodvae.atomic import atomic_write_text
from prodvae.data import GroundTruthDataset
from prodvae.discover.plot import plot_finding
from prodvae.discover.report import Discovery, discover_dataset
from prodvae.spaces import ProductSpace
from prodvae.train.config import Config

log = logging.getLogger(__name__)

RECORD = "discovery.json"


def discovered_space(discovery: Discovery) -> tuple[ProductSpace, dict[str, str]]:
    """One latent factor per factor read, in the dataset's order, of its
    :attr:`~prodvae.discover.report.Finding.proposed` kind: the kind read where the reading is
    sure (:data:`~prodvae.discover.report.WARN_CONFIDENCE`, the bar at which a disagreement is
    warned of), the declared one where not (two values are two points and the two ends of a
    segment alike: confidence 0); and the kind taken for each."""
    if not discovery.findings:
        raise ValueError("model.space=discover: the dataset has no factor that varies")
    return discovery.space, {f.name: f.proposed for f in discovery.findings}


def _what_is_read(config: Config) -> dict:
    """What a reading depends on: the dataset (``data.name``, ``path``, ``options``) and
    ``train.seed``, as JSON stores them."""
    data = config.data
    what = {"data": {"name": data.name, "path": data.path, "options": data.options}}
    return json.loads(json.dumps({**what, "seed": config.train.seed}))


def discover_space(
    config: Config, run_dir: Path, dataset: GroundTruthDataset, record: bool = True
) -> Config:
    """``config`` with ``model.space`` the space read from ``dataset`` (see the module
    docstring), written into ``run_dir`` when ``record``; a discovery already recorded
    there from the same data and seed is reused (from other ones: read again)."""
    recorded = run_dir / RECORD
    read = _what_is_read(config)
    if recorded.is_file():
        record_before = json.loads(recorded.read_text())
        if record_before.get("read") == read:
            return replace(config, model=replace(config.model, space=record_before["space"]))
        log.warning(
            "model.space=discover: %s was read from other data or another train.seed (%s); "
            "reading again",
            recorded,
            record_before.get("read", "not recorded"),
        )
    log.info("model.space=discover: reading each factor's kind from the data")
    discovery = discover_dataset(dataset, seed=config.train.seed)
    space, kinds = discovered_space(discovery)
    for line in discovery.warnings():
        log.warning("model.space=discover: %s", line)
    for f in discovery.findings:
        if kinds[f.name] != f.found and not f.unread:  # an unread factor is warned of above
            log.info(
                "model.space=discover: %r reads as a %s in only %.0f%% of its paths; it keeps "
                "its declared kind, %s",
                f.name,
                f.found,
                100 * f.confidence,
                f.declared,
            )
    text = space.describe()
    if record:
        for finding in discovery.findings:
            if not finding.unread:
                figure = run_dir / "discovery" / "figures" / f"factor-{finding.name}.png"
                plot_finding(finding, figure)
        payload = {
            "space": text,
            "factors": kinds,
            "constant": list(discovery.constant),
            "read_from": "data",
            "read": read,
            "findings": discovery.as_json(),
        }
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(recorded, json.dumps(payload, indent=2) + "\n")
    log.info("model.space=discover: %s", text)
    return replace(config, model=replace(config.model, space=text))
