"""Methods by name: `config.method` -> a factory `(config) -> method`.

Built-in methods are registered when this module is imported (no import-order
surprises); a user's method is registered with `register_method(name, factory)`, or
named directly in the config as "package.module:Factory" (imported on use, so a config
file can point at a method that lives outside jaxhands).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import ml_collections

from jaxhands.methods.cross_modal import CrossModalVAE
from jaxhands.methods.crossing_nets import CrossingNets
from jaxhands.methods.disentangled_vae import DisentangledVAE
from jaxhands.methods.dvae_synthesis import DisentangledSynthesisVAE
from jaxhands.methods.dvae_synthesis_zu import DisentangledSynthesisZuVAE
from jaxhands.methods.latent_alignment import LatentAlignment

MethodFactory = Callable[[ml_collections.ConfigDict], Any]

DVAE_VARIANTS = {"pose": DisentangledVAE, "synthesis": DisentangledSynthesisVAE,
                 "synthesis_zu": DisentangledSynthesisZuVAE}


def disentangled_vae(config: ml_collections.ConfigDict):
    """Yang & Yao's dVAE, `config.dvae_variant`: "pose" (Fig. 2c, canonical pose / viewpoint),
    "synthesis" (Fig. 2a, pose / image content from tag images) or "synthesis_zu" (Fig. 2b,
    pose / unlabelled content z_u, Alg. 2)."""
    if config.dvae_variant not in DVAE_VARIANTS:
        raise ValueError(f"config.dvae_variant={config.dvae_variant!r}: expected one of {sorted(DVAE_VARIANTS)}")
    return DVAE_VARIANTS[config.dvae_variant](config)


_METHODS: dict[str, MethodFactory] = {"cross_modal": CrossModalVAE, "latent_alignment": LatentAlignment,
                                      "crossing_nets": CrossingNets, "disentangled_vae": disentangled_vae}


def register_method(name: str, factory: MethodFactory) -> None:
    """Makes `config.method = name` build `factory(config)`; re-registering a name replaces it."""
    if ":" in name:
        raise ValueError(f"register_method: {name!r}: ':' is reserved for 'module:Factory' names")
    _METHODS[name] = factory


def method_names() -> list[str]:
    return sorted(_METHODS)


def build_method(config: ml_collections.ConfigDict):
    """The method `config.method` names: a registered name or "package.module:Factory"."""
    name = config.method
    if name in _METHODS:
        return _METHODS[name](config)
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"config.method={name!r}: cannot import {attr} from {module_name} ({err})") from None
        return factory(config)
    raise ValueError(f"config.method={name!r} is unknown; registered methods: {method_names()} "
                     "(or name one as 'package.module:Factory')")
