"""Heatmaps: Gaussian targets, argmax / soft-argmax recover the keypoints, Yang's L2 loss, decoder size."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.models.heatmap import (HeatmapDecoder, gaussian_heatmaps, heatmap_argmax, heatmap_loss,
                                     heatmap_soft_argmax, image_to_heatmap_coords)


def test_gaussian_values_by_hand():
    maps = gaussian_heatmaps(jnp.array([[[2.5, 1.5]]]), 4, 5, sigma=1.0)  # [1, 4, 5, 1]
    assert maps.shape == (1, 4, 5, 1)
    assert float(maps[0, 1, 2, 0]) == pytest.approx(1.0)  # pixel (row 1, col 2) centre = (2.5, 1.5)
    assert float(maps[0, 1, 3, 0]) == pytest.approx(np.exp(-0.5))  # one pixel right
    assert float(maps[0, 2, 3, 0]) == pytest.approx(np.exp(-1.0))  # one diagonal step


def test_argmax_recovers_keypoints():
    rng = np.random.default_rng(0)
    centres = rng.integers(0, 32, (3, 21, 2)) + 0.5
    maps = gaussian_heatmaps(jnp.asarray(centres), 32, 32, sigma=1.0)
    np.testing.assert_array_equal(np.asarray(heatmap_argmax(maps)), centres)
    subpixel = rng.uniform(0, 32, (3, 21, 2))
    found = np.asarray(heatmap_argmax(gaussian_heatmaps(jnp.asarray(subpixel), 32, 32, sigma=1.0)))
    assert np.max(np.abs(found - subpixel)) <= 0.5 + 1e-6


def test_soft_argmax_recovers_subpixel_keypoints():
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(8, 24, (2, 21, 2))
    maps = gaussian_heatmaps(jnp.asarray(keypoints), 32, 32, sigma=1.5)
    np.testing.assert_allclose(np.asarray(heatmap_soft_argmax(maps)), keypoints, atol=1e-3)
    # The softmax version with a small temperature concentrates on the peak pixel.
    sharp = np.asarray(heatmap_soft_argmax(maps * 50.0, temperature=0.5))
    assert np.max(np.abs(sharp - keypoints)) < 0.6


def test_image_to_heatmap_coordinates_keep_pixel_centres():
    # The centre of image pixel 2k and 2k+1's shared corner ... pixel-centre convention: a pure scale.
    uv = jnp.array([[1.0, 3.0], [64.0, 0.0]])
    np.testing.assert_allclose(image_to_heatmap_coords(uv, (64, 64), (32, 32)), [[0.5, 1.5], [32.0, 0.0]])


def test_heatmap_loss_against_rendered_targets():
    keypoints_unit = jnp.array([[[0.25, 0.5]] * 21, [[0.75, 0.1]] * 21])
    target = gaussian_heatmaps(keypoints_unit * 16, 16, 16, sigma=0.5)
    assert float(heatmap_loss(target, keypoints_unit)) == pytest.approx(0.0, abs=1e-9)
    zeros = jnp.zeros_like(target)
    expected = float(jnp.mean(jnp.sum(jnp.square(target), axis=(1, 2, 3))))
    assert float(heatmap_loss(zeros, keypoints_unit)) == pytest.approx(expected, rel=1e-5)
    masked = heatmap_loss(zeros, keypoints_unit, mask=jnp.array([1.0, 0.0]))
    assert float(masked) == pytest.approx(float(jnp.sum(jnp.square(target[0]))), rel=1e-5)
    with pytest.raises(ValueError, match="heatmap_loss"):
        heatmap_loss(zeros, keypoints_unit[:, :5])


def test_heatmap_decoder_size():
    decoder = HeatmapDecoder(heatmap_size=32, start_channels=16)
    z = jnp.zeros((2, 8))
    shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), z, train=False))
    out = jax.eval_shape(lambda v: decoder.apply(v, z, train=False), shapes)
    assert out.shape == (2, 32, 32, 21)
    with pytest.raises(ValueError, match="4 \\* 2\\^n"):
        HeatmapDecoder(heatmap_size=30).init(jax.random.key(0), z, train=False)
