"""Augmentation: every modality moves together, identities hold, warps match brute force."""

from __future__ import annotations

import dataclasses
import math

import matplotlib.colors
import ml_collections
import numpy as np
import pytest
import scipy.ndimage

from jaxhands.data import schema
from jaxhands.data.augment import (
    AugmentConfig,
    AugmentParams,
    augment_sample,
    augment_with_config,
    camera_change,
    draw_params,
    shift_hue,
    warp_bilinear,
    warp_nearest,
)
from jaxhands.geometry.camera import intrinsics_matrix, project
from jaxhands.synthetic import generate_sample

SIZE = 64
STRONG = AugmentConfig(rotation_max_deg=180, scale_range=(1.0, 1.2), shift_max=0.1, flip_prob=0.5, hue_max=0.1)


@pytest.fixture(scope="module")
def samples():
    return [generate_sample(i, seed=11, image_size=SIZE, num_points=32) for i in range(6)]


def _assert_samples_equal(a, b, atol=1e-5):
    for name in ("image", "depth", "mask", "visible", "hand_side"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for name in ("keypoints_2d", "keypoints_3d", "points", "intrinsics"):
        np.testing.assert_allclose(a[name], b[name], atol=atol, err_msg=name)


def test_identity_params_change_nothing(samples):
    for sample in samples:
        _assert_samples_equal(augment_sample(sample, AugmentParams()), sample)


def test_flip_twice_is_identity(samples):
    flip = AugmentParams(flip=True)
    for sample in samples:
        once = augment_sample(sample, flip)
        assert int(once["hand_side"]) == 1 - int(sample["hand_side"])
        np.testing.assert_array_equal(once["image"], sample["image"][:, ::-1])
        np.testing.assert_array_equal(once["depth"], sample["depth"][:, ::-1])
        _assert_samples_equal(augment_sample(once, flip), sample)


def test_flip_mirrors_3d_and_principal_point(samples):
    sample = samples[0]
    flipped = augment_sample(sample, AugmentParams(flip=True))
    np.testing.assert_allclose(flipped["keypoints_3d"], sample["keypoints_3d"] * [-1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(flipped["points"], sample["points"] * [-1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(flipped["keypoints_2d"][:, 0], SIZE - sample["keypoints_2d"][:, 0], atol=1e-4)
    assert flipped["intrinsics"][0, 2] == pytest.approx(SIZE - sample["intrinsics"][0, 2])


def test_rotation_turns_the_image_about_its_centre_not_the_principal_point():
    # fx == fy: rotating by +90 degrees sends x to y, so a point 10 px right of the
    # image centre (32, 32) goes to 10 px below it (y points down), wherever the
    # principal point is (in a crop around the hand it is anywhere).
    k = intrinsics_matrix(100.0, 100.0, 30.0, 34.0)
    change = camera_change(AugmentParams(rotation_rad=math.pi / 2), k, 64, 64)
    np.testing.assert_allclose(change.pixel_map @ [42.0, 32.0, 1.0], [32.0, 42.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(change.pixel_map @ [32.0, 32.0, 1.0], [32.0, 32.0, 1.0], atol=1e-9)
    # The principal point turns with the image: c - m = (-2, 2) -> (-2, -2), so c' = (30, 30).
    np.testing.assert_allclose(change.intrinsics, intrinsics_matrix(100.0, 100.0, 30.0, 30.0), atol=1e-12)
    # And the camera-frame 3D rotation projects exactly onto the turned image.
    point = np.array([0.02, -0.01, 0.5])
    old_uv = k @ point / point[2]
    new_uv = change.intrinsics @ (change.rotation @ point) / point[2]
    np.testing.assert_allclose(change.pixel_map @ old_uv, new_uv, atol=1e-9)


def test_rotation_keeps_an_off_centre_crop_on_the_hand():
    # A crop whose principal point lies far outside it (a hand crop from the corner of
    # a frame): a 45 degree turn keeps the crop centre where it is.
    k = intrinsics_matrix(200.0, 200.0, -150.0, 260.0)
    change = camera_change(AugmentParams(rotation_rad=math.pi / 4), k, 64, 64)
    np.testing.assert_allclose(change.pixel_map @ [32.0, 32.0, 1.0], [32.0, 32.0, 1.0], atol=1e-9)


def test_rotation_with_unequal_focal_lengths_stays_consistent():
    # fx != fy: the pixel map is K R K^-1 (a rotation plus shear in pixels); the
    # re-derived 2D still equals the projection of the rotated 3D.
    rng = np.random.default_rng(0)
    k = np.asarray(intrinsics_matrix(120.0, 80.0, 31.0, 29.0), np.float64)
    xyz = np.concatenate([rng.uniform(-0.1, 0.1, (21, 2)), rng.uniform(0.4, 0.6, (21, 1))], 1)
    for params in (AugmentParams(rotation_rad=0.7), AugmentParams(rotation_rad=-2.0, scale=1.15, shift=(0.1, -0.05),
                                                                  flip=True)):
        change = camera_change(params, k, 64, 64)
        uv = project(xyz, k)
        mapped = uv @ change.pixel_map[:2, :2].T + change.pixel_map[:2, 2]
        np.testing.assert_allclose(mapped, project(xyz @ change.rotation.T, change.intrinsics), atol=1e-9)


def test_crop_scale_and_shift_change_only_the_intrinsics(samples):
    sample = samples[1]
    out = augment_sample(sample, AugmentParams(scale=1.2, shift=(0.1, -0.05)))
    k, new_k = sample["intrinsics"], out["intrinsics"]
    np.testing.assert_allclose(np.diag(new_k)[:2], 1.2 * np.diag(k)[:2], rtol=1e-6)
    # Zoom about the image centre, then shift: cx' = 1.2 (cx - W/2) + W/2 + 0.1 W.
    assert new_k[0, 2] == pytest.approx(1.2 * (k[0, 2] - SIZE / 2) + SIZE / 2 + 0.1 * SIZE, rel=1e-6)
    assert new_k[1, 2] == pytest.approx(1.2 * (k[1, 2] - SIZE / 2) + SIZE / 2 - 0.05 * SIZE, rel=1e-6)
    np.testing.assert_array_equal(out["keypoints_3d"], sample["keypoints_3d"])
    np.testing.assert_array_equal(out["points"], sample["points"])


def test_keypoints_follow_every_modality_after_random_augmentation(samples):
    rng = np.random.default_rng(1)
    on_mask, depth_close, total = 0, 0, 0
    for sample in samples:
        for _ in range(5):
            out = augment_with_config(sample, STRONG, rng)
            schema.validate_sample(out, SIZE, 32, where="augmented sample")
            np.testing.assert_allclose(project(out["keypoints_3d"], out["intrinsics"]), out["keypoints_2d"],
                                       atol=2e-3)
            assert not np.any(out["visible"] & ~sample["visible"]), "visibility invented"
            visible = out["visible"]
            pixels = np.floor(out["keypoints_2d"][visible]).astype(int)
            assert np.all((pixels >= 0) & (pixels < SIZE)), "a visible keypoint is outside the image"
            on_mask += int(out["mask"][pixels[:, 1], pixels[:, 0]].sum())
            gap = out["keypoints_3d"][visible, 2] - out["depth"][pixels[:, 1], pixels[:, 0]]
            depth_close += int(np.sum((gap > 0) & (gap < 0.05)))  # surface in front of the joint centre
            total += int(visible.sum())
    assert total > 100
    assert on_mask / total > 0.9
    assert depth_close / total > 0.9


def test_own_layout_joints_move_with_the_hand_and_capture_metadata_stays(samples):
    sample = dict(samples[5])
    sample["keypoints_3d_raw"] = sample["keypoints_3d"][::-1].copy()  # a dataset's own joint order
    sample["keypoints_2d_raw"] = sample["keypoints_2d"][::-1].copy()
    sample["crop_box"] = np.array([10.0, 20.0, 64.0, 64.0], np.float32)
    out = augment_with_config(sample, STRONG, np.random.default_rng(4))
    np.testing.assert_allclose(out["keypoints_3d_raw"], out["keypoints_3d"][::-1], atol=1e-6)
    np.testing.assert_allclose(out["keypoints_2d_raw"], out["keypoints_2d"][::-1], atol=1e-4)
    np.testing.assert_array_equal(out["crop_box"], sample["crop_box"])


def test_depth_and_mask_values_are_never_invented(samples):
    sample = samples[2]
    out = augment_sample(sample, AugmentParams(rotation_rad=0.3, scale=1.13, shift=(0.03, 0.02)))
    assert set(np.unique(out["depth"])) <= set(np.unique(sample["depth"])) | {0.0}
    assert set(np.unique(out["mask"])) <= {0, 1}
    np.testing.assert_array_equal(out["mask"] == 1, out["depth"] > 0)  # the generator renders depth on the hand


def test_keypoints_leaving_the_image_become_invisible(samples):
    sample = samples[3]
    gone = augment_sample(sample, AugmentParams(shift=(1.0, 0.0)))  # everything moves one image width right
    assert not gone["visible"].any()
    assert not gone["mask"].any() and not gone["image"].any() and not gone["depth"].any()
    half = augment_sample(sample, AugmentParams(shift=(0.0, 0.5)))
    inside = half["keypoints_2d"][:, 1] < SIZE
    np.testing.assert_array_equal(half["visible"], sample["visible"] & inside)


def _reference_bilinear(image, pixel_map):
    """Per-pixel loop: pull each output pixel centre back, blend 4 neighbours, zero outside."""
    height, width = image.shape[:2]
    inverse = np.linalg.inv(pixel_map)
    out = np.zeros(image.shape, np.float64)
    for i in range(height):
        for j in range(width):
            u, v, _ = inverse @ [j + 0.5, i + 0.5, 1.0]
            x, y = u - 0.5, v - 0.5
            x0, y0 = math.floor(x), math.floor(y)
            for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
                r, c = y0 + dy, x0 + dx
                if 0 <= r < height and 0 <= c < width:
                    out[i, j] += (1 - abs(y - r)) * (1 - abs(x - c)) * image[r, c]
    return out


def test_warps_match_a_brute_force_reference():
    rng = np.random.default_rng(2)
    image = rng.uniform(0, 1, (11, 13, 3)).astype(np.float32)
    k = intrinsics_matrix(20.0, 20.0, 6.0, 5.0)
    pixel_map = camera_change(AugmentParams(rotation_rad=0.5, scale=1.1, shift=(0.05, -0.1)), k, 11, 13).pixel_map
    np.testing.assert_allclose(warp_bilinear(image, pixel_map), _reference_bilinear(image, pixel_map), atol=1e-5)
    # The uint8 RGB fast path and the float path agree with scipy's affine resampler.
    pull_back = _scipy_pull_back(pixel_map)
    rgb = rng.integers(0, 256, (11, 13, 3), dtype=np.uint8)
    expected = np.stack([scipy.ndimage.affine_transform(rgb[..., c].astype(np.float64), pull_back[:2, :2],
                                                        offset=pull_back[:2, 2], order=1, mode="grid-constant")
                         for c in range(3)], -1)
    assert np.abs(warp_bilinear(rgb, pixel_map).astype(int) - np.rint(expected)).max() <= 1
    # Nearest: every output pixel is the input pixel whose centre is closest to the pulled-back point.
    plane = rng.uniform(1, 2, (11, 13)).astype(np.float32)
    out = warp_nearest(plane, pixel_map)
    inverse = np.linalg.inv(pixel_map)
    for i in range(11):
        for j in range(13):
            u, v, _ = inverse @ [j + 0.5, i + 0.5, 1.0]
            r, c = round(v - 0.5), round(u - 0.5)
            expected = plane[r, c] if 0 <= r < 11 and 0 <= c < 13 else 0.0
            assert out[i, j] == expected, (i, j)
    np.testing.assert_array_equal(out, scipy.ndimage.affine_transform(
        plane, pull_back[:2, :2], offset=pull_back[:2, 2], order=0, mode="grid-constant"))


def _scipy_pull_back(pixel_map):
    """The map from output (row, col, 1) to input (row, col, 1) that scipy.ndimage expects."""
    array_to_pixel = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5], [0.0, 0.0, 1.0]])
    return np.linalg.inv(array_to_pixel) @ np.linalg.inv(pixel_map) @ array_to_pixel


def test_hue_shift_matches_hsv_reference_and_identities():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    for turns in (0.0, 1.0, -2.0):
        np.testing.assert_array_equal(shift_hue(image, turns), image)
    for turns in (0.1, -0.07, 0.5):
        hsv = matplotlib.colors.rgb_to_hsv(image / 255.0)
        hsv[..., 0] = (hsv[..., 0] + turns) % 1.0
        expected = np.rint(matplotlib.colors.hsv_to_rgb(hsv) * 255)
        assert np.abs(shift_hue(image, turns).astype(int) - expected).max() <= 1
    red = np.array([[[200, 0, 0]]], np.uint8)
    np.testing.assert_array_equal(shift_hue(red, 1 / 3), [[[0, 200, 0]]])  # 120 degrees: red -> green
    grey = np.full((2, 2, 3), 77, np.uint8)
    np.testing.assert_array_equal(shift_hue(grey, 0.25), grey)  # no chroma, no hue


def test_hue_jitter_touches_only_the_image(samples):
    sample = samples[4]
    out = augment_with_config(sample, AugmentConfig(hue_max=0.1), np.random.default_rng(0))
    assert not np.array_equal(out["image"], sample["image"])
    for name in schema.FEATURES:
        if name != "image":
            np.testing.assert_array_equal(out[name], sample[name])


def test_draw_params_ranges_and_independence():
    draws = [draw_params(STRONG, np.random.default_rng(i)) for i in range(200)]
    assert all(abs(p.rotation_rad) <= math.pi for p in draws)
    assert all(1.0 <= p.scale <= 1.2 and max(map(abs, p.shift)) <= 0.1 and abs(p.hue_shift) <= 0.1 for p in draws)
    assert 60 < sum(p.flip for p in draws) < 140
    # Switching one augmentation off leaves the others' draws unchanged.
    no_flip = AugmentConfig(rotation_max_deg=180, scale_range=(1.0, 1.2), shift_max=0.1, hue_max=0.1)
    for i, p in enumerate(draws[:20]):
        q = draw_params(no_flip, np.random.default_rng(i))
        assert (q.rotation_rad, q.scale, q.shift, q.hue_shift, q.flip) == (
            p.rotation_rad, p.scale, p.shift, p.hue_shift, False)
    assert draw_params(AugmentConfig(), np.random.default_rng(0)) == AugmentParams()


def test_config_from_mapping_and_validation():
    config_dict = ml_collections.ConfigDict(dict(rotation_max_deg=45.0, scale_range=(1.0, 1.2), hue_max=0.1))
    config = AugmentConfig.from_mapping(config_dict)
    assert config == AugmentConfig(rotation_max_deg=45.0, scale_range=(1.0, 1.2), hue_max=0.1)
    assert config.geometric and config.enabled
    assert not AugmentConfig.from_mapping(None).enabled
    assert AugmentConfig(hue_max=0.1).enabled and not AugmentConfig(hue_max=0.1).geometric
    with pytest.raises(ValueError, match="unknown augmentation option.*rotation_deg"):
        AugmentConfig.from_mapping({"rotation_deg": 10})
    with pytest.raises(ValueError, match="scale_range"):
        AugmentConfig(scale_range=(1.2, 1.0))
    with pytest.raises(ValueError, match="flip_prob"):
        AugmentConfig(flip_prob=1.5)


def test_points_from_depth_lie_on_the_augmented_depth_surface(samples):
    config = dataclasses.replace(STRONG, points_from_depth=True)
    for i, sample in enumerate(samples):
        out = augment_with_config(sample, config, np.random.default_rng(i))
        pts = out["points"]
        assert pts.shape == sample["points"].shape and pts.dtype == np.float32
        uv = project(pts, out["intrinsics"])
        cols, rows = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
        assert np.all((rows >= 0) & (rows < SIZE) & (cols >= 0) & (cols < SIZE))
        # Each point back-projects from a measured pixel at exactly that pixel's depth.
        np.testing.assert_allclose(pts[:, 2], out["depth"][rows, cols], rtol=1e-6)
        assert np.all(out["depth"][rows, cols] > 0)


def test_points_from_depth_follow_the_hand_under_rotation_and_flip():
    # Without zoom/shift the whole hand stays in frame, so a dense re-sampled cloud and the
    # stored cloud moved with the hand sample the same surface: centroids agree to ~mm.
    turn = AugmentConfig(rotation_max_deg=180, flip_prob=0.5)
    displacement = []
    for i in range(3):
        sample = generate_sample(i, seed=5, image_size=SIZE, num_points=1024)
        moved = augment_with_config(sample, turn, np.random.default_rng(i))["points"]
        fresh = augment_with_config(sample, dataclasses.replace(turn, points_from_depth=True),
                                    np.random.default_rng(i))["points"]
        assert np.linalg.norm(fresh.mean(0) - moved.mean(0)) < 0.004
        displacement.append(np.linalg.norm(moved.mean(0) - sample["points"].mean(0)))
    assert max(displacement) > 0.02  # the augmentation did move the hand, so the check above discriminates


def test_points_from_depth_changes_only_the_points_and_differs_per_draw(samples):
    sample = samples[0]
    config = dataclasses.replace(STRONG, points_from_depth=True)
    a = augment_with_config(sample, config, np.random.default_rng(3))
    b = augment_with_config(sample, STRONG, np.random.default_rng(3))
    c = augment_with_config(sample, config, np.random.default_rng(4))
    for name in ("image", "depth", "mask", "keypoints_2d", "keypoints_3d", "intrinsics", "hand_side"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert not np.allclose(a["points"], b["points"])
    assert not np.allclose(a["points"], c["points"])


def test_points_from_depth_needs_depth_and_keeps_the_cloud_without_measurements(samples):
    config = AugmentConfig(points_from_depth=True)
    no_depth = {k: v for k, v in samples[0].items() if k != "depth"}
    with pytest.raises(ValueError, match="points_from_depth needs the sample fields \\['depth'\\]"):
        augment_with_config(no_depth, config, np.random.default_rng(0))
    empty = dict(samples[0], depth=np.zeros_like(samples[0]["depth"]))
    np.testing.assert_array_equal(augment_with_config(empty, config, np.random.default_rng(0))["points"],
                                  samples[0]["points"])


def test_tag_image_moves_with_the_image_through_crop_and_augmentation(samples):
    """A synthetic dataset's tag_image (the content's background, spec A8.1) is a colour
    image of the same frame: the hand crop, every geometric augmentation and the hue
    shift treat it exactly as the image (a tag equal to the image stays equal)."""
    from jaxhands.data.hand_crop import HandCropConfig, crop_hand

    crop = HandCropConfig(mode="rgb_keypoints", margin=1.2, out_size=32)
    for i, sample in enumerate(samples[:3]):
        sample = {**sample, "tag_image": sample["image"].copy()}
        out = augment_with_config(crop_hand(sample, crop), STRONG, np.random.default_rng(i))
        np.testing.assert_array_equal(out["tag_image"], out["image"])
        assert out["tag_image"].shape == (32, 32, 3) and out["tag_image"].dtype == np.uint8
        params = draw_params(STRONG, np.random.default_rng(10 + i))
        moved = augment_sample(sample, params)
        np.testing.assert_array_equal(moved["tag_image"], moved["image"])
