"""The one way to get an experiment config: by name, from a file, or from a workdir; then
overrides `field.sub=value`, checked against the declared fields.

    load_config("spurr18_rgb_to_3d_var3", ["num_train_steps=20", "augment.flip_prob=0"])
    load_config("my_configs/ablation.py:small")     # a file with get_config([arg])
    load_config("workdirs/var3")                     # what that run trained (config.json and
                                                     # the changes resumes recorded since)

Every config comes back locked (`ConfigDict.lock()`): fields can change, a misspelt new
field cannot appear. Scripts share the command-line form through `split_config_args`
(train.py, eval.py, sample.py, benchmarks): `--config=NAME --config.field=value`.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import pathlib
from typing import Any, Iterable, Mapping, Sequence

import ml_collections

from jaxhands.configs import spurr18, wan17, workdir_record, yang19, yangyao19
from jaxhands.configs.base import base_config
from jaxhands.configs.named import NamedConfig


class ConfigError(ValueError):
    """A config name, file or override that cannot be used; the message says which and why."""


NAMED: dict[str, NamedConfig] = {**spurr18.NAMED, **yang19.NAMED, **yangyao19.NAMED, **wan17.NAMED}


def config_names() -> list[str]:
    """Every named experiment, sorted."""
    return sorted(NAMED)


def get_config(name: str) -> ml_collections.ConfigDict:
    """The named experiment's config (locked), `config.name == name`."""
    if name not in NAMED:
        raise ConfigError(f"unknown experiment {name!r}{_close(name, NAMED)}; `python train.py --config=list` "
                          "lists them")
    config = NAMED[name].build()
    config.name = name
    config.lock()
    return config


def load_config(spec: str | pathlib.Path, overrides: Sequence[str] | Mapping[str, Any] = ()) -> ml_collections.ConfigDict:
    """A config from `spec` with `overrides` applied.

    spec: a name (`config_names()`), a `.py` file with `get_config()` (`file.py:arg` passes
    `arg`), or a training workdir / its config.json (exactly what that run trained, on top of
    today's defaults for fields the run predates). overrides: "field=value" strings (values
    parsed as the field's type) or a mapping of field paths to values.
    """
    spec = str(spec)
    path = pathlib.Path(spec.split(":", 1)[0])
    if spec in NAMED:
        config = get_config(spec)
    elif path.suffix == ".py":
        config = _from_python_file(path, spec.split(":", 1)[1:])
    elif path.is_dir() or path.suffix == ".json":
        config = config_from_json(_read_json(path / "config.json" if path.is_dir() else path))
        if path.is_dir() or path.name == workdir_record.CONFIG_FILE:  # and what resumes changed since
            apply_overrides(config, workdir_record.recorded_overrides(path if path.is_dir() else path.parent))
    else:
        raise ConfigError(f"config {spec!r} is neither a named experiment{_close(spec, NAMED)}, a .py file with "
                          "get_config(), nor a workdir")
    apply_overrides(config, overrides)
    return config


def config_from_json(saved: Mapping[str, Any] | str) -> ml_collections.ConfigDict:
    """A saved config (a workdir's config.json) on top of `base_config()`: fields the run
    predates take today's defaults; fields today's base lacks (a user's method) are kept."""
    values = json.loads(saved) if isinstance(saved, str) else dict(saved)
    config = base_config()
    _merge(config, values)
    config.lock()
    return config


def apply_overrides(config: ml_collections.ConfigDict, overrides: Sequence[str] | Mapping[str, Any]) -> None:
    """Sets each `field.sub=value` (or mapping item) in place; values given as strings are
    parsed as the field's declared type. An unknown field fails naming it and close matches."""
    items = overrides.items() if isinstance(overrides, Mapping) else (_split_override(o) for o in overrides)
    for path, value in items:
        parent, key = _resolve(config, path)
        declared = parent.get_type(key)
        if isinstance(value, str) and declared is not str:
            value = _parse_value(path, value, declared)
        elif isinstance(value, list) and declared is tuple:
            value = tuple(value)
        try:
            setattr(parent, key, value)
        except TypeError as err:
            raise ConfigError(f"--config.{path}: {value!r} is not a {declared.__name__} ({err})") from None


def split_config_args(argv: Iterable[str], flag: str = "config") -> tuple[str | None, list[str], list[str]]:
    """Splits a command line into (spec of --config, its "field=value" overrides, the rest).

    Accepts `--config=X` / `--config X` and `--config.field=value` / `--config.field value`,
    so scripts keep absl's or argparse's parsing for their other flags."""
    argv = list(argv)
    spec, overrides, rest = None, [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name in (f"--{flag}", f"-{flag}"):
            if not eq:
                if i + 1 >= len(argv):
                    raise ConfigError(f"--{flag} needs a value: a name, a .py file or a workdir")
                i, value = i + 1, argv[i + 1]
            spec = value
        elif name.startswith((f"--{flag}.", f"-{flag}.")):
            field = name.split(".", 1)[1]
            if not eq:
                if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                    raise ConfigError(f"--{flag}.{field} needs a value (--{flag}.{field}=VALUE)")
                i, value = i + 1, argv[i + 1]
            overrides.append(f"{field}={value}")
        else:
            rest.append(arg)
        i += 1
    return spec, overrides, rest


def describe_named() -> str:
    """One line per named experiment: the `--config=list` output."""
    width = max(map(len, NAMED))
    return "\n".join(f"{name:<{width}}  {NAMED[name].description}" for name in config_names())


def _from_python_file(path: pathlib.Path, args: list[str]) -> ml_collections.ConfigDict:
    if not path.is_file():
        hint = f"; the configs live in the package now: --config={path.stem}" if path.stem in NAMED else ""
        raise ConfigError(f"config file {path} not found{hint}")
    spec = importlib.util.spec_from_file_location(f"jaxhands_user_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {path} has no get_config() function")
    config = module.get_config(*args)
    if not isinstance(config, ml_collections.ConfigDict):
        raise ConfigError(f"{path}: get_config() returned {type(config).__name__}, expected an ml_collections.ConfigDict "
                          "(start from jaxhands.configs.base_config())")
    config.lock()
    return config


def _read_json(path: pathlib.Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path} not found: is {path.parent} a training workdir (python train.py --workdir ...)?")
    return json.loads(path.read_text())


def _merge(config: ml_collections.ConfigDict, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if key not in config:
            with config.unlocked():  # a field today's base does not declare: keep it as saved
                config[key] = ml_collections.ConfigDict(value) if isinstance(value, dict) else value
        elif isinstance(config[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _merge(config[key], value)
        else:
            apply_overrides(config, {key: value})


def _split_override(override: str) -> tuple[str, str]:
    path, eq, value = str(override).partition("=")
    if not eq or not path:
        raise ConfigError(f"override {override!r} is not of the form field=value")
    return path.strip(), value


def _resolve(config: ml_collections.ConfigDict, path: str):
    parts = path.split(".")
    node = config
    for depth, part in enumerate(parts):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            where = ".".join(parts[:depth])
            fields = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
            raise ConfigError(f"unknown config field {path!r}" + (f" (in {where!r})" if where else "")
                              + _close(part, fields))
        if depth < len(parts) - 1:
            node = node[part]
    return node, parts[-1]


def _parse_value(path: str, text: str, declared: type) -> Any:
    if declared is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(f"--config.{path}: expected true or false, got {text!r}")
    if declared in (int, float):
        try:
            return declared(text) if declared is float else int(text)
        except ValueError:
            raise ConfigError(f"--config.{path}: expected a {declared.__name__}, got {text!r}") from None
    if declared is tuple:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = tuple(part.strip() for part in text.split(",") if part.strip())  # a,b,c
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ConfigError(f"--config.{path}: cannot parse {text!r} as a {declared.__name__}") from None


def _close(name: str, candidates: Iterable[str]) -> str:
    matches = sorted(difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6))
    return f"; close matches: {', '.join(matches)}" if matches else ""
