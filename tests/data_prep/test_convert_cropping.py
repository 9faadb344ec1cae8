"""jaxhands.data.cropping: crop maps, crop intrinsics, resampling and the papers' crop boxes."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.data.cropping import (CropBox, box_pixel_mask, clip_depth_to_cube, crop_bilinear, crop_intrinsics,
                                   crop_nearest, crop_to_full, cube_crop_box, full_to_crop, inside_crop,
                                   rgb_crop_box)
from jaxhands.geometry.camera import project


def test_crop_intrinsics_project_exactly_onto_the_crop():
    rng = np.random.default_rng(0)
    k = np.array([[510.0, 0, 317.3], [0, -495.0, 244.1], [0, 0, 1]])
    box = CropBox(101.7, 63.2, 157.3, 98.9)  # not square, not whole pixels
    out = (40, 56)  # (height, width)
    xyz = rng.uniform([-0.2, -0.2, 0.3], [0.2, 0.2, 1.0], (50, 3))
    crop_uv = full_to_crop(project(xyz, k), box, out)
    np.testing.assert_allclose(project(xyz, crop_intrinsics(k, box, out)), crop_uv, atol=1e-9)
    np.testing.assert_allclose(crop_uv[:, 0], (project(xyz, k)[:, 0] - 101.7) * 56 / 157.3, atol=1e-9)
    np.testing.assert_allclose(crop_to_full(crop_uv, box, out), project(xyz, k), atol=1e-9)
    # Closed: the crop's edges (u = 56, v = 40) are in the picture, a hundredth beyond is not.
    np.testing.assert_array_equal(
        inside_crop(np.array([[0, 0], [55.9, 39.9], [56, 1], [56, 40], [56.01, 1], [1, -0.01], [1, 40.01]]), out),
        [True, True, True, True, False, False, False])


def test_crop_nearest_matches_brute_force():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 1000, (13, 17)).astype(np.float32)
    box = CropBox(-3.3, 4.1, 12.6, 11.0)  # partly left of the image
    out = (7, 9)
    expected = np.zeros(out, np.float32)
    for i in range(out[0]):
        for j in range(out[1]):
            u = box.u0 + (j + 0.5) * box.width / out[1]
            v = box.v0 + (i + 0.5) * box.height / out[0]
            if 0 <= u < 17 and 0 <= v < 13:
                expected[i, j] = image[int(np.floor(v)), int(np.floor(u))]
    np.testing.assert_array_equal(crop_nearest(image, box, out), expected)
    colour = np.stack([image, image + 1, image + 2], -1)
    np.testing.assert_array_equal(crop_nearest(colour, box, out)[..., 1], np.where(expected > 0, expected + 1, 0))


def test_crop_bilinear_identity_ramp_and_antialiasing():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (12, 20, 3)).astype(np.uint8)
    np.testing.assert_array_equal(crop_bilinear(image, CropBox(0, 0, 20, 12), (12, 20)), image)
    # A linear ramp enlarged 4x stays linear: value at continuous u is 10 u - 5 (pixel j holds 10 j).
    ramp = np.repeat((10 * np.arange(20))[None, :, None], 12, 0).repeat(3, 2).astype(np.uint8)
    crop = crop_bilinear(ramp, CropBox(5, 3, 8, 4), (16, 32))
    u = 5 + (np.arange(32) + 0.5) / 4
    np.testing.assert_allclose(crop[5, :, 0], 10 * u - 5, atol=0.5)
    # A 1-pixel checkerboard shrunk 4x averages to grey (plain bilinear sampling would alias to 0 or 255).
    checker = ((np.add.outer(np.arange(32), np.arange(32)) % 2) * 255).astype(np.uint8)[..., None].repeat(3, 2)
    np.testing.assert_allclose(crop_bilinear(checker, CropBox(0, 0, 32, 32), (8, 8)), 127.5, atol=0.6)
    # Outside the source: black.
    outside = crop_bilinear(image, CropBox(-20, 0, 10, 12), (6, 5))
    assert not outside.any()


def test_crop_bilinear_matches_brute_force_supersampling():
    """The separable weight matrices give what the definition says: each output pixel the
    mean over its k x k sample points of the bilinear value, 0 for a point off the image."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (11, 14, 2)).astype(np.uint8)
    source = image.astype(np.float64)

    def bilinear(u, v):
        if not (0 <= u < 14 and 0 <= v < 11):
            return np.zeros(2)
        x, y = np.clip(u - 0.5, 0, 13), np.clip(v - 0.5, 0, 10)
        c0, r0 = int(np.floor(x)), int(np.floor(y))
        c1, r1 = min(c0 + 1, 13), min(r0 + 1, 10)
        fx, fy = x - c0, y - r0
        top = (1 - fx) * source[r0, c0] + fx * source[r0, c1]
        bottom = (1 - fx) * source[r1, c0] + fx * source[r1, c1]
        return (1 - fy) * top + fy * bottom

    for box, out in ((CropBox(-2.7, 1.3, 19.0, 13.0), (4, 5)),   # shrinking: k = 4 samples a side
                     (CropBox(3.2, 2.6, 4.0, 3.0), (9, 7))):     # enlarging: k = 1
        k = max(1, int(np.ceil(max(box.width / out[1], box.height / out[0]) - 1e-9)))
        expected = np.zeros((*out, 2))
        for i in range(out[0]):
            for j in range(out[1]):
                points = [bilinear(box.u0 + (j + (b + 0.5) / k) * box.width / out[1],
                                   box.v0 + (i + (a + 0.5) / k) * box.height / out[0])
                          for a in range(k) for b in range(k)]
                expected[i, j] = np.mean(points, axis=0)
        np.testing.assert_array_equal(crop_bilinear(image, box, out), np.clip(np.rint(expected), 0, 255))


def test_rgb_crop_box_follows_hand3d():
    uv = np.array([[60.0, 80], [100, 150], [130, 70], [300, 300], [100, 80]])
    visible = np.array([True, True, True, False, True])
    box = rgb_crop_box(uv, visible, uv[4], (320, 320))
    # Farthest visible extent from the centre (100, 80) is 150 - 80 = 70 -> side 140.
    assert box == CropBox(30.0, 10.0, 140.0, 140.0)
    # Keypoints outside the image are clipped to it first: u = -40 counts as 0.
    assert rgb_crop_box(np.array([[-40.0, 50], [50, 50]]), np.array([True, True]), (50, 50), (320, 320)).width == 100
    assert rgb_crop_box(uv[[4]], visible[[4]], uv[4], (320, 320)).width == 50  # hand3d minimum
    assert rgb_crop_box(np.array([[0.0, 0], [1000, 1000]]), np.array([True, True]), (300, 300),
                        (2000, 2000)).width == 500  # hand3d maximum
    assert rgb_crop_box(uv, np.zeros(5, bool), uv[4], (320, 320)).width == 200  # nothing visible


def test_cube_crop_box_and_depth_clipping():
    k = np.array([[500.0, 0, 160], [0, -400.0, 120], [0, 0, 1]])
    box = cube_crop_box([0.1, -0.05, 0.5], 0.25, k)
    # Centred on the projection (500 * 0.2 + 160, -400 * -0.1 + 120) = (260, 160); 250 x 200 pixels.
    np.testing.assert_allclose([box.u0, box.v0, box.width, box.height], [135, 60, 250, 200])
    depth = np.array([0.0, 0.37, 0.375, 0.5, 0.625, 0.63, 3.0], np.float32)
    np.testing.assert_array_equal(clip_depth_to_cube(depth, 0.5, 0.25), [0, 0, 0.375, 0.5, 0.625, 0, 0])
    with pytest.raises(ValueError, match="in front of the camera"):
        cube_crop_box([0.0, 0.0, -0.5], 0.25, k)


def test_box_pixel_mask_matches_pixel_centres():
    box = CropBox(1.4, 0.6, 3.2, 2.0)  # u in [1.4, 4.6), v in [0.6, 2.6)
    mask = box_pixel_mask((5, 7), box)
    rows, cols = np.nonzero(mask)
    # Row centres 1.5 and 2.5, column centres 1.5 .. 4.5 fall inside.
    assert set(zip(rows.tolist(), cols.tolist())) == {(r, c) for r in (1, 2) for c in (1, 2, 3, 4)}


def test_a_converted_keypoint_on_the_crop_edge_stays_visible():
    """hand3d's tight box puts the farthest visible keypoints on the crop's edge; the
    converter keeps them visible (issue 18: a half-open test dropped them silently)."""
    from jaxhands.data.converted_builder import ConversionOptions, build_example

    rng = np.random.default_rng(3)
    k = np.array([[600.0, 0, 320.0], [0, 600.0, 240.0], [0, 0, 1]])
    options = ConversionOptions(image_size=32, num_points=8)
    on_edge_seen = 0
    for trial in range(20):
        joints = rng.uniform([-0.06, -0.06, 0.5], [0.06, 0.06, 0.6], (21, 3))
        uv = project(joints, k)
        box = rgb_crop_box(uv, np.ones(21, bool), uv[9], (640, 480), min_size=1.0)
        example = build_example(keypoints_3d=joints, keypoints_defined=np.ones(21, bool), keypoints_3d_raw=joints,
                                full_intrinsics=k, box=box, options=options, hand_side=1, sequence="s", frame=trial,
                                source=f"trial {trial}", rng=rng)
        crop_uv = example["keypoints_2d"]
        on_edge = np.any(np.isclose(crop_uv, 0.0, atol=1e-4) | np.isclose(crop_uv, 32.0, atol=1e-4), axis=1)
        on_edge_seen += int(on_edge.sum())
        assert np.all(example["visible"]), (trial, crop_uv[~example["visible"]])
    assert on_edge_seen >= 20  # every tight box has a keypoint on its edge
    # Labels still decide: a keypoint the dataset marks hidden stays hidden.
    labels = np.ones(21, bool)
    labels[4] = False
    example = build_example(keypoints_3d=joints, keypoints_defined=np.ones(21, bool), keypoints_3d_raw=joints,
                            full_intrinsics=k, box=box, options=options, hand_side=1, sequence="s", frame=0,
                            source="labels", rng=rng, visible_labels=labels)
    np.testing.assert_array_equal(example["visible"], labels)
