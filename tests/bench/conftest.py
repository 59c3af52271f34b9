import copy

import pytest

#: A preset whose cells train in about a second on a CPU (torus at 32 px, a tiny network).
TINY_PRESET = {
    "name": "tiny",
    "base": {
        "data": {"name": "torus", "options": {"image_size": 32, "factor_sizes": [8, 8]}},
        "model": {"backbone": "burgess", "options": {"width": 4, "hidden_dim": 16}},
        "train": {
            "steps": 3,
            "batch_size": 8,
            "log_every": 1,
            "checkpoint_every": 3,
            "progress": False,
            "num_workers": 0,
            "device": "cpu",
        },
        "eval": {"at_end": False},
        "run": {"tensorboard": False},
    },
    "datasets": {"torus": {"vars": {"latent_dim": 4}}},
    "objectives": {
        "product": {"objective": {"name": "product", "options": {"anneal_steps": 2}}},
        "beta_vae": {
            "objective": {"name": "beta_vae"},
            "model": {"space": "euclidean({latent_dim})"},
        },
    },
    "seeds": [0],
    "evaluation": {"num_train": 100, "num_test": 50, "metrics": ["mig", "topology"]},
    "headline": {"mig": "MIG", "topology.recovery": "recovery"},
}


@pytest.fixture
def tiny_preset():
    """A fresh deep copy of :data:`TINY_PRESET` to modify."""
    return copy.deepcopy(TINY_PRESET)
