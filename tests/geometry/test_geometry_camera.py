"""Pinhole camera: hand-computed projections, round trips (numpy and jitted jax), depth -> points."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.geometry import (backproject, depth_to_points, intrinsics_matrix, pixel_grid, project,
                               sample_depth_points, uvd_to_xyz, xyz_to_uvd)

K = intrinsics_matrix(500.0, 400.0, 320.0, 240.0)


def test_projection_of_a_known_point_by_hand():
    # u = fx x / z + cx = 500 * 0.1 / 2 + 320 = 345 ; v = 400 * (-0.2) / 2 + 240 = 200
    uvd = xyz_to_uvd(np.array([[0.1, -0.2, 2.0]]), K)
    np.testing.assert_allclose(uvd, [[345.0, 200.0, 2.0]], rtol=1e-6)
    np.testing.assert_allclose(project(np.array([[0.1, -0.2, 2.0]]), K), [[345.0, 200.0]], rtol=1e-6)
    assert isinstance(uvd, np.ndarray)


def test_round_trip_numpy_and_jitted_jax():
    rng = np.random.default_rng(0)
    xyz = np.stack([rng.uniform(-0.2, 0.2, (4, 21)), rng.uniform(-0.2, 0.2, (4, 21)),
                    rng.uniform(0.3, 1.0, (4, 21))], -1).astype(np.float32)
    back = uvd_to_xyz(xyz_to_uvd(xyz, K), K)
    np.testing.assert_allclose(back, xyz, atol=1e-6)

    round_trip = jax.jit(lambda p, k: backproject(project(p, k), p[..., 2], k))
    out = round_trip(jnp.asarray(xyz), jnp.asarray(K))
    assert isinstance(out, jax.Array)
    np.testing.assert_allclose(np.asarray(out), xyz, atol=1e-5)


def test_batched_intrinsics_per_sample():
    ks = intrinsics_matrix(np.array([500.0, 250.0]), np.array([400.0, 200.0]),
                           np.array([320.0, 160.0]), np.array([240.0, 120.0]))
    xyz = np.tile(np.array([[[0.1, -0.2, 2.0]]]), (2, 1, 1))
    np.testing.assert_allclose(project(xyz, ks)[:, 0], [[345.0, 200.0], [172.5, 100.0]], rtol=1e-6)


def test_uvd_to_xyz_with_negative_fy_matches_the_nyu_formula():
    nyu = intrinsics_matrix(588.03, -587.07, 320.0, 240.0)
    uvd = np.array([[400.0, 300.0, 800.0], [169.221, 199.638, 736.417]])
    expected = [[(u - 320.0) * d / 588.03, (v - 240.0) * d / -587.07, d] for u, v, d in uvd]
    np.testing.assert_allclose(uvd_to_xyz(uvd, nyu), expected, rtol=1e-5)
    # A pixel below the principal point (v > cy) is at NEGATIVE y with NYU's flipped fy.
    assert uvd_to_xyz(uvd, nyu)[0, 1] < 0


def test_depth_to_points_on_a_tilted_plane():
    # Plane n . X = h seen by K: each pixel ray r = K^-1 (u, v, 1) hits it at depth h / (n . r).
    k = intrinsics_matrix(60.0, 55.0, 8.0, 6.0)
    n, h = np.array([0.1, -0.2, 1.0]), 0.5
    uv = pixel_grid(12, 16)
    rays = np.concatenate([(uv - [8.0, 6.0]) / [60.0, 55.0], np.ones((12, 16, 1))], -1)
    depth = (h / (rays @ n)).astype(np.float32)
    points = depth_to_points(depth, k)
    assert points.shape == (12, 16, 3)
    np.testing.assert_allclose(points @ n, h, rtol=1e-5)
    np.testing.assert_allclose(points[..., 2], depth)
    # Pixel (row 2, col 3) has centre (3.5, 2.5).
    np.testing.assert_allclose(points[2, 3, :2], [(3.5 - 8.0) * depth[2, 3] / 60.0,
                                                  (2.5 - 6.0) * depth[2, 3] / 55.0], rtol=1e-5)
    jitted = jax.jit(depth_to_points)(jnp.asarray(depth), jnp.asarray(k))
    np.testing.assert_allclose(np.asarray(jitted), points, atol=1e-6)


def test_sample_depth_points_stay_on_the_plane_and_skip_holes():
    k = intrinsics_matrix(60.0, 55.0, 8.0, 6.0)
    depth = np.full((12, 16), 0.4, np.float32)
    depth[:, :8] = 0.0
    points = sample_depth_points(depth, k, 50, np.random.default_rng(1))
    assert points.shape == (50, 3) and points.dtype == np.float32
    np.testing.assert_allclose(points[:, 2], 0.4)
    u = points[:, 0] * 60.0 / 0.4 + 8.0
    assert np.all(u >= 8.0) and np.all(u <= 16.0)  # only columns 8..15 have depth
    with pytest.raises(ValueError, match="no valid"):
        sample_depth_points(np.zeros((4, 4), np.float32), k, 5, np.random.default_rng(0))


def test_camera_input_errors():
    with pytest.raises(ValueError, match="non-finite"):
        xyz_to_uvd(np.array([[0.0, np.nan, 1.0]]), K)
    with pytest.raises(ValueError, match=r"expected shape \[\.\.\., 3\]"):
        xyz_to_uvd(np.zeros((21, 2)), K)
