"""Configs in the package: one loader, every knob declared once, every field overridable,
unknown fields rejected with close matches, saved workdir configs readable."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import ml_collections
import numpy as np
import optax
import pytest

from jaxhands.configs import (
    ConfigError, apply_overrides, base_config, config_from_json, config_names, get_config, load_config,
    split_config_args)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def test_the_issue_overrides_work_placeholder_included():
    c = load_config("spurr18_2d_to_3d_var3", ["adam_b1=0.5", "beta_start=1e-5", "augment.flip_prob=0.25",
                                              "pairs=('kp2d->kp3d', 'kp3d->kp3d')", "invariances.handedness=false",
                                              "hand_crop.mode=rgb_keypoints", "num_train_steps=20"])
    assert c.adam_b1 == 0.5 and c.beta_start == 1e-5 and c.augment.flip_prob == 0.25
    assert c.pairs == ("kp2d->kp3d", "kp3d->kp3d") and c.invariances.handedness is False
    assert c.hand_crop.mode == "rgb_keypoints" and c.num_train_steps == 20 and isinstance(c.num_train_steps, int)
    assert get_config("spurr18_2d_to_3d_var3").beta_start is None  # the placeholder's default


def test_every_declared_field_can_be_overridden_from_a_string():
    c = base_config()
    for path, value in _flat(c.to_dict()).items():
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        parent, _, key = ("." + path).rpartition(".")
        set_value = value
        if value is None:  # a placeholder: any value of its declared type
            set_value = {float: 0.5, int: 7}[(c if not parent else c[parent[1:]]).get_type(key)]
            text = str(set_value)
        apply_overrides(c, [f"{path}={text}"])
        got = _flat(c.to_dict())[path]
        assert got == set_value and type(got) is type(set_value), path


def test_unknown_field_names_it_and_the_close_matches_in_one_line():
    with pytest.raises(ConfigError) as err:
        load_config("default", ["adam_b3=0.5"])
    message = str(err.value)
    assert "\n" not in message and "'adam_b3'" in message and "adam_b1" in message and "adam_b2" in message
    with pytest.raises(ConfigError, match=r"'augment.flip_prb' \(in 'augment'\); close matches: flip_prob"):
        load_config("default", ["augment.flip_prb=0"])
    with pytest.raises(ConfigError, match="expected a int, got 'ten'"):
        load_config("default", ["num_train_steps=ten"])
    with pytest.raises(ConfigError, match="close matches: spurr18_2d_to_3d_var3"):
        get_config("spurr18_2d_to_3d_var33")


def test_named_configs_are_locked_against_misspelt_new_fields():
    c = get_config("spurr18_rgb_to_3d_var3")
    with pytest.raises(AttributeError):
        c.resnet_widht = 8
    c.resnet_width = 8  # existing fields stay writable
    assert c.resnet_width == 8


def test_no_config_get_defaults_in_library_code():
    """A knob's default lives in jaxhands/configs/base.py only."""
    offenders = []
    for path in (ROOT / "jaxhands").rglob("*.py"):
        if path.parent.name == "configs":  # where the defaults live, and the docs naming the pattern
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bconfig\w*\.get\(|\bcfg\.get\(|\bc\.get\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_named_config_declares_no_field_outside_the_base():
    declared = set(_flat(base_config().to_dict()))
    for name in config_names():
        assert set(_flat(get_config(name).to_dict())) == declared, name


def test_saved_config_of_an_older_run_reads_with_todays_defaults(tmp_path):
    saved = json.loads(get_config("yang19_s4_rc2chp").to_json_best_effort())
    for field in ("adam_b1", "lr_min_ratio", "data_threads"):  # fields an older run predates
        del saved[field]
    saved["my_method_knob"] = 3  # a user's method field the base does not declare: kept
    (tmp_path / "config.json").write_text(json.dumps(saved))
    c = load_config(tmp_path, ["num_train_steps=7"])
    assert c.adam_b1 == 0.9 and c.lr_min_ratio == 0.0 and c.data_threads == 2 and c.my_method_knob == 3
    assert c.extra_decoders == ("cloud", "heatmap") and c.augment.scale_range == (1.0, 1.2)  # lists -> tuples
    assert c.beta_start == 1e-5 and c.num_train_steps == 7
    assert config_from_json(json.dumps(saved)).to_dict() == {**c.to_dict(), "num_train_steps": 3000}


def test_python_file_config_with_an_argument(tmp_path):
    path = tmp_path / "ablation.py"
    path.write_text("from jaxhands.configs import get_config as named\n\n"
                    "def get_config(width='8'):\n"
                    "    c = named('spurr18_rgb_to_3d_var1')\n"
                    "    c.name = 'ablation'\n"
                    "    c.resnet_width = int(width)\n"
                    "    return c\n")
    c = load_config(f"{path}:4", ["latent_dim=16"])
    assert (c.name, c.resnet_width, c.latent_dim) == ("ablation", 4, 16)
    with pytest.raises(ConfigError, match="the configs live in the package now: --config=spurr18_2d_to_3d_var3"):
        load_config("configs/spurr18_2d_to_3d_var3.py")


def test_split_config_args_takes_both_flag_forms():
    spec, overrides, rest = split_config_args(
        ["--config", "yang19_s1_r2p", "--config.batch_size", "8", "--config.beta_start=1e-5", "--workdir=w", "-x"])
    assert spec == "yang19_s1_r2p" and overrides == ["batch_size=8", "beta_start=1e-5"] and rest == ["--workdir=w", "-x"]
    with pytest.raises(ConfigError, match="needs a value"):
        split_config_args(["--config.batch_size"])


def test_adam_b1_reaches_the_optimizer():
    from jaxhands.training.optimizer import default_group_optimizer

    config = load_config("default", ["adam_b1=0.5", "learning_rate=0.1"])
    opt = default_group_optimizer(config)
    params = {"w": np.zeros(3, np.float32)}
    grads = [{"w": np.array([1.0, -2.0, 0.5], np.float32)}, {"w": np.array([-1.0, 1.0, 2.0], np.float32)}]

    def run_group(opt):
        state, p = opt.direction.init(params), params
        for step, g in enumerate(grads):
            direction, state = opt.direction.update(g, state, p)
            p = optax.apply_updates(p, {"w": -opt.rate(step) * direction["w"]})
        return np.asarray(p["w"])

    def run_optax(tx):
        state, p = tx.init(params), params
        for g in grads:
            updates, state = tx.update(g, state, p)
            p = optax.apply_updates(p, updates)
        return np.asarray(p["w"])

    np.testing.assert_allclose(run_group(opt), run_optax(optax.adam(0.1, b1=0.5)), rtol=1e-6)
    assert not np.allclose(run_group(opt), run_optax(optax.adam(0.1, b1=0.9)))


def test_train_command_line_rejects_an_unknown_field_in_one_line():
    run = subprocess.run([sys.executable, "train.py", "--config=default", "--config.adam_b3=0.5"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "train.py: unknown config field 'adam_b3'; close matches: adam_b1, adam_b2, cn_adam_b1"]
    listing = subprocess.run([sys.executable, "train.py", "--config=list"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert listing.returncode == 0 and set(config_names()) == {ln.split()[0] for ln in listing.stdout.splitlines()}


def test_config_dicts_are_ml_collections():
    assert isinstance(get_config("default"), ml_collections.ConfigDict)
