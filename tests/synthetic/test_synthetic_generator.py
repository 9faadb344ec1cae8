"""generate_sample: schema, determinism, geometric consistency of all fields."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.data import schema
from jaxhands.geometry import camera
from jaxhands.synthetic import SyntheticConfig, generate_sample, generate_samples, generator, sample_scene
from tests.synthetic.capsule_reference import sphere_trace

SIZE, POINTS = 56, 48


@pytest.fixture(scope="module")
def samples():
    """(scene, sample) pairs for a few indices at a tiny size."""
    return [(sample_scene(i, seed=4, image_size=SIZE), generate_sample(i, seed=4, image_size=SIZE, num_points=POINTS))
            for i in range(16)]


def test_schema_and_value_ranges(samples):
    for _, sample in samples:
        schema.validate_sample(sample, SIZE, POINTS)
        assert set(sample) == set(schema.FEATURES)
    sides = [int(s["hand_side"]) for _, s in samples]
    assert 0 in sides and 1 in sides
    schema.validate_sample(generate_sample(3, seed=0, image_size=48, num_points=7), 48, 7)


def test_same_seed_and_index_give_identical_arrays_and_others_differ():
    first = generate_sample(5, seed=9, image_size=48, num_points=32)
    again = generate_sample(5, seed=9, image_size=48, num_points=32)
    for name in schema.FEATURES:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)
    for other in (generate_sample(6, seed=9, image_size=48, num_points=32),
                  generate_sample(5, seed=10, image_size=48, num_points=32)):
        assert not np.allclose(first["keypoints_3d"], other["keypoints_3d"])
        assert not np.array_equal(first["image"], other["image"])
        assert not np.array_equal(first["depth"], other["depth"])


def test_generate_samples_stacks_generate_sample():
    batch = generate_samples([2, 0], seed=1, image_size=48, num_points=16)
    assert batch["image"].shape == (2, 48, 48, 3) and batch["hand_side"].shape == (2,)
    for row, index in enumerate([2, 0]):
        single = generate_sample(index, seed=1, image_size=48, num_points=16)
        for name in schema.FEATURES:
            np.testing.assert_array_equal(batch[name][row], single[name], err_msg=name)


def test_keypoints_2d_are_the_projection_of_keypoints_3d(samples):
    for scene, sample in samples:
        projected = camera.project(sample["keypoints_3d"], sample["intrinsics"])
        np.testing.assert_allclose(sample["keypoints_2d"], projected, rtol=0, atol=1e-4)
        np.testing.assert_allclose(sample["keypoints_3d"], scene.keypoints_3d, atol=1e-6)
        k = sample["intrinsics"]
        assert k[0, 0] == k[1, 1] > 0 and k[0, 2] == k[1, 2] == SIZE / 2 and k[2, 2] == 1


def test_mask_is_depth_support_and_hand_fills_the_image(samples):
    fills = []
    for _, sample in samples:
        np.testing.assert_array_equal(sample["mask"], (sample["depth"] > 0).astype(np.uint8))
        rows, cols = np.nonzero(sample["mask"])
        fills.append(max(np.ptp(rows), np.ptp(cols)) + 1)
        depth = sample["depth"][sample["depth"] > 0]
        assert 0.15 < depth.min() and depth.max() < 0.85  # hand at 0.3-0.7 m (+/- its size)
        # Mostly in view: keypoints at most 10 % of the hand's extent outside the image.
        assert np.all((sample["keypoints_2d"] > -0.1 * SIZE) & (sample["keypoints_2d"] < 1.1 * SIZE))
    fills = np.array(fills) / SIZE
    assert np.all((fills > 0.3) & (fills <= 0.85)), fills


def test_depth_at_visible_keypoints_is_the_joint_surface(samples):
    occluded = 0
    for scene, sample in samples:
        uv, z = sample["keypoints_2d"], sample["keypoints_3d"][:, 2]
        inside = np.all((uv >= 0) & (uv < SIZE), -1)
        cols, rows = np.floor(uv[inside]).astype(int).T
        at_pixel = sample["depth"][rows, cols]
        radii = scene.capsules.joint_radii[inside]
        visible = sample["visible"][inside]
        in_front = z[inside] - at_pixel
        assert np.all(~sample["visible"][~inside])
        # Visible: the first surface is the joint's own (at most 3 radii in front of it:
        # a bone seen at >= 20 degrees to its axis; never behind it by half a radius).
        assert np.all(at_pixel[visible] > 0)
        assert np.all(in_front[visible] <= 3.0 * radii[visible] + 0.0011)
        assert np.all(in_front[visible] >= -0.5 * radii[visible])
        # Occluded: something lies more than the joint's radius in front of it.
        hidden = ~visible
        assert np.all((at_pixel[hidden] == 0) | (in_front[hidden] > radii[hidden]))
        occluded += hidden.sum()
    # Self-occlusion happens: over these samples, not every keypoint is visible.
    assert occluded > 0.1 * 21 * len(samples)


def test_points_lie_on_the_visible_surface(samples):
    for scene, sample in samples[:6]:
        points = sample["points"].astype(np.float64)
        distance = scene.capsules.signed_distance(points)
        np.testing.assert_allclose(distance, 0.0, atol=2e-6)  # float32 storage
        # Each point is the FIRST surface along its camera ray (a visible point).
        rays = points / points[:, 2:]
        np.testing.assert_allclose(sphere_trace(rays, scene.capsules), points[:, 2], atol=2e-6)
        # ... and its pixel belongs to the hand.
        uv = camera.project(sample["points"], sample["intrinsics"])
        cols, rows = np.clip(np.floor(uv), 0, SIZE - 1).astype(int).T
        assert np.mean(sample["mask"][rows, cols]) > 0.9
        assert len(np.unique(points, axis=0)) > 0.9 * POINTS


def test_rgb_shows_a_skin_coloured_hand_on_a_background(samples):
    for _, sample in samples:
        image = sample["image"].astype(np.float64)
        mask = sample["mask"].astype(bool)
        hand = image[mask]
        # Skin: red >= green >= blue on average (shading scales all channels alike).
        mean = hand.mean(0)
        assert mean[0] >= mean[1] - 3 >= mean[2] - 6, mean
        assert image[~mask].std() > 3  # textured background


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="index"):
        generate_sample(-1, seed=0)
    with pytest.raises(ValueError, match="image_size"):
        generate_sample(0, seed=0, image_size=4)
    with pytest.raises(ValueError, match="num_points"):
        generate_sample(0, seed=0, num_points=0)
    with pytest.raises(ValueError, match="depth_range_m"):
        SyntheticConfig(depth_range_m=(0.1, 0.5))
    with pytest.raises(ValueError, match="image_fill_range"):
        SyntheticConfig(image_fill_range=(0.5, 1.5))
    with pytest.raises(ValueError, match="left_hand_probability"):
        SyntheticConfig(left_hand_probability=1.5)
    with pytest.raises(ValueError, match="empty"):
        generate_samples([], seed=0)


def test_config_changes_the_distribution():
    near = SyntheticConfig(depth_range_m=(0.3, 0.31), left_hand_probability=0.0)
    depths, sides = [], []
    for index in range(8):
        scene = generator.sample_scene(index, seed=0, image_size=48, config=near)
        depths.append(np.mean(scene.capsules.starts[:, 2]))
        sides.append(scene.side)
    assert np.all(np.abs(np.array(depths) - 0.305) < 0.06) and set(sides) == {1}


def test_plain_background_is_one_colour_and_leaves_the_geometry_unchanged():
    from jaxhands.synthetic import SyntheticConfig

    for index in range(4):
        textured = generate_sample(index, seed=2, image_size=64, num_points=32)
        plain = generate_sample(index, seed=2, image_size=64, num_points=32, config=SyntheticConfig(background="plain"))
        for name in ("depth", "mask", "keypoints_2d", "keypoints_3d", "visible", "intrinsics", "points", "hand_side"):
            np.testing.assert_array_equal(plain[name], textured[name], err_msg=name)
        background = ~plain["mask"].astype(bool)
        spread_plain = plain["image"][background].astype(float).std(axis=0).max()
        spread_textured = textured["image"][background].astype(float).std(axis=0).max()
        assert spread_plain < 7.0  # pixel noise only (std <= 6 levels)
        assert spread_textured > 2 * spread_plain
    with pytest.raises(ValueError, match="SyntheticConfig.background"):
        SyntheticConfig(background="checkerboard")
