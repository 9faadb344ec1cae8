"""Crossing Nets (spec B7/B8): stage isolation (C1), the simultaneous two-player split,
the label-free depth centre, and the per-stage learning rates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.configs import base_config
from jaxhands.methods.crossing_nets import D_GROUPS, G_GROUPS, CrossingNets, depth_centre
from jaxhands.training.optimizer import group_optimizers
from jaxhands.training.state import create_train_state
from jaxhands.training.step import make_train_step

SIZE = 16


def _config():
    c = base_config()
    c.method = "crossing_nets"
    c.image_size = SIZE
    c.cn_vae_steps, c.cn_gan_steps, c.cn_warm_steps = 2, 3, 4
    return c


def _batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    f = 20.0
    intrinsics = np.tile(np.array([[f, 0, SIZE / 2], [0, f, SIZE / 2], [0, 0, 1]], np.float32), (n, 1, 1))
    joints = (np.array([0.0, 0.0, 0.5], np.float32) + rng.normal(0, 0.03, (n, 21, 3))).astype(np.float32)
    depth = np.zeros((n, SIZE, SIZE), np.float32)
    depth[:, 4:12, 5:11] = 0.5 + rng.normal(0, 0.01, (n, 8, 6))
    return {"depth": jnp.asarray(depth), "keypoints_3d": jnp.asarray(joints), "intrinsics": jnp.asarray(intrinsics)}


def test_depth_centre_back_projects_the_mean_measured_pixel():
    batch = _batch()
    centre = np.asarray(depth_centre(batch["depth"], batch["intrinsics"]))
    depth = np.asarray(batch["depth"])
    for b in range(depth.shape[0]):
        v, u = np.nonzero(depth[b] > 0)
        d = depth[b][v, u].mean()
        expected = d * np.array([(u.mean() + 0.5 - SIZE / 2) / 20.0, (v.mean() + 0.5 - SIZE / 2) / 20.0, 1.0])
        np.testing.assert_allclose(centre[b], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("phase", [0, 1, 2, 3])
def test_each_stage_changes_exactly_its_groups(phase):
    """C1: a step of a phase moves its groups' params and leaves every other group's params
    and batch statistics bit-identical."""
    config = _config()
    method = CrossingNets(config)
    optimizers = group_optimizers(method, config)
    batch = _batch()
    state0 = create_train_state(method, optimizers, jax.random.key(0), batch)
    state, metrics = jax.jit(make_train_step(method, optimizers, phase=phase))(state0, batch)
    name = method.phases[phase].name
    assert np.isfinite(float(metrics[name]["loss"])), metrics[name]
    trained = set(method.phases[phase].groups)
    for group in method.groups:
        before, after = jax.tree.leaves(state0.params[group]), jax.tree.leaves(state.params[group])
        same = all(np.array_equal(a, b) for a, b in zip(before, after))
        if group in trained:
            assert not same, f"{name} did not move {group}"
        else:
            assert same, f"{name} moved {group}"
            for a, b in zip(jax.tree.leaves(state0.model_state[group]), jax.tree.leaves(state.model_state[group])):
                np.testing.assert_array_equal(a, b, err_msg=f"{name} changed {group}'s batch statistics")


def test_joint_players_see_only_their_own_terms():
    """d(L_G)/d(theta_D) = 0 and d(L_D)/d(theta_G) = 0; L_smo reaches both."""
    config = _config()
    method = CrossingNets(config)
    params, state = method.init(jax.random.key(0), _batch())
    batch = _batch(seed=1)

    def part(k):
        return lambda p: method.joint_terms(p, state, batch, jax.random.key(3))[k]

    grads_g = jax.grad(part(1))(params)
    grads_d = jax.grad(part(0))(params)
    grads_smo = jax.grad(part(2))(params)
    norm = lambda tree: float(sum(jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree)))  # noqa: E731
    assert all(norm(grads_g[g]) == 0.0 for g in D_GROUPS)
    assert all(norm(grads_d[g]) == 0.0 for g in G_GROUPS)
    assert all(norm(grads_g[g]) > 0.0 for g in G_GROUPS) and norm(grads_d["post_head"]) > 0.0
    assert norm(grads_smo["smo_head"]) > 0 and norm(grads_smo["gen"]) > 0 and norm(grads_smo["disc_trunk"]) > 0
    assert all(norm(grads_smo[g]) == 0.0 for g in ("enc_pose", "dec_pose", "disc_top", "post_head"))


def test_schedule_streams_and_stage_rates():
    method = CrossingNets(_config())
    assert [method.phase_schedule.index(s) for s in range(11)] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    assert [p.stream for p in method.phases] == ["poses", "train", "labelled", "labelled"]
    opt = group_optimizers(method, _config())["gen"]
    assert opt.direction is not None
    rates = [float(opt.rate(jnp.asarray(s))) for s in (0, 1, 2, 4, 5, 8, 9, 100)]
    np.testing.assert_allclose(rates, [3e-4, 3e-4, 3e-4, 3e-4, 1e-2, 1e-2, 1e-3, 1e-3], rtol=1e-6)


def test_all_four_stages_train_and_evaluate_through_the_command_lines(tmp_path):
    import json
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), JAX_PLATFORMS="cpu")
    workdir = tmp_path / "run"
    overrides = [f"--config.data_dir={tmp_path / 'data'}", "--config.image_size=16", "--config.synthetic_num_train=64",
                 "--config.synthetic_num_test=16", "--config.batch_size=8", "--config.cn_vae_steps=2",
                 "--config.cn_gan_steps=2", "--config.cn_warm_steps=2", "--config.num_train_steps=8",
                 "--config.log_every=2", "--config.checkpoint_every=8", "--config.eval_every=0"]
    run = subprocess.run([sys.executable, "train.py", "--config=wan17_crossing_nets_full", *overrides,
                          f"--workdir={workdir}", "--noprogress"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    logged = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    phases_logged = [{k.split("/")[0] for k in row if k.endswith("/loss")} for row in logged]
    assert phases_logged == [{"vae"}, {"gan"}, {"warm"}, {"joint"}]
    run = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((workdir / "eval" / "metrics.json").read_text())
    assert metrics["step"] == 8 and metrics["num_samples"] == 16 and np.isfinite(metrics["mean_epe_mm"])
