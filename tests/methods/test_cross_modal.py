"""Spurr et al.'s Algorithm 1 through the generic train step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.configs.spurr18 import cross_modal_config
from jaxhands.geometry import camera, layouts
from jaxhands.methods.cross_modal import CrossModalVAE, variant_pairs
from jaxhands.training.optimizer import group_optimizers
from jaxhands.training.state import create_train_state
from jaxhands.training.step import make_train_step


def random_hands(n, seed=0):
    """Plausible-looking skeletons: bones of 2-4 cm along smoothly varying directions."""
    rng = np.random.default_rng(seed)
    joints = np.zeros((n, 21, 3), np.float32)
    joints[:, 0] = np.stack([rng.uniform(-0.05, 0.05, n), rng.uniform(-0.05, 0.05, n), rng.uniform(0.4, 0.6, n)], -1)
    for f, finger in enumerate(layouts.FINGERS):
        base_dir = np.array([np.cos(0.3 * f - 0.6), -np.sin(0.3 * f - 0.6) - 1.0, 0.1])
        d = base_dir + rng.normal(0, 0.3, (n, 3))
        for j in range(4):
            child = layouts.FINGER_BASE[finger] + j
            d = d + rng.normal(0, 0.3, (n, 3))
            d = d / np.linalg.norm(d, axis=-1, keepdims=True)
            joints[:, child] = joints[:, layouts.PARENTS[child]] + d * rng.uniform(0.02, 0.04, (n, 1))
    k = np.asarray(camera.intrinsics_matrix(200.0, 200.0, 32.0, 32.0))
    return {
        "keypoints_3d": jnp.asarray(joints),
        "keypoints_2d": jnp.asarray(camera.project(joints, k)),
        "intrinsics": jnp.asarray(np.broadcast_to(k, (n, 3, 3))),
        "hand_side": jnp.asarray(rng.integers(0, 2, n), jnp.int32),
        "visible": jnp.ones((n, 21), bool),
    }


def small_config(variant, input_modality="kp2d", **overrides):
    c = cross_modal_config(input_modality, variant)
    c.mlp_width, c.mlp_layers, c.latent_dim = 64, 2, 8
    c.learning_rate = 1e-3
    c.update(overrides)
    return c


def test_variant_pairs():
    assert variant_pairs(1, "kp2d") == [("kp2d", "kp3d")]
    assert variant_pairs(2, "kp2d") == [("kp2d", "kp3d"), ("kp3d", "kp3d")]
    assert variant_pairs(3, "rgb") == [("rgb", "kp3d"), ("rgb", "rgb")]
    assert variant_pairs(4, "kp2d") == [("kp2d", "kp3d"), ("kp2d", "kp2d"), ("kp3d", "kp3d")]
    assert variant_pairs(4, "kp3d") == [("kp3d", "kp3d")]
    with pytest.raises(ValueError, match="variant"):
        variant_pairs(5, "kp2d")


def test_alternating_schedule_updates_only_the_active_pair():
    config = small_config(4)
    method = CrossModalVAE(config)
    assert [p.name for p in method.phases] == ["kp2d->kp3d", "kp2d->kp2d", "kp3d->kp3d"]
    tx = group_optimizers(method, config)
    batch = random_hands(16)
    state0 = create_train_state(method, tx, jax.random.key(0), batch)
    step = jax.jit(make_train_step(method, tx))
    active = [{"enc_kp2d", "dec_kp3d"}, {"enc_kp2d", "dec_kp2d"}, {"enc_kp3d", "dec_kp3d"}]
    state = state0
    for s in range(6):
        before = state
        state, metrics = step(state, batch)
        phase = s % 3
        counts = {name: float(m["count"]) for name, m in metrics.items()}
        assert counts == {p.name: float(i == phase) for i, p in enumerate(method.phases)}
        for group in method.groups:
            moved = any(not np.array_equal(a, b) for a, b in
                        zip(jax.tree.leaves(before.params[group]), jax.tree.leaves(state.params[group])))
            opt_moved = any(not np.array_equal(a, b) for a, b in
                            zip(jax.tree.leaves(before.opt_state[group]), jax.tree.leaves(state.opt_state[group])))
            assert moved == (group in active[phase]), (s, group)
            assert opt_moved == (group in active[phase]), (s, group)
    assert int(state.step) == 6


def test_joint_schedule_updates_every_group():
    config = small_config(4, schedule="joint")
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    batch = random_hands(8)
    state0 = create_train_state(method, tx, jax.random.key(0), batch)
    state, _ = jax.jit(make_train_step(method, tx))(state0, batch)
    for group in method.groups:
        assert any(not np.array_equal(a, b) for a, b in
                   zip(jax.tree.leaves(state0.params[group]), jax.tree.leaves(state.params[group])))


def test_training_reduces_error_and_predict_restores_metric_frame():
    config = small_config(1, input_modality="kp3d", beta=1e-5)
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    train, test = random_hands(256, seed=1), random_hands(64, seed=2)
    state = create_train_state(method, tx, jax.random.key(0), train)
    step = jax.jit(make_train_step(method, tx))
    predict = jax.jit(method.predict)

    def epe_mm(state):
        pred = predict(state.params, state.model_state, test)
        return float(jnp.mean(jnp.linalg.norm(pred - test["keypoints_3d"], axis=-1))) * 1000

    before = epe_mm(state)
    for _ in range(300):
        state, _ = step(state, train)
    after = epe_mm(state)
    assert after < 0.5 * before, (before, after)
    # The predictions are in metres in the camera frame: the ground-truth root is restored exactly.
    pred = predict(state.params, state.model_state, test)
    assert float(jnp.max(jnp.abs(pred[:, 0] - test["keypoints_3d"][:, 0]))) < 0.02


def test_non_finite_loss_leaves_state_unchanged():
    config = small_config(1)
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    batch = random_hands(8)
    state0 = create_train_state(method, tx, jax.random.key(0), batch)
    bad = dict(batch, keypoints_3d=batch["keypoints_3d"].at[0, 5, 0].set(jnp.nan))
    state, metrics = jax.jit(make_train_step(method, tx))(state0, bad)
    assert not np.isfinite(float(metrics["kp2d->kp3d"]["loss"]))
    for a, b in zip(jax.tree.leaves(state0.params), jax.tree.leaves(state.params)):
        np.testing.assert_array_equal(a, b)
    assert int(state.step) == 1


def test_non_finite_gradient_with_a_finite_loss_leaves_state_unchanged():
    """0 * sqrt(0 * (1 + |theta|^2)) adds 0 to the loss and NaN to the gradient."""
    from jaxhands.methods.base import Phase

    config = small_config(1)
    method = CrossModalVAE(config)
    phase = method.phases[0]

    def trapped(params, model_state, batch, rng, step):
        value, aux = phase.loss(params, model_state, batch, rng, step)
        theta = jax.tree.leaves(params[phase.groups[0]])[0]
        return value + 0.0 * jnp.sqrt(0.0 * (1.0 + jnp.sum(theta ** 2))), aux

    method.phases = (Phase(phase.name, phase.groups, trapped),)
    tx = group_optimizers(method, config)
    batch = random_hands(8)
    state0 = create_train_state(method, tx, jax.random.key(0), batch)
    state, metrics = jax.jit(make_train_step(method, tx))(state0, batch)
    assert np.isfinite(float(metrics[phase.name]["loss"])) and not np.isfinite(float(metrics[phase.name]["grad_norm"]))
    for a, b in zip(jax.tree.leaves((state0.params, state0.opt_state)), jax.tree.leaves((state.params, state.opt_state))):
        np.testing.assert_array_equal(a, b)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="unknown modality 'nope'"):
        CrossModalVAE(small_config(1, pairs=("nope->kp3d",)))
    with pytest.raises(ValueError, match="schedule"):
        CrossModalVAE(small_config(1, schedule="random"))


def test_host_dispatched_phases_equal_the_switch_step():
    from jaxhands.training.step import PhaseDispatch

    config = small_config(4)
    method = CrossModalVAE(config)
    tx = group_optimizers(method, config)
    batch = random_hands(8)
    state_a = state_b = create_train_state(method, tx, jax.random.key(0), batch)
    switch = jax.jit(make_train_step(method, tx))
    dispatch = PhaseDispatch(method, [jax.jit(make_train_step(method, tx, phase=k)) for k in range(3)])
    for s in range(4):
        state_a, metrics_a = switch(state_a, batch)
        state_b, metrics_b = dispatch(s, state_b, batch)
        # The dispatched step reports its own phase; the switch form every phase, the idle ones with count 0.
        (active,) = metrics_b
        assert active == method.phases[method.phase_schedule.index(s)].name
        assert [k for k, m in metrics_a.items() if float(m["count"])] == [active]
        for name, value in metrics_b[active].items():
            np.testing.assert_allclose(np.asarray(metrics_a[active][name]), np.asarray(value), rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_undefined_joints_are_not_reconstruction_targets():
    """NYU/ICVL lack some canonical joints (stored as zeros, keypoints_defined False)."""
    config = small_config(1, input_modality="kp3d")
    method = CrossModalVAE(config)
    batch = random_hands(4)
    params, model_state = method.init(jax.random.key(0), batch)
    defined = jnp.ones((4, 21), bool).at[:, 8].set(False)
    loss = method.phases[0].loss
    with_defined = dict(batch, keypoints_defined=defined)
    masked = loss(params, model_state, with_defined, jax.random.key(1), 0)[1][0]["kp3d->kp3d/recon"]
    full = loss(params, model_state, batch, jax.random.key(1), 0)[1][0]["kp3d->kp3d/recon"]
    # Same noise, same predictions: the masked loss is the full one minus joint 8's squared error.
    assert 0.0 < float(masked) < float(full)
    all_undefined = dict(batch, keypoints_defined=jnp.zeros((4, 21), bool))
    assert float(loss(params, model_state, all_undefined, jax.random.key(1), 0)[1][0]["kp3d->kp3d/recon"]) == 0.0


def test_invariance_joints_missing_from_dataset_is_a_clear_error():
    from jaxhands.training.experiment import check_invariance_joints

    config = small_config(1)
    config.dataset = "nyu"
    defined = np.ones((2, 21), bool)
    defined[:, 0] = False  # no wrist, as in NYU and ICVL
    with pytest.raises(ValueError, match=r"config.invariances.root uses joint\(s\) \['wrist'\].*'nyu'"):
        check_invariance_joints(config, {"keypoints_defined": defined})
    config.invariances.root = "middle_mcp"
    config.invariances.reference_bone = ("middle_mcp", "middle_pip")
    check_invariance_joints(config, {"keypoints_defined": defined})  # now fine


def test_recon_weights_scale_exactly_their_modalitys_term():
    """Var. 3 on 2D input: weighting kp2d's reconstruction by 0.25 changes only the 2D -> 2D
    pair's loss, by 0.75 of its (unweighted, logged) reconstruction; a decoded modality
    without a declared weight is a clear error."""
    batch = random_hands(4)

    def losses(**weights):
        config = small_config(3)
        config.recon_weights.update(weights)
        method = CrossModalVAE(config)
        params, model_state = method.init(jax.random.key(0), batch)
        return [(float(l), {k: float(v) for k, v in m.items()}) for l, (m, _) in
                (phase.loss(params, model_state, batch, jax.random.key(1), 0) for phase in method.phases)]

    (to_3d, m3), (to_2d, m2) = losses()
    (to_3d_w, _), (to_2d_w, m2_w) = losses(kp2d=0.25)
    assert to_3d_w == to_3d
    assert m2_w["kp2d->kp2d/recon"] == m2["kp2d->kp2d/recon"] > 0
    np.testing.assert_allclose(to_2d - to_2d_w, 0.75 * m2["kp2d->kp2d/recon"], rtol=1e-5)
    config = small_config(3)
    del config.recon_weights["kp2d"]
    with pytest.raises(ValueError, match=r"recon_weights has no weight for the decoded modalities \['kp2d'\]"):
        CrossModalVAE(config)


def test_every_built_in_modality_has_a_declared_reconstruction_weight():
    from jaxhands.configs.base import base_config
    from jaxhands.methods.modality_registry import modality_names

    assert sorted(base_config().recon_weights) == modality_names()
