"""Training objectives over the one VAE: the annealed product ELBO and the baselines.

>>> objective = get_objective("beta_vae", beta=4.0)
>>> objective.needs_pairs, objective.options.beta
(False, 4.0)

Each objective's options are a frozen dataclass, ``type(objective).Options`` (``objective.options``
holds them); :func:`objective_options` lists a name's options with their defaults.

Registered: ``product`` (the seed's method), ``vae``, ``beta_vae``, ``annealed_vae``,
``beta_tcvae``, ``factor_vae``, ``dip_vae``, ``tilted``, ``qlae``, ``on_manifold``,
and the weakly supervised ``ada_gvae`` / ``ada_ml_vae`` (also ``weak=`` on ELBO objectives).
"""

from prodvae.objectives import (  # noqa: F401  (each module registers its objectives)
    beta_tcvae,
    beta_vae,
    dip_vae,
    factor_vae,
    on_manifold,
    product,
    qlae,
    tilted,
)
from prodvae.objectives.base import (
    OBJECTIVES,
    Objective,
    ObjectiveOutput,
    get_objective,
    make_options,
    objective_options,
    options_class,
    register_objective,
)
from prodvae.objectives.likelihoods import LIKELIHOODS, LikelihoodOptions
from prodvae.objectives.options import ObjectiveOptions, OptionError
from prodvae.objectives.schedules import Ramp
from prodvae.objectives.weak import WeakOptions

__all__ = [
    "LIKELIHOODS",
    "OBJECTIVES",
    "LikelihoodOptions",
    "Objective",
    "ObjectiveOptions",
    "ObjectiveOutput",
    "OptionError",
    "Ramp",
    "WeakOptions",
    "get_objective",
    "make_options",
    "objective_options",
    "options_class",
    "register_objective",
]
