"""Experiment configs: every knob declared once (`base.py`), every paper table row by name
(`spurr18.py`, `yang19.py`, `yangyao19.py`, `wan17.py`), one loader (`loader.py`).

    from jaxhands.configs import load_config, config_names
    config = load_config("spurr18_rgb_to_3d_var3", ["num_train_steps=20"])
"""

from jaxhands.configs.base import base_config
from jaxhands.configs.loader import (
    NAMED, ConfigError, apply_overrides, config_from_json, config_names, describe_named, get_config, load_config,
    split_config_args)
from jaxhands.configs.named import NamedConfig

__all__ = ["NAMED", "ConfigError", "NamedConfig", "apply_overrides", "base_config", "config_from_json",
           "config_names", "describe_named", "get_config", "load_config", "split_config_args"]
