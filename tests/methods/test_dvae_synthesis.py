"""Yang & Yao 2019 synthesis dVAE (Fig. 2a; spec A, checks D1/D2 and a small D7): each
stage moves exactly its groups (the frozen decoders keep their batch statistics too),
the factor decoders read exactly their factor, transfer is the spliced decode, and a
short disentangling stage on images with shared plain backgrounds learns to paint one
hand on another image's background."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.configs import base_config
from jaxhands.methods.dvae_synthesis import DISENTANGLE_GROUPS
from jaxhands.methods.registry import build_method
from jaxhands.synthetic import SyntheticConfig
from jaxhands.synthetic.generator import generate_samples
from jaxhands.training.optimizer import group_optimizers
from jaxhands.training.state import create_train_state
from jaxhands.training.step import make_train_step

SIZE = 16


def _config(**fields):
    c = base_config()
    c.method = "disentangled_vae"
    c.dvae_variant = "synthesis"
    c.image_size = SIZE
    c.latent_dim = 8
    c.mlp_width, c.mlp_layers = 32, 2
    c.resnet_width = 4
    c.image_decoder_channels = 16
    c.dvae_disentangle_steps = 2
    c.dvae_lambda_y, c.dvae_beta_disentangle = 0.01, 100.0
    c.update(fields)
    return c


def _data(n, k=2, seed=0):
    samples = generate_samples(range(n), seed=seed, image_size=SIZE, num_points=8,
                               config=SyntheticConfig(num_backgrounds=k, background="plain"))
    return {name: jnp.asarray(samples[name]) for name in ("image", "tag_image", "keypoints_3d", "hand_side",
                                                          "content_id", "mask")}


@pytest.fixture(scope="module")
def batch():
    return _data(6)


@pytest.mark.parametrize("phase", [0, 1])
def test_each_stage_changes_exactly_its_groups(phase, batch):
    """D1: the disentangling stage moves the pose and tag encoders and every decoder; the
    embedding stage moves only the image encoder, and the frozen decoders' batch
    statistics stay as they were."""
    config = _config()
    method = build_method(config)
    optimizers = group_optimizers(method, config)
    state0 = create_train_state(method, optimizers, jax.random.key(0), batch)
    state, metrics = jax.jit(make_train_step(method, optimizers, phase=phase))(state0, batch)
    name = method.phases[phase].name
    assert np.isfinite(float(metrics[name]["loss"]))
    trained = set(DISENTANGLE_GROUPS) if phase == 0 else {"enc_rgb"}
    for group in method.groups:
        same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state0.params[group]),
                                                        jax.tree.leaves(state.params[group])))
        assert same == (group not in trained), (name, group)
        if phase == 1 and group != "enc_rgb":
            assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state0.model_state[group]),
                                                            jax.tree.leaves(state.model_state[group]))), group


def test_factor_decoders_read_exactly_their_factor_and_transfer_splices(batch):
    """D2: d Dp / d z_t and d Dt / d z_p are exact zeros, the image decoder reads both;
    transfer(A, B) = Dx([z_p(A), z_t(B)]) and transfer(A, A) reconstructs A."""
    method = build_method(_config())
    params, state = method.init(jax.random.key(0), batch)
    z = jax.random.normal(jax.random.key(1), (1, 8))
    k = 4

    def jac(modality):
        out = jax.jacobian(lambda z: method.decode(params, state, modality, z)[0])(z)
        return np.asarray(out).reshape(-1, 8)
    np.testing.assert_array_equal(jac("kp3d")[:, k:], 0.0)
    np.testing.assert_array_equal(jac("tag")[:, :k], 0.0)
    image = jac("rgb")
    assert np.abs(image[:, :k]).max() > 0 and np.abs(image[:, k:]).max() > 0

    a = {name: v[:3] for name, v in batch.items()}
    b = {name: v[3:] for name, v in batch.items()}
    (za, _), _ = method.encode(params, state, "labels", a)
    (zb, _), _ = method.encode(params, state, "labels", b)
    spliced = method.decode(params, state, "rgb", jnp.concatenate([za[:, :k], zb[:, k:]], -1))[0]
    np.testing.assert_allclose(method.transfer(params, state, a, b), spliced, atol=1e-6)
    np.testing.assert_allclose(method.transfer(params, state, a, a), method.decode(params, state, "rgb", za)[0],
                               atol=1e-6)
    walk = method.factor_walk(params, state, a, b, 3, factor="content", modality="rgb")
    assert walk.shape == (3, 3, SIZE, SIZE, 3)
    np.testing.assert_allclose(walk[:, -1], spliced, atol=1e-5)
    with pytest.raises(ValueError, match="dvae_variant"):
        build_method(_config(dvae_variant="zu"))
    with pytest.raises(ValueError, match="tag_image"):
        method.data({name: v for name, v in batch.items() if name != "tag_image"})


@pytest.mark.parametrize("variant", ["synthesis", "synthesis_zu"])
def test_embedding_prices_the_pose_half_at_the_pose_factors_weight(variant, batch):
    """dvae_beta_pose sets z_p's KL weight in the embedding too (beta_pose'), the content
    half keeps dvae_beta_embed; unset, both halves carry the one beta' of Eq. 4."""
    from jaxhands.losses.elbo import kl_to_standard_normal

    losses = {}
    for beta_pose in (None, 0.25):
        config = _config(dvae_variant=variant, dvae_beta_embed=3.0, dvae_beta_pose=beta_pose)
        method = build_method(config)
        params, state = method.init(jax.random.key(0), batch)
        loss, (metrics, _) = method.embed_loss(params, state, batch, jax.random.key(1), 0)
        losses[beta_pose] = float(loss)
    (mu, logvar), _ = method.encode(params, state, "rgb", batch, train=True)  # as the loss sees it
    k = method.factor_dim
    kl_pose = float(kl_to_standard_normal(mu[:, :k], logvar[:, :k]).mean())
    kl_content = float(kl_to_standard_normal(mu[:, k:], logvar[:, k:]).mean())
    assert kl_pose > 0.01 and kl_content > 0.01
    np.testing.assert_allclose([metrics["kl_pose"], metrics["kl_content"], metrics["kl"]],
                               [kl_pose, kl_content, kl_pose + kl_content], rtol=1e-5)
    # Same params and noise: the losses differ by the pose half's KL times the change of weight.
    np.testing.assert_allclose(losses[None] - losses[0.25], (3.0 - 0.25) * kl_pose, rtol=1e-4)


def test_disentangling_stage_paints_one_hand_on_another_background():
    """D7 in small: after a short disentangling stage on 16 px images over 2 plain
    contents, [z_p(A), z_t(B)] decodes an image whose background (off A's hand) is
    nearer B's colour than A's for at least 90 % of the pairs with different contents."""
    # beta 100 at 256 px, scaled to 16 px as the config scales it (its ratio to the pixel
    # count); beta 100 itself at 16 px prices the content code above the whole image error.
    config = _config(latent_dim=16, mlp_width=64, learning_rate=1e-3, dvae_beta_disentangle=100.0 * (16 / 256) ** 2)
    method = build_method(config)
    optimizers = group_optimizers(method, config)
    data = _data(288, k=2, seed=1)
    train = {name: v[:256] for name, v in data.items()}
    test = {name: v[256:] for name, v in data.items()}
    state = create_train_state(method, optimizers, jax.random.key(0), {k: v[:32] for k, v in train.items()})
    step = jax.jit(make_train_step(method, optimizers, phase=0))
    for i in range(300):
        rows = np.random.default_rng(i).choice(256, 32, replace=False)
        state, _ = step(state, {k: v[rows] for k, v in train.items()})
    a = np.arange(32)
    b = (a + 1) % 32
    different = np.asarray(test["content_id"])[a] != np.asarray(test["content_id"])[b]
    assert different.sum() >= 8
    out = np.asarray(method.transfer(state.params, state.model_state, {k: v[a] for k, v in test.items()},
                                     {k: v[b] for k, v in test.items()}))
    background = np.asarray(test["mask"])[a] == 0  # off A's hand
    colour = lambda images: (np.asarray(images, np.float32) / 255.0 - 0.5)  # noqa: E731
    to_b = np.array([np.abs(out[i] - colour(test["tag_image"][b[i]]))[background[i]].mean() for i in range(32)])
    to_a = np.array([np.abs(out[i] - colour(test["tag_image"][a[i]]))[background[i]].mean() for i in range(32)])
    assert (to_b < to_a)[different].mean() >= 0.9, (to_b[different], to_a[different])


def test_trains_evaluates_and_samples_through_the_command_lines(tmp_path):
    """The named config runs end to end on a tiny shared-contents dataset: train.py (both
    stages), eval.py, and sample.py's transfers and factor walks (as skeletons and images)."""
    import json

    from tests.command_lines import assert_scores_another_dataset, logged_phases, run_script

    workdir = tmp_path / "run"
    overrides = [f"--config.data_dir={tmp_path / 'data'}", "--config.image_size=16", "--config.synthetic_num_train=64",
                 "--config.synthetic_num_test=16", "--config.batch_size=8", "--config.dvae_disentangle_steps=3",
                 "--config.num_train_steps=6", "--config.log_every=3", "--config.checkpoint_every=6",
                 "--config.eval_every=0", "--config.mlp_width=32", "--config.mlp_layers=2", "--config.resnet_width=4",
                 "--config.image_decoder_channels=16", "--config.synthetic_num_backgrounds=3"]
    run_script("train.py", "--config=yangyao19_dvae_synthesis", *overrides, f"--workdir={workdir}", "--noprogress")
    assert logged_phases(workdir) == [{"disentangle"}, {"embed"}]
    run_script("eval.py", f"--workdir={workdir}")
    run_script("sample.py", f"--workdir={workdir}", "--pairs=2", "--walk_steps=3", "--num_prior=4")
    metrics = json.loads((workdir / "eval" / "metrics.json").read_text())
    assert metrics["step"] == 6 and metrics["num_samples"] == 16 and np.isfinite(metrics["mean_epe_mm"])
    samples = np.load(workdir / "samples" / "samples.npz")
    assert samples["content_walks_rgb"].shape == samples["pose_walks_rgb"].shape == (2, 3, 16, 16, 3)
    assert samples["transfers_from_labels"].shape == (8, 16, 16, 3)
    for name in ("transfers.png", "pose_walks.png", "content_walks_rgb.png", "rgb_walks.png", "rgb_prior.png"):
        assert (workdir / "samples" / name).exists(), name
    assert_scores_another_dataset(workdir, tmp_path / "other")  # issue 18: train on A, test on B
