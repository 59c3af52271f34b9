"""Training: configs, the one training loop, checkpoints, run folders, distributed runs.

>>> from prodvae.train import load_config, train
>>> config = load_config("configs/demo.yaml", ["train.steps=100"])  # doctest: +SKIP
>>> result = train(config, "runs/demo")  # doctest: +SKIP
"""

from prodvae.train.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    ObjectiveConfig,
    RunConfig,
    TrainConfig,
)
from prodvae.train.hooks import Hook, HookContext, make_encoder
from prodvae.train.load_run import LoadedRun, load_run
from prodvae.train.loop import TrainResult, train
from prodvae.train.overrides import load_config
from prodvae.train.run_folder import RunFolder, read_metrics

__all__ = [
    "Config",
    "DataConfig",
    "EvalConfig",
    "Hook",
    "HookContext",
    "LoadedRun",
    "ModelConfig",
    "ObjectiveConfig",
    "RunConfig",
    "RunFolder",
    "TrainConfig",
    "TrainResult",
    "load_config",
    "load_run",
    "make_encoder",
    "read_metrics",
    "train",
]
