"""Ray casting of capsules against brute-force sphere tracing of the signed distance."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.geometry import camera
from jaxhands.synthetic import appearance, generator, render
from jaxhands.synthetic.surface import Capsules
from tests.synthetic.capsule_reference import per_capsule_distance, sphere_trace


def _random_capsules(rng, count=6):
    starts = rng.uniform([-0.06, -0.06, 0.35], [0.06, 0.06, 0.55], (count, 3))
    ends = starts + rng.normal(0, 0.04, (count, 3))
    radii = rng.uniform(0.006, 0.015, count)
    return Capsules(starts, ends, radii, np.zeros(21))


def test_cast_rays_matches_sphere_tracing():
    rng = np.random.default_rng(0)
    capsules = _random_capsules(rng)
    intrinsics = camera.intrinsics_matrix(200.0, 200.0, 32.0, 32.0)
    uv = rng.uniform(0, 64, (400, 2))
    depth, ids = render.cast_rays(uv, capsules, intrinsics)
    rays = camera.uvd_to_xyz(np.concatenate([uv, np.ones((400, 1))], -1), np.asarray(intrinsics, np.float64))
    expected = sphere_trace(rays, capsules)
    assert 50 < np.count_nonzero(expected) < 390  # both hits and misses are exercised
    np.testing.assert_allclose(depth, expected, atol=1e-7)
    np.testing.assert_array_equal(ids >= 0, expected > 0)
    # The hit point lies on the capsule it is attributed to.
    hit = ids >= 0
    points = rays[hit] * depth[hit, None]
    own = per_capsule_distance(points, capsules)[np.arange(len(points)), ids[hit]]
    np.testing.assert_allclose(own, 0.0, atol=1e-9)


def test_capsule_pointing_at_the_camera():
    # The camera lies inside the capsule's infinite cylinder: only the near cap is visible.
    capsules = Capsules(np.array([[0.0, 0.0, 0.5]]), np.array([[0.001, 0.0, 0.56]]), np.array([0.01]), np.zeros(21))
    intrinsics = camera.intrinsics_matrix(300.0, 300.0, 16.0, 16.0)
    uv = np.array([[16.0, 16.0], [17.0, 16.5], [10.0, 16.0], [25.0, 9.0]])
    depth, _ = render.cast_rays(uv, capsules, intrinsics)
    rays = camera.uvd_to_xyz(np.concatenate([uv, np.ones((4, 1))], -1), np.asarray(intrinsics, np.float64))
    np.testing.assert_allclose(depth, sphere_trace(rays, capsules), atol=1e-7)
    assert depth[0] == pytest.approx(0.49, abs=1e-9)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_render_depth_equals_per_pixel_ray_casting(index):
    # The bounding-box restricted z-buffer loses no hit and keeps the nearest one.
    scene = generator.sample_scene(index, seed=11, image_size=48)
    depth, ids = render.render_depth(scene.capsules, scene.intrinsics, 48, 48)
    grid = camera.pixel_grid(48, 48).reshape(-1, 2)
    expected_depth, expected_ids = render.cast_rays(grid, scene.capsules, scene.intrinsics)
    np.testing.assert_allclose(depth.reshape(-1), expected_depth, rtol=1e-12, atol=0)
    hit = expected_ids >= 0
    assert 100 < hit.sum() < 48 * 48
    np.testing.assert_array_equal(ids.reshape(-1) >= 0, hit)
    # The id map names a capsule the hit point lies on (ties between capsules sharing
    # an end sphere may name either).
    rays = camera.uvd_to_xyz(np.concatenate([grid[hit], expected_depth[hit, None]], -1), scene.intrinsics)
    on_named = per_capsule_distance(rays, scene.capsules)[np.arange(hit.sum()), ids.reshape(-1)[hit]]
    np.testing.assert_allclose(on_named, 0.0, atol=1e-9)


def test_surface_normals_are_signed_distance_gradients():
    rng = np.random.default_rng(1)
    capsules = _random_capsules(rng)
    intrinsics = camera.intrinsics_matrix(200.0, 200.0, 32.0, 32.0)
    uv = rng.uniform(0, 64, (300, 2))
    depth, ids = render.cast_rays(uv, capsules, intrinsics)
    hit = ids >= 0
    points = camera.uvd_to_xyz(np.concatenate([uv[hit], depth[hit, None]], -1), np.asarray(intrinsics, np.float64))
    normals = render.surface_normals(points, ids[hit], capsules)
    step = 1e-6
    gradient = np.stack([(capsules.signed_distance(points + step * e) - capsules.signed_distance(points - step * e))
                         / (2 * step) for e in np.eye(3)], -1)
    # Where another capsule overlaps, the union's gradient is the nearest one's: skip
    # points within 0.1 mm of a second capsule.
    single = np.sort(per_capsule_distance(points, capsules), 1)[:, 1] > 1e-4
    assert single.sum() > 50
    np.testing.assert_allclose(normals[single], gradient[single], atol=1e-5)
    # Visible surface faces the camera.
    assert np.all(np.sum(normals * points, -1) < 1e-9)


def test_render_rejects_a_hand_behind_the_camera():
    capsules = Capsules(np.array([[0.0, 0.0, 0.005]]), np.array([[0.0, 0.0, 0.1]]), np.array([0.01]), np.zeros(21))
    with pytest.raises(ValueError, match="behind the camera"):
        render.render_depth(capsules, camera.intrinsics_matrix(50.0, 50.0, 8.0, 8.0), 16, 16)


def test_lambertian_shading_values():
    normals = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0], [np.sqrt(0.5), 0.0, -np.sqrt(0.5)]])
    light = np.array([0.0, 0.0, -1.0])
    colour = np.array([200.0, 150.0, 100.0])
    shaded = appearance.shade_skin(normals, colour, light, ambient=0.3, diffuse=0.6)
    np.testing.assert_allclose(shaded[0], colour * 0.9)          # facing the light
    np.testing.assert_allclose(shaded[1], colour * 0.3)          # facing away: ambient only
    np.testing.assert_allclose(shaded[2], colour * (0.3 + 0.6 * np.sqrt(0.5)))


def test_unit_noise_statistics_and_background_range():
    rng = np.random.default_rng(0)
    noise = appearance.unit_noise(rng, (200, 300))
    assert noise.dtype == np.float32 and noise.shape == (200, 300)
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 1.0) < 0.01
    image = appearance.background(rng, 40, 56)
    assert image.shape == (40, 56, 3) and image.min() >= 0 and image.max() <= 255
    # Textured, not flat: neighbouring pixels are correlated but the image varies.
    assert image.std() > 5
