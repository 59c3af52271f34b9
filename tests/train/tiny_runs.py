"""Tiny training settings shared by the loop tests (a module with a unique name, so
spawned processes and other test folders' conftest files cannot shadow it)."""

from prodvae.train import load_config

TINY = [
    "data.name=torus",
    "data.options={image_size: 32, factor_sizes: [8, 8]}",
    "model.backbone=burgess",
    "model.options={width: 4, hidden_dim: 16}",
    "train.batch_size=8",
    "train.steps=6",
    "train.log_every=1",
    "train.checkpoint_every=3",
    "train.progress=false",
    "train.num_workers=0",
    "run.tensorboard=false",
    "eval.at_end=false",
]

#: The toy objective that samples posterior noise from the global RNG.
SAMPLED = ("objective.name=toy_ae", "objective.options={sample: true}")


def make_tiny(root, *overrides: str):
    """A config that trains in well under a second per step on a CPU, in ``root/runs``."""
    return load_config(None, [*TINY, f"run.dir={root / 'runs'}", "run.name=tiny", *overrides])
