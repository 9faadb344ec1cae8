"""Interface v2 end to end through train.py: a two-player method (tests/training/toy_gan.py)
with its own optimizer per group, a staged phase schedule, the pose-only stream, both the
alternating and the simultaneous two-player update, and init_from another workdir."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxhands
from tests.command_lines import script_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = "tests/training/toy_gan_config.py"


def _train(workdir, data_dir, *overrides):
    env = script_env()
    run = subprocess.run([sys.executable, "train.py", f"--config={CONFIG}", f"--config.data_dir={data_dir}",
                          *overrides, f"--workdir={workdir}", "--noprogress"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


def _gen(workdir, step=None):
    return {k: float(v) for k, v in jax.device_get(jaxhands.load_run(workdir, step).params["gen"]).items()}


def _disc(workdir, step=None):
    return {k: float(v) for k, v in jax.device_get(jaxhands.load_run(workdir, step).params["disc"]).items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_player")
    data_dir = root / "data"
    _train(root / "alternating", data_dir, "--config.toy_gan_mode=alternating")
    # B: the generator starts from A's; 20 discriminator-only steps, then simultaneous
    # updates; every step checkpointed so each update can be inspected.
    _train(root / "simultaneous", data_dir, "--config.toy_gan_mode=simultaneous",
           f"--config.init_from=('gen={root / 'alternating'}',)", "--config.num_train_steps=22",
           "--config.checkpoint_every=1", "--config.max_checkpoints_to_keep=30")
    from jaxhands.training.experiment import build_sources

    config = jaxhands.load_config(root / "alternating")
    train_source, _ = build_sources(config)
    data_mean = float(np.mean([train_source[i]["keypoints_3d"][0, 2] for i in range(len(train_source))]))
    return root, data_dir, data_mean


def test_alternating_gan_moves_the_generated_mean_to_the_data_mean(runs):
    root, _, data_mean = runs
    b = _gen(root / "alternating")["b"]  # initialised at 0
    assert abs(b - data_mean) < 0.05 * abs(data_mean), (b, data_mean)


def test_init_from_and_the_frozen_stage_keep_the_generator_bit_identical(runs):
    root, _, _ = runs
    source = _gen(root / "alternating")
    for step in (1, 10, 20):  # the discriminator-only stage
        assert _gen(root / "simultaneous", step) == source, step
    assert _disc(root / "simultaneous", 20) != _disc(root / "simultaneous", 1)  # it trained meanwhile


def test_each_group_steps_with_its_own_optimizer(runs):
    """Adam's first step moves each parameter by its learning rate (|m_hat / sqrt(v_hat)| = 1):
    the discriminator's 0.05 at step 1, the generator's 0.01 at step 21 (its optimizer state
    starts fresh after init_from); the config's default learning_rate (1e-4) is neither."""
    root, _, _ = runs
    untrained = jaxhands.load_run(root / "simultaneous", untrained=True).params["disc"]
    step1 = _disc(root / "simultaneous", 1)
    # (w's gradient; c's is exactly 0 at w = 0: every logit is 0, real and fake terms cancel)
    assert abs(step1["w"] - float(untrained["w"])) == pytest.approx(0.05, rel=1e-4)
    before, after = _gen(root / "simultaneous", 20), _gen(root / "simultaneous", 21)
    for name in ("b", "a"):
        assert abs(after[name] - before[name]) == pytest.approx(0.01, rel=1e-4), name


def test_simultaneous_run_resumes_across_stages_and_stays_at_the_data_mean(runs):
    root, data_dir, data_mean = runs
    _train(root / "simultaneous", data_dir, "--config.toy_gan_mode=simultaneous",
           f"--config.init_from=('gen={root / 'alternating'}',)", "--config.num_train_steps=200",
           "--config.checkpoint_every=100")
    run = jaxhands.load_run(root / "simultaneous")
    assert run.step == 200
    assert abs(float(run.params["gen"]["b"]) - data_mean) < 0.05 * abs(data_mean)
