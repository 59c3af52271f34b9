"""The one generic :class:`~prodvae.registry.Registry` behind every ``register_*`` decorator:
a name is registered once, an unknown name lists the choices, ``build`` checks options, and a
test's temporary entry is gone afterwards. The contract runs over every registry the library
defines, found by importing its packages, so a new registry is covered with no change here."""

import importlib
import sys
from dataclasses import dataclass

import pytest

from prodvae.bench import register_executor
from prodvae.data import get_dataset, register_dataset
from prodvae.metrics import register_metric, register_regressor
from prodvae.models import make_backbone, register_backbone, register_posterior
from prodvae.objectives import LIKELIHOODS, OBJECTIVES, get_objective, register_objective
from prodvae.registry import Registry, UnknownNameError
from prodvae.spaces import FACTORS, GROUND_TRUTH, Factor, make_factor, register_factor

PACKAGES = ("spaces", "data", "models", "objectives", "metrics", "viz", "train", "bench")

#: The kinds of registry the library has today (the contract covers any others too).
KINDS = {
    "DCI regressor",
    "aggregation",
    "backbone",
    "dataset",
    "executor",
    "factor kind",
    "ground-truth kind",
    "likelihood",
    "metric",
    "objective",
    "posterior",
    "shape",
}


def library_registries() -> dict[str, Registry]:
    """Every registry defined at module level in ``prodvae``, by kind."""
    for package in PACKAGES:
        importlib.import_module(f"prodvae.{package}")
    found: dict[str, Registry] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("prodvae."):
            for value in vars(module).values():
                if isinstance(value, Registry):
                    assert found.setdefault(value.kind, value) is value, value.kind
    return found


REGISTRIES = library_registries()


def test_every_registry_of_the_library_is_found():
    assert KINDS <= set(REGISTRIES)
    assert all(len(registry) > 0 for registry in REGISTRIES.values())


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_a_name_is_registered_once(kind):
    registry = REGISTRIES[kind]
    name = next(iter(registry))
    before = dict(registry)
    for entry in (registry[name], object()):  # the same entry, or another one
        with pytest.raises(ValueError, match=f"^{kind} '{name}' is already registered$"):
            registry.add(name, entry)
        with pytest.raises(ValueError, match="already registered"):
            registry.register(name)(entry)
    assert dict(registry) == before


@pytest.mark.parametrize(
    "decorate",
    [
        lambda: register_dataset("torus"),
        lambda: register_objective("beta_vae"),
        lambda: register_factor("loop"),
        lambda: register_backbone("burgess"),
        lambda: register_posterior("gaussian"),
        lambda: register_metric("mig", suites=("standard",)),
        lambda: register_regressor("gbt"),
        lambda: register_executor("inline"),
    ],
)
def test_every_public_decorator_rejects_a_duplicate(decorate):
    stranger = type("Stranger", (Factor,), {})
    with pytest.raises(ValueError, match="already registered"):
        decorate()(stranger)
    assert stranger.name == ""  # nothing was touched


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_an_unknown_name_lists_the_choices_sorted(kind):
    registry = REGISTRIES[kind]
    with pytest.raises(UnknownNameError) as caught:
        registry["no_such_name"]
    expected = f"unknown {kind} 'no_such_name'; expected one of: {', '.join(sorted(registry))}"
    assert str(caught.value) == expected
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    assert "no_such_name" not in registry and registry.get("no_such_name") is None


def test_the_public_functions_raise_the_listing_error():
    with pytest.raises(ValueError, match="unknown dataset 'sprits'; expected one of: cars3d, "):
        get_dataset("sprits")
    with pytest.raises(ValueError, match="unknown objective 'elbo'; expected one of: ada_gvae"):
        get_objective("elbo")
    with pytest.raises(ValueError, match="unknown factor kind 'ring'; expected one of: "):
        make_factor("ring")


def test_a_registry_is_read_only():
    with pytest.raises(TypeError):
        OBJECTIVES["beta_vae"] = object()  # type: ignore[index]
    with pytest.raises(AttributeError):
        OBJECTIVES.clear()  # type: ignore[attr-defined]


def make_thing(size, *, colour="red"):
    """A factory taking one positional argument and one keyword option."""
    return size, colour


@dataclass(frozen=True)
class GadgetOptions:
    width: int = 1

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")


class Gadget:
    Options = GadgetOptions

    def __init__(self, options):
        self.options = options


def test_build_checks_options_against_the_signature():
    things = Registry("thing")
    things.add("thing", make_thing)
    assert things.build("thing", 3, colour="blue") == (3, "blue")
    assert things.options("thing", num_positional=1) == {"colour": "red"}
    with pytest.raises(ValueError, match=r"^thing 'thing': unknown option\(s\) color, hue; "):
        things.build("thing", 3, color="blue", hue=1)
    with pytest.raises(ValueError, match="valid options: colour$"):
        things.build("thing", 3, color="blue")


def test_build_gives_an_options_dataclass_its_options():
    gadgets = Registry("gadget")
    gadgets.add("gadget", Gadget)
    assert gadgets.build("gadget", width=3).options == GadgetOptions(3)
    assert gadgets.options("gadget") == {"width": 1}
    with pytest.raises(ValueError, match="unknown option.s. height; valid options: width"):
        gadgets.build("gadget", height=3)
    with pytest.raises(ValueError, match="^gadget: width must be >= 1, got 0$"):
        gadgets.build("gadget", width=0)


def test_the_library_builds_check_options():
    with pytest.raises(ValueError, match="dataset 'torus': unknown option.s. image_sise"):
        get_dataset("torus", image_sise=32)
    with pytest.raises(ValueError, match="objective 'beta_vae': unknown option.s. betta"):
        OBJECTIVES.build("beta_vae", betta=2)
    with pytest.raises(ValueError, match="valid options: radius, width"):
        make_factor("loop", colour=1)
    with pytest.raises(ValueError, match="widht; valid options: .*hidden_dim, width$"):
        make_backbone("burgess", (1, 32, 32), 4, widht=8)
    assert OBJECTIVES.build("beta_vae", beta=2.0).options.beta == 2.0


def test_extra_data_rides_with_an_entry():
    assert LIKELIHOODS.extra("gaussian")["default_scale"] == 0.1
    assert LIKELIHOODS.extra("bernoulli")["default_scale"] is None
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        LIKELIHOODS.extra("poisson")


def test_a_temporary_entry_is_gone_afterwards_even_after_an_error():
    class Probe(Factor):
        pass

    before = list(FACTORS)
    with FACTORS.temporarily("probe", Probe) as entry:
        assert entry is Probe and FACTORS["probe"] is Probe and Probe.name == "probe"
        with pytest.raises(ValueError, match="already registered"):
            with FACTORS.temporarily("probe", Probe):
                pass
    assert list(FACTORS) == before
    with pytest.raises(RuntimeError):
        with FACTORS.temporarily("probe", Probe):
            raise RuntimeError
    assert list(FACTORS) == before


def test_a_temporary_replacement_puts_the_original_back_in_its_place():
    before = dict(GROUND_TRUTH)
    with GROUND_TRUTH.temporarily("segment", object, replace=True):
        assert GROUND_TRUTH["segment"] is object
        with pytest.raises(ValueError, match="already registered"):
            GROUND_TRUTH.add("segment", object)
    assert list(GROUND_TRUTH.items()) == list(before.items())


def test_remove_returns_the_entry():
    things = Registry("thing")
    things.add("thing", make_thing, colour="red")
    assert things.remove("thing") is make_thing and "thing" not in things and len(things) == 0
    with pytest.raises(KeyError, match="unknown thing 'thing'; expected one of: .none"):
        things.remove("thing")
