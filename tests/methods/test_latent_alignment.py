"""Yang et al. 2019 strategies S1-S4 (jaxhands.methods.latent_alignment) and the point modalities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.configs.yang19 import latent_alignment_config
from jaxhands.geometry import layouts
from jaxhands.methods.latent_alignment import LatentAlignment
from jaxhands.methods.modalities import Invariances
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.point_modalities import cloud_input, pose_to_camera, pose_vc_target, view_rotation
from jaxhands.training.optimizer import group_optimizers
from jaxhands.training.state import create_train_state
from jaxhands.training.step import make_train_step
from tests.methods.test_cross_modal import random_hands

NUM_POINTS = 16


def hand_batch(n=4, seed=0):
    """random_hands plus a cloud of NUM_POINTS noisy points around the joints (camera frame)."""
    batch = random_hands(n, seed)
    rng = np.random.default_rng(seed + 1)
    joints = np.asarray(batch["keypoints_3d"])
    pick = rng.integers(0, 21, (n, NUM_POINTS))
    points = np.take_along_axis(joints, pick[..., None], axis=1) + rng.normal(0, 0.005, (n, NUM_POINTS, 3))
    batch["points"] = jnp.asarray(points, jnp.float32)
    batch["record_index"] = jnp.arange(n, dtype=jnp.int32)
    return batch


def tiny_config(strategy, input_modality="kp2d", extra=(), aligned="", **overrides):
    c = latent_alignment_config(strategy, input_modality, extra, aligned)
    c.latent_dim, c.num_points = 8, NUM_POINTS
    c.mlp_width, c.mlp_layers = 16, 1
    c.respel_width, c.respel_blocks, c.folding_width = 16, 1, 16
    c.pose_decoder_width, c.pose_decoder_layers, c.joint_width = 16, 2, 16
    c.cloud_emd_weight = 0.0  # the auction EMD compiles slowly; test_cloud_loss_is_chamfer_plus_emd covers it
    c.update(overrides)
    return c


# -- point modalities -------------------------------------------------------------

def test_cloud_is_view_corrected_centred_and_normalised():
    batch = hand_batch()
    cloud = np.asarray(cloud_input(batch))
    np.testing.assert_allclose(cloud.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt((cloud ** 2).sum(-1).mean(1)), 1, rtol=1e-5)
    # the rotation takes the cloud centre onto the optical axis
    centre = np.asarray(batch["points"]).mean(1)
    rotated = np.einsum("bij,bj->bi", np.asarray(view_rotation(batch)), centre)
    np.testing.assert_allclose(rotated[:, :2], 0, atol=1e-6)
    np.testing.assert_allclose(rotated[:, 2], np.linalg.norm(centre, axis=-1), rtol=1e-6)


def test_pose_and_cloud_share_the_view_corrected_frame():
    """With the joints themselves as the cloud: cloud * r + R (c - root) = pose * s."""
    batch = hand_batch()
    batch["points"] = batch["keypoints_3d"]
    inv = Invariances.from_config(latent_alignment_config("S1", "cloud"))
    joints = np.asarray(batch["keypoints_3d"], np.float64)
    root = joints[:, layouts.JOINT_INDEX["middle_mcp"]]
    scale = np.linalg.norm(joints[:, layouts.JOINT_INDEX["middle_mcp"]] - joints[:, layouts.WRIST], axis=-1)
    c = joints.mean(1)
    r = np.sqrt(((joints - c[:, None]) ** 2).sum(-1).mean(1))
    rot = np.asarray(view_rotation(batch), np.float64)
    lhs = np.asarray(cloud_input(batch)) * r[:, None, None] + np.einsum("bij,bj->bi", rot, c - root)[:, None]
    rhs = np.asarray(pose_vc_target(batch, inv)) * scale[:, None, None]
    np.testing.assert_allclose(lhs, rhs, atol=1e-5)
    # and pose_to_camera inverts the target exactly
    np.testing.assert_allclose(pose_to_camera("kp3d_vc", pose_vc_target(batch, inv), batch, inv), joints, atol=1e-5)


def test_cloud_loss_is_chamfer_plus_emd_with_weights():
    from jaxhands.losses import chamfer_distance, exact_emd

    modality = get_modality("cloud")
    a, b = hand_batch(2)["points"], hand_batch(2, seed=5)["points"]
    expected = 2.0 * chamfer_distance(a, b) + 0.5 * exact_emd(a, b)
    got = modality.reconstruction_loss(a, b, chamfer_weight=2.0, emd_weight=0.5)
    np.testing.assert_allclose(got, expected, rtol=0.02)  # the auction EMD is within 5 % (~0.1 % measured)
    assert not modality.needs_label


def test_cloud_emd_tolerance_reaches_the_auction():
    """config.cloud_emd_rel_tol is the auction's rel_tol: the loss equals approx_emd at that
    tolerance, and a looser one stays within it of the exact EMD."""
    from jaxhands.losses import approx_emd, exact_emd

    modality = get_modality("cloud")
    config = tiny_config("S2", extra=("cloud",), cloud_chamfer_weight=0.0, cloud_emd_weight=1.0,
                         cloud_emd_rel_tol=0.3)
    assert modality.loss_options(config) == dict(chamfer_weight=0.0, emd_weight=1.0, emd_rel_tol=0.3)
    a, b = hand_batch(2)["points"], hand_batch(2, seed=5)["points"]
    got = modality.loss(a, b, config)
    np.testing.assert_allclose(got, approx_emd(a, b, rel_tol=0.3), rtol=1e-6)
    exact = float(exact_emd(a, b))
    assert exact <= float(got) * (1 + 1e-6) <= 1.3 * exact


# -- strategies -----------------------------------------------------------------

STRATEGY_GROUPS = {
    "S1": (tiny_config("S1"), {"enc_kp2d", "dec_kp3d_vc"}),
    "S2": (tiny_config("S2", extra=("cloud",)), {"enc_kp2d", "dec_kp3d_vc", "dec_cloud"}),
    "S3": (tiny_config("S3", extra=("cloud",), aligned="cloud"), {"enc_kp2d", "enc_joint", "dec_kp3d_vc", "dec_cloud"}),
    "S4": (tiny_config("S4", extra=("cloud",), aligned="cloud"), {"enc_kp2d", "enc_cloud", "dec_kp3d_vc", "dec_cloud"}),
}


@pytest.mark.parametrize("strategy", sorted(STRATEGY_GROUPS))
def test_strategy_trains_its_groups_through_the_generic_step(strategy):
    config, groups = STRATEGY_GROUPS[strategy]
    method = LatentAlignment(config)
    assert set(method.groups) == groups and len(method.phases) == 1 and set(method.phases[0].groups) == groups
    batch = hand_batch()
    tx = group_optimizers(method, config)
    state = create_train_state(method, tx, jax.random.key(0), batch)
    step = jax.jit(make_train_step(method, tx))
    new_state, metrics = step(state, batch)
    phase_metrics = metrics[method.phases[0].name]
    assert np.isfinite(float(phase_metrics["loss"]))
    for g in groups:
        moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), new_state.params[g], state.params[g])
        assert max(jax.tree.leaves(moved)) > 0, f"{strategy}: group {g} did not update"
    pred = method.predict(new_state.params, new_state.model_state, batch)
    assert pred.shape == (4, 21, 3) and np.all(np.isfinite(np.asarray(pred)))


def test_unlabelled_samples_train_only_the_cloud_parts():
    """Weak supervision: with every label withheld, C -> CP moves the encoder and cloud decoder, not the pose decoder."""
    config = tiny_config("S2", "cloud", extra=("cloud",))
    method = LatentAlignment(config)
    batch = dict(hand_batch(), labelled=jnp.zeros(4, bool))
    tx = group_optimizers(method, config)
    state = create_train_state(method, tx, jax.random.key(0), batch)
    new_state, metrics = jax.jit(make_train_step(method, tx))(state, batch)
    changed = {g: max(jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))),
                                                   new_state.params[g], state.params[g]))) for g in method.groups}
    assert changed["dec_kp3d_vc"] == 0.0
    assert changed["enc_cloud"] > 0 and changed["dec_cloud"] > 0
    assert float(metrics[method.phases[0].name]["cloud/kp3d_vc"]) == 0.0


def np_kl(mu_q, lv_q, mu_p, lv_p):
    mu_q, lv_q, mu_p, lv_p = (np.asarray(a, np.float64) for a in (mu_q, lv_q, mu_p, lv_p))
    return 0.5 * np.sum(lv_p - lv_q + (np.exp(lv_q) + (mu_q - mu_p) ** 2) / np.exp(lv_p) - 1, -1)


def _state(method, batch):
    params, model_state = method.init(jax.random.key(3), batch)
    # Move the encoders off their near-standard-normal init so the KLs are not ~0.
    params = {g: jax.tree.map(lambda p: p * 1.5, v) if g.startswith("enc_") else v for g, v in params.items()}
    return params, model_state



def test_s3_joint_posterior_starts_as_narrow_as_the_image_one():
    """encoder_logvar_init sets the joint head's initial log-variance as it does the unimodal
    encoders': with both at -6 the initial alignment KL is the means' term alone, far below
    the variance mismatch of a joint head at 0 (0.5 * latent_dim * (e^6 - 1 - 6) nats)."""
    config = tiny_config("S3", extra=("cloud",), aligned="cloud", encoder_logvar_init=-6.0)
    method = LatentAlignment(config)
    batch = hand_batch()
    params, model_state = method.init(jax.random.key(0), batch)
    np.testing.assert_array_equal(np.asarray(params["enc_joint"]["head"]["logvar"]["bias"]), -6.0)
    (mu_x, lv_x), _ = method.encode(params, model_state, "kp2d", batch)
    (mu_j, lv_j), _ = method.encode(params, model_state, "joint", batch)
    variance_term = 0.5 * (np.exp(np.asarray(lv_j) - np.asarray(lv_x)) - 1 - (np.asarray(lv_j) - np.asarray(lv_x)))
    assert variance_term.sum(-1).mean() < 0.1 * 0.5 * config.latent_dim * (np.exp(6.0) - 7.0)

@pytest.mark.parametrize("align_beta_start, align_steps, step, weight", [
    (None, None, 0, 0.7),
    # log-linear warm-up over beta_anneal_steps = 100: exp(log 0.007 + 0.5 log(0.7 / 0.007)) at step 50
    (0.007, None, 50, 0.07),
    # over its own 25 steps: done by step 50 (beta's 100-step warm-up is still halfway)
    (0.007, 25, 50, 0.7),
    # a quarter of 200 steps: exp(log 0.007 + 0.25 log 100) = 0.007 * 10 ** 0.5
    (0.007, 200, 50, 0.007 * 10 ** 0.5),
])
def test_s3_alignment_kl_matches_closed_form(align_beta_start, align_steps, step, weight):
    config = tiny_config("S3", extra=("cloud",), aligned="cloud", align_beta=0.7,
                         align_beta_start=align_beta_start, beta_anneal_steps=100,
                         align_beta_anneal_steps=align_steps)
    method = LatentAlignment(config)
    batch = hand_batch()
    params, model_state = _state(method, batch)
    loss, (metrics, _) = method.loss(params, model_state, batch, jax.random.key(1), step)
    np.testing.assert_allclose(float(metrics["align_beta"]), weight, rtol=1e-5)
    (mu_x, lv_x), _ = method.encode(params, model_state, "kp2d", batch)
    (mu_j, lv_j), _ = method.encode(params, model_state, "joint", batch)
    align = np_kl(mu_j, lv_j, mu_x, lv_x).mean()
    assert align > 0.05
    np.testing.assert_allclose(float(metrics["align_kl"]), align, rtol=1e-4)
    np.testing.assert_allclose(float(metrics["kp2d/kl"]), np_kl(mu_x, lv_x, 0 * mu_x, 0 * lv_x).mean(), rtol=1e-4)
    np.testing.assert_allclose(float(metrics["joint/kl"]), np_kl(mu_j, lv_j, 0 * mu_j, 0 * lv_j).mean(), rtol=1e-4)
    beta = float(metrics["beta"])
    expected = sum(float(metrics[f"{p}/{d}"]) for p in ("kp2d", "joint") for d in ("kp3d_vc", "cloud")) \
        + beta * (float(metrics["kp2d/kl"]) + float(metrics["joint/kl"])) + weight * align
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_s4_product_of_experts_and_loss_match_closed_form():
    config = tiny_config("S4", extra=("cloud", "heatmap"), aligned="cloud", heatmap_size=8)
    method = LatentAlignment(config)
    batch = dict(hand_batch(), mask=jnp.zeros((4, 64, 64), jnp.uint8))
    params, model_state = _state(method, batch)
    (mu_x, lv_x), _ = method.encode(params, model_state, "kp2d", batch)
    (mu_w, lv_w), _ = method.encode(params, model_state, "cloud", batch)
    mu, lv = method.joint_posterior(mu_x, lv_x, mu_w, lv_w)
    t1, t2 = np.exp(-np.asarray(lv_x, np.float64)), np.exp(-np.asarray(lv_w, np.float64))  # Eq. 6: T = 1 / Sigma
    np.testing.assert_allclose(mu, (np.asarray(mu_x) * t1 + np.asarray(mu_w) * t2) / (t1 + t2), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.exp(np.asarray(lv, np.float64)), 1 / (t1 + t2), rtol=1e-4)
    loss, (metrics, _) = method.loss(params, model_state, batch, jax.random.key(1), 0)
    assert "joint/kl" not in metrics  # Eq. 4: no KL term for the product
    np.testing.assert_allclose(float(metrics["cloud/kl"]), np_kl(mu_w, lv_w, 0 * mu_w, 0 * lv_w).mean(), rtol=1e-4)
    weights = {"kp3d_vc": 1.0, "cloud": 1.0, "heatmap": 0.01}
    beta = float(metrics["beta"])
    np.testing.assert_allclose(beta, 1e-5, rtol=1e-5)  # annealing starts at beta_start
    expected = sum(weights[d] * float(metrics[f"{p}/{d}"]) for p in ("kp2d", "cloud", "joint") for d in weights) \
        + beta * (float(metrics["kp2d/kl"]) + float(metrics["cloud/kl"]))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_config_errors():
    with pytest.raises(ValueError, match="strategy"):
        LatentAlignment(tiny_config("S5"))
    with pytest.raises(ValueError, match="aligned_modality"):
        LatentAlignment(tiny_config("S4", extra=("cloud",)))
    with pytest.raises(ValueError, match="S1"):
        LatentAlignment(tiny_config("S1", extra=("cloud",)))


def test_is_a_latent_model_whose_walk_ends_decode_the_two_inputs():
    """sample.py's interface (prior samples and latent walks of the input's encoder,
    decoded as the pose target), on an S2 model with a cloud decoder."""
    from jaxhands.methods.base import LatentModel

    method = LatentAlignment(tiny_config("S2", extra=("cloud",)))
    batch = hand_batch(2)
    params, state = method.init(jax.random.key(0), batch)
    assert isinstance(method, LatentModel) and method.predict_from == "kp2d"
    a = {k: v[:1] for k, v in batch.items()}
    b = {k: v[1:] for k, v in batch.items()}
    walk = np.asarray(method.latent_walk(params, state, a, b, 4))
    assert walk.shape == (4, 21, 3)
    for end, one in ((walk[0], a), (walk[-1], b)):
        (mu, _), _ = method.encode(params, state, "kp2d", one)
        np.testing.assert_allclose(end, np.asarray(method.decode(params, state, method.target, mu)[0])[0],
                                   atol=1e-5)
    prior = method.sample_prior(params, state, jax.random.key(1), 3)
    z = jax.random.normal(jax.random.key(1), (3, 8))
    np.testing.assert_allclose(prior, method.decode(params, state, method.target, z)[0], atol=1e-6)
    cloud_walk = method.latent_walk(params, state, a, b, 3, modality="cloud")
    assert cloud_walk.shape == (3, NUM_POINTS, 3)
