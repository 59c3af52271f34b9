"""``model.space: discover``: find the factors and their kinds, then train on that space.

Before the run proper, a *scout* is trained through this same trainer in
``<run>/discovery/scout``: the run's data, network and likelihood, but a Euclidean latent
(:data:`SCOUT_SPACE`) and the weakly supervised ``ada_gvae`` objective on pairs that change
one factor, for a third of the run's steps. It is read model-based
(:func:`prodvae.discover.model.discover_model`): each factor's paths on the scout's latent
dimensions they move trace points, a segment or a loop. The space is one latent factor per
factor read, of the kind read (sized like ``model.space: auto`` sizes it), in the dataset's
factor order; a factor that moves none of the scout's dimensions is left out and named in the
log (with ``changed: known``, which needs one latent factor per factor, it keeps its declared
kind). ``<run>/discovery.json`` records the groups and the space, and
``<run>/discovery/figures/`` the persistence diagram and path of each latent group and of
each factor read (``factor-<name>.png``); the run's
``config.yaml`` holds the space found, so the run loads and resumes as any other. A run
interrupted during the scout resumes the scout. The scout runs in one process: under torchrun
only a recorded discovery is used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from prodvae.discover.model import ModelFinding, discover_model
from prodvae.discover.plot import plot_discovery
from prodvae.objectives import objective_options
from prodvae.spaces import Factor, ProductSpace
from prodvae.train.config import Config, EvalConfig, ObjectiveConfig
from prodvae.train.run_folder import atomic_write_text

log = logging.getLogger(__name__)

#: The scout's latent: Locatello et al. (2019)'s ten dimensions, in 2-D blocks so that a loop
#: can close inside one block (Ada-GVAE keeps or averages a whole block per pair).
SCOUT_SPACE = "euclidean(2)^5"
#: The scout trains for this fraction of the run's steps.
SCOUT_SHARE = 1 / 3
RECORD = "discovery.json"


def scout_config(config: Config) -> Config:
    """The scout's config: ``config`` with a Euclidean latent, ``ada_gvae`` (keeping the
    options it shares with the run's objective, such as the likelihood) on one-factor pairs,
    a third of the steps and no evaluation."""
    accepted = set(objective_options("ada_gvae"))
    options = {k: v for k, v in config.objective.options.items() if k in accepted}
    # the run's code normalisation is faded by its own objective; the scout has none to fade
    network = {k: v for k, v in config.model.options.items() if k != "normalise_codes"}
    return replace(
        config,
        data=replace(config.data, num_changed=1),
        model=replace(config.model, space=SCOUT_SPACE, options=network),
        objective=ObjectiveConfig(name="ada_gvae", options=options),
        train=replace(config.train, steps=max(1, round(config.train.steps * SCOUT_SHARE))),
        eval=EvalConfig(at_end=False),
        run=replace(config.run, name="scout"),
    )


def space_from(
    findings: list[ModelFinding], spec: tuple, keep_all: bool = False
) -> tuple[ProductSpace, dict[str, str], list[str]]:
    """One latent factor per ground-truth factor read (``findings``:
    :attr:`Discovery.by_factor`), of the kind it traces, in the dataset's order; the kind found
    for each; and the varying factors that were not read (left out, or with ``keep_all`` --
    pairs that say what they change need one latent factor per varying factor -- given their
    declared kind)."""
    strongest = {finding.follows: finding for finding in findings}
    factors, kinds, missing = [], {}, []
    for factor in spec:
        if factor.size < 2:
            continue
        if factor.name in strongest:
            kinds[factor.name] = strongest[factor.name].found
            factors.append(Factor.for_ground_truth(kinds[factor.name], factor.size))
        else:
            missing.append(factor.name)
            if keep_all:
                factors.append(Factor.for_ground_truth(factor.kind, factor.size))
    if not factors:
        raise ValueError("model.space=discover: the scout's codes follow no factor")
    return ProductSpace(factors), kinds, missing


def discover_space(config: Config, run_dir: Path, dataset: Any = None) -> Config:
    """``config`` with ``model.space`` the space discovered for it (see the module
    docstring); a discovery already recorded in ``run_dir`` is reused."""
    from prodvae.train.load_run import load_run
    from prodvae.train.loop import train

    record = run_dir / RECORD
    if record.is_file():
        space = json.loads(record.read_text())["space"]
        return replace(config, model=replace(config.model, space=space))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "model.space=discover trains its scout in one process: run it without torchrun, "
            "or give model.space the space a discovery found (RUN/discovery.json)"
        )
    scout_dir = run_dir / "discovery" / "scout"
    resume = (scout_dir / "config.yaml").is_file()
    log.info("model.space=discover: training the scout in %s", scout_dir)
    train(scout_config(config), scout_dir, resume=resume, dataset=dataset)
    scout = load_run(scout_dir, dataset=dataset)
    discovery = discover_model(scout.model, scout.dataset, seed=config.train.seed)
    findings = [f for f in discovery.by_factor if isinstance(f, ModelFinding)]
    keep_all = config.objective.options.get("changed") == "known"
    space, kinds, missing = space_from(findings, scout.dataset.spec, keep_all)
    if missing:
        log.warning(
            "model.space=discover: the scout does not move with %s; %s",
            ", ".join(missing),
            "given its declared kind (changed: known)" if keep_all else "left out",
        )
    plot_discovery(discovery, run_dir / "discovery" / "figures")
    text = space.describe()
    payload = {"space": text, "factors": kinds, "left_out": missing, "scout": "discovery/scout"}
    payload["groups"] = discovery.as_json()
    payload["by_factor"] = [f.as_json() for f in discovery.by_factor]
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(payload, indent=2) + "\n")
    log.info("model.space=discover: %s", text)
    return replace(config, model=replace(config.model, space=text))
