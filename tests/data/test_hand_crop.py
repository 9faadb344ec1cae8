"""The papers' hand crop (jaxhands.data.hand_crop) on real generator samples."""

import numpy as np
import pytest

from jaxhands.data.hand_crop import HandCropConfig, crop_hand, depth_centre_of_mass
from jaxhands.geometry.camera import project
from jaxhands.geometry.layouts import JOINT_INDEX
from jaxhands.synthetic import generate_sample


@pytest.fixture(scope="module")
def samples():
    return [generate_sample(i, seed=3, image_size=96, num_points=32) for i in range(4)]


def test_rgb_crop_centres_the_middle_mcp_and_keeps_geometry_consistent(samples):
    config = HandCropConfig(mode="rgb_keypoints", out_size=48)
    for sample in samples:
        out = crop_hand(sample, config)
        assert out["image"].shape == (48, 48, 3) and out["mask"].shape == (48, 48) and out["depth"].shape == (48, 48)
        uv = out["keypoints_2d"]
        np.testing.assert_allclose(uv[JOINT_INDEX["middle_mcp"]], [24.0, 24.0], atol=1e-4)
        # The new intrinsics project the unchanged 3D joints onto the new 2D keypoints.
        np.testing.assert_allclose(np.asarray(project(out["keypoints_3d"], out["intrinsics"])), uv, atol=1e-3)
        np.testing.assert_array_equal(out["keypoints_3d"], sample["keypoints_3d"])
        # hand3d's tight box holds every visible keypoint (the extreme ones on its edge),
        # and the hand covers more of the crop than of the full frame.
        was = sample["visible"]
        assert np.all((uv[was] >= -1e-3) & (uv[was] <= 48 + 1e-3))
        assert np.array_equal(out["visible"], was & np.all((uv >= -1e-3) & (uv <= 48 + 1e-3), axis=1))
        # The tight box puts the farthest visible keypoint on the crop's edge: still visible.
        on_edge = was & np.any(np.isclose(uv, 0.0, atol=1e-3) | np.isclose(uv, 48.0, atol=1e-3), axis=1)
        assert on_edge.any() and np.all(out["visible"][on_edge])
        assert out["mask"].mean() > sample["mask"].mean()


def test_rgb_crop_margin_scales_the_box_about_the_centre(samples):
    tight = crop_hand(samples[0], HandCropConfig(mode="rgb_keypoints", out_size=48))
    loose = crop_hand(samples[0], HandCropConfig(mode="rgb_keypoints", out_size=48, margin=2.0))
    centre = np.array([24.0, 24.0])
    np.testing.assert_allclose(loose["keypoints_2d"] - centre, (tight["keypoints_2d"] - centre) / 2, atol=1e-3)


def test_depth_cube_crop_keeps_only_depths_inside_the_cube(samples):
    config = HandCropConfig(mode="depth_cube", out_size=40, cube_size_m=0.3)
    for sample in samples:
        centre = depth_centre_of_mass(sample["depth"], sample["intrinsics"], sample["mask"])
        out = crop_hand(sample, config)
        measured = out["depth"][out["depth"] > 0]
        assert measured.size > 0
        assert np.all(np.abs(measured - centre[2]) <= 0.15 + 1e-6)
        # The box is the cube's projection: 0.3 m at depth z spans fx * 0.3 / z source pixels.
        fx = float(sample["intrinsics"][0, 0])
        np.testing.assert_allclose(out["intrinsics"][0, 0], fx * 40 / (fx * 0.3 / centre[2]), rtol=1e-4)
        np.testing.assert_allclose(np.asarray(project(out["keypoints_3d"], out["intrinsics"])),
                                   out["keypoints_2d"], atol=1e-3)


def test_edge_keypoint_stays_visible_and_outside_one_does_not():
    from jaxhands.data.cropping import CropBox
    from jaxhands.data.hand_crop import apply_box

    # Box [10, 30] x [10, 30] -> 20 output pixels (scale 1): u = 30 lies on the right edge.
    sample = {"keypoints_2d": np.array([[30.0, 20.0], [10.0, 10.0], [30.5, 20.0], [20.0, 9.0]], np.float32),
              "visible": np.array([True, True, True, False])}
    out = apply_box(sample, CropBox(10.0, 10.0, 20.0, 20.0), 20)
    np.testing.assert_allclose(out["keypoints_2d"], [[20, 10], [0, 0], [20.5, 10], [10, -1]])
    np.testing.assert_array_equal(out["visible"], [True, True, False, False])


def test_depth_centre_of_mass_by_hand():
    depth = np.zeros((4, 4), np.float32)
    depth[1, 1], depth[1, 2] = 1.0, 1.0
    depth[3, 3] = 2.0  # background far behind the hand: dropped by the cube threshold
    k = np.array([[2.0, 0, 2.0], [0, 2.0, 2.0], [0, 0, 1]])
    # Pixels (row 1, cols 1 and 2): centres u = 1.5, 2.5, v = 1.5 -> x = (u - 2) / 2, y = (v - 2) / 2.
    np.testing.assert_allclose(depth_centre_of_mass(depth, k), [0.0, -0.25, 1.0], atol=1e-9)


def test_crop_errors_name_the_problem(samples):
    with pytest.raises(ValueError, match="mode must be one of"):
        HandCropConfig(mode="square")
    with pytest.raises(ValueError, match="unknown field"):
        HandCropConfig.from_mapping({"mode": "rgb_keypoints", "cube": 0.3})
    no_keypoints = {k: v for k, v in samples[0].items() if k != "keypoints_2d"}
    with pytest.raises(ValueError, match="keypoints_2d"):
        crop_hand(no_keypoints, HandCropConfig(mode="rgb_keypoints"))
    empty = dict(samples[0], depth=np.zeros_like(samples[0]["depth"]))
    with pytest.raises(ValueError, match="no measured pixel"):
        crop_hand(empty, HandCropConfig(mode="depth_cube"))


def test_no_crop_returns_the_sample_unchanged(samples):
    out = crop_hand(samples[0], HandCropConfig())
    for k, v in samples[0].items():
        np.testing.assert_array_equal(out[k], v)


def test_jitter_box_stays_within_its_bounds_and_zero_is_identity():
    from jaxhands.data.cropping import CropBox
    from jaxhands.data.hand_crop import jitter_box

    box = CropBox.centred(50.0, 40.0, 20.0, 20.0)
    rng = np.random.default_rng(0)
    boxes = [jitter_box(box, 0.2, rng) for _ in range(500)]
    centres = np.array([[b.u0 + b.width / 2, b.v0 + b.height / 2] for b in boxes])
    sides = np.array([b.width for b in boxes])
    assert np.all(np.abs(centres - [50.0, 40.0]) <= 0.2 * 20.0 + 1e-9)
    assert np.all((sides >= 16.0 - 1e-9) & (sides <= 24.0 + 1e-9))
    # The draws fill the range (not a constant offset).
    assert np.ptp(centres[:, 0]) > 6.0 and np.ptp(sides) > 6.0
    assert jitter_box(box, 0.0, rng) == box
    with pytest.raises(ValueError, match="box jitter"):
        jitter_box(box, 1.5, rng)


def test_jittered_crop_keeps_geometry_consistent(samples):
    config = HandCropConfig(mode="rgb_keypoints", out_size=48)
    exact = crop_hand(samples[1], config)
    moved = crop_hand(samples[1], config, box_jitter=0.2, rng=np.random.default_rng(3))
    assert not np.allclose(moved["keypoints_2d"], exact["keypoints_2d"])
    np.testing.assert_allclose(np.asarray(project(moved["keypoints_3d"], moved["intrinsics"])),
                               moved["keypoints_2d"], atol=1e-3)
    with pytest.raises(ValueError, match="needs an rng"):
        crop_hand(samples[1], config, box_jitter=0.1)


@pytest.mark.parametrize("mode", ["rgb_keypoints", "depth_cube"])
def test_pose_only_crop_moves_the_points_exactly_as_the_full_crop_and_drops_the_pictures(samples, mode):
    config = HandCropConfig(mode=mode, out_size=40)
    for sample in samples:
        full, points = crop_hand(sample, config), crop_hand(sample, config, images=False)
        assert not {"image", "depth", "mask"} & set(points)
        assert set(full) - set(points) == {"image", "depth", "mask"} & set(sample)
        for name in points:
            np.testing.assert_array_equal(np.asarray(points[name]), np.asarray(full[name]), err_msg=name)
        # The moved points are really in the crop's frame, not the source's.
        assert not np.allclose(points["keypoints_2d"], sample["keypoints_2d"])
