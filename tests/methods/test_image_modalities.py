"""Image modalities of the cross-modal VAE: input normalisation by hand, registry and batch
fields, semi-supervised masking, crop/un-crop, and a small learning test."""

import jax
import numpy as np
import optax
import pytest

from jaxhands.configs import base_config
from jaxhands.data.cropping import full_to_crop
from jaxhands.geometry import layouts
from jaxhands.inference import crop_image, crop_keypoints_to_full, hand_crop_box
from jaxhands.methods import image_modalities
from jaxhands.methods.cross_modal import CrossModalVAE
from jaxhands.methods.modality_registry import get_modality


def _config(pairs, image_size=16, **extra):
    c = base_config()
    c.update(dict(
        pairs=tuple(pairs), latent_dim=8, beta=1e-4, schedule="joint", image_size=image_size, resnet_depth=18,
        resnet_width=4, heatmap_size=8, mlp_width=32, mlp_layers=2, image_decoder_channels=32,
        heatmap_decoder_channels=16, predict_from=""))
    c.lock()
    c.update(extra)
    return c


def test_rgb_input_is_in_minus_half_to_half():
    image = np.array([0, 51, 255], np.uint8).reshape(1, 1, 3, 1).repeat(3, -1)
    out = np.asarray(image_modalities.rgb_input({"image": image}))
    np.testing.assert_allclose(out[0, 0, :, 0], [-0.5, -0.3, 0.5], atol=1e-6)


def test_depth_is_translation_free_and_bounded():
    # Measured depths 0.50 and 0.70 (centre 0.60), one pixel without depth, one 0.4 m behind the hand.
    depth = np.array([[[0.50, 0.70], [0.0, 0.0]]], np.float32)
    out = np.asarray(image_modalities.normalize_depth(depth, cube_size=0.3))
    np.testing.assert_allclose(out, [[[-0.1 / 0.3, 0.1 / 0.3], [0.5, 0.5]]], atol=1e-6)
    far = np.array([[[0.5, 0.5, 0.5, 1.7]]], np.float32)  # centre 0.8: the 0.5s are 0.3 in front -> outside
    out = np.asarray(image_modalities.normalize_depth(far, cube_size=0.3))
    np.testing.assert_allclose(out, [[[0.5, 0.5, 0.5, 0.5]]])
    shifted = np.asarray(image_modalities.normalize_depth(depth + np.where(depth > 0, 0.25, 0.0)))
    np.testing.assert_allclose(shifted, np.asarray(image_modalities.normalize_depth(depth)), atol=1e-6)


def test_heatmap_keypoints_are_fractions_of_the_image():
    batch = {"keypoints_2d": np.array([[[8.0, 4.0]] * 21], np.float32), "mask": np.zeros((1, 16, 32), np.uint8)}
    np.testing.assert_allclose(np.asarray(image_modalities.heatmap_keypoints(batch))[0, 0], [0.25, 0.25])


def test_registry_fields_and_semi_supervised_masks():
    assert not get_modality("rgb").needs_label and not get_modality("depth").needs_label
    assert get_modality("heatmap").needs_label
    with pytest.raises(ValueError, match="decoder-only"):
        get_modality("heatmap").make_encoder(_config(["rgb->kp3d"]))
    vae = CrossModalVAE(_config(["rgb->kp3d", "rgb->rgb", "rgb->heatmap"]))
    assert set(vae.batch_fields) == {"image", "keypoints_3d", "keypoints_2d", "mask"}
    assert set(CrossModalVAE(_config(["depth->kp3d"])).batch_fields) == {"depth", "keypoints_3d"}
    batch = {"labelled": np.array([True, False])}
    assert vae._sample_mask(batch, "rgb", "rgb") is None
    np.testing.assert_array_equal(vae._sample_mask(batch, "rgb", "kp3d"), [1.0, 0.0])
    np.testing.assert_array_equal(vae._sample_mask(batch, "rgb", "heatmap"), [1.0, 0.0])


def test_crop_and_uncrop_map_keypoints_back_exactly():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([40, 30], [90, 100], (21, 2))
    box = hand_crop_box((120, 160), keypoints_2d=keypoints, fill=0.6)
    extent = keypoints.max(0) - keypoints.min(0)
    assert box.width == pytest.approx(extent.max() / 0.6) and box.height == box.width
    crop_uv = full_to_crop(keypoints, box, 64)
    assert np.all((crop_uv >= 0) & (crop_uv <= 64))
    np.testing.assert_allclose(crop_keypoints_to_full(crop_uv, box, 64), keypoints, rtol=0, atol=1e-9)
    # A lone bright pixel lands where the map says: the crop's brightest pixel holds its centre.
    image = np.zeros((120, 160, 3), np.uint8)
    image[70, 50] = 255  # centre (50.5, 70.5)
    square = hand_crop_box((120, 160), keypoints_2d=np.array([[30.0, 50.0], [70.0, 90.0]]), fill=1.0)
    crop = crop_image(image, square, 40)  # 1 output pixel per source pixel
    row, col = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    np.testing.assert_allclose(full_to_crop([50.5, 70.5], square, 40), [col + 0.5, row + 0.5], atol=1e-9)
    mask = np.zeros((120, 160), np.uint8)
    mask[20:50, 30:45] = 1
    from_mask = hand_crop_box((120, 160), mask=mask, fill=0.5)
    assert (from_mask.width, from_mask.u0 + from_mask.width / 2, from_mask.v0 + from_mask.height / 2) == (60.0, 37.5, 35.0)


def _toy_batch(n, rng):
    """16 px images whose grey level a in [-1, 1] sets how far the fingers bend sideways."""
    a = rng.uniform(-1, 1, n).astype(np.float32)
    base = np.zeros((21, 3), np.float32)
    for finger, start in layouts.FINGER_BASE.items():
        x = {"thumb": -0.04, "index": -0.02, "middle": 0.0, "ring": 0.02, "little": 0.04}[finger]
        for k in range(4):
            base[start + k] = [x, -0.08 - 0.02 * k, 0.0]
    bend = np.zeros((21, 3), np.float32)
    bend[:, 0] = 0.03 * (np.arange(21) % 4 != 1)  # every joint but the middle MCP row moves sideways
    bend[layouts.WRIST] = 0.0
    bend[layouts.REFERENCE_BONE[1]] = 0.0  # keep the reference bone, so the S invariance sees one scale
    joints = base[None] + a[:, None, None] * bend[None] + np.array([0.0, 0.0, 0.5], np.float32)
    level = np.clip(np.rint(127.5 + 100 * a), 0, 255).astype(np.uint8)
    image = np.broadcast_to(level[:, None, None, None], (n, 16, 16, 3)).copy()
    return {"image": image, "keypoints_3d": joints.astype(np.float32), "hand_side": np.ones(n, np.int32)}


def test_rgb_to_3d_and_rgb_to_rgb_learn_a_toy_task():
    rng = np.random.default_rng(0)
    vae = CrossModalVAE(_config(["rgb->kp3d", "rgb->rgb"]))
    train = _toy_batch(16, rng)
    params, state = vae.init(jax.random.key(0), train)
    tx = optax.adam(3e-3)
    opt = tx.init(params)
    loss_fn = vae.phases[0].loss

    @jax.jit
    def step(params, state, opt, key, s):
        (_, (metrics, state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, train, key, s)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), state, opt, metrics

    first = None
    for s in range(120):
        params, state, opt, metrics = step(params, state, opt, jax.random.key(s), s)
        first = first or {k: float(v) for k, v in metrics.items()}
    assert float(metrics["rgb->kp3d/recon"]) < 0.3 * first["rgb->kp3d/recon"]
    assert float(metrics["rgb->rgb/recon"]) < 0.3 * first["rgb->rgb/recon"]
    # Predictions (eval mode, frozen BN statistics) beat the mean pose on the training set.
    pred = np.asarray(vae.predict(params, state, train))
    err = np.linalg.norm(pred - train["keypoints_3d"], axis=-1).mean()
    mean_pose = train["keypoints_3d"].mean(0, keepdims=True)
    assert err < 0.5 * np.linalg.norm(mean_pose - train["keypoints_3d"], axis=-1).mean()
