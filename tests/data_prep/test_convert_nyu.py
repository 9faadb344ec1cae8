"""NYU converter on a tiny raw fixture in NYU's exact on-disk format, and on the published test labels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from data_prep import nyu
from jaxhands.data.converted_builder import ConversionOptions, RawDatasetError, build_converted_dataset
from jaxhands.data.cropping import CropBox, crop_to_full
from jaxhands.evaluation.prediction_files import load_uvd_file
from jaxhands.geometry.camera import project
from jaxhands.geometry.layouts import to_canonical
from tests.data_prep.raw_fixtures import (canonical_right_hand_votes, depth_scene, plane_residual, read_records,
                                          write_png)

SIZE, POINTS = 32, 64
FX, FY, CX, CY = 588.03, 587.07, 320.0, 240.0
K = np.array([[FX, 0, CX], [0, FY, CY], [0, 0, 1.0]])
HW = (480, 640)
FRAMES = {"train": 3, "test": 2}
# canonical index -> NYU 14-joint index for the 11 joints NYU defines.
CANONICAL_FROM_NYU = {20: 0, 18: 1, 16: 2, 14: 3, 12: 4, 10: 5, 8: 6, 6: 7, 4: 8, 3: 9, 2: 10}
CUBE = 0.25


def write_raw(root, rng):
    """NYU fixture (kinect 1 depth only); returns {(folder, number): (depth_mm int, uvd14 mm, plane, region)}."""
    truth = {}
    for folder, count in FRAMES.items():
        joint_uvd = rng.uniform(0, 500, (3, count, 36, 3))  # other kinects / joints: noise to be ignored
        for i in range(count):
            centre = (250.0 + 40 * i, 200.0 + 25 * i)
            depth, uvd, plane, region = depth_scene(rng, K, HW, centre, 45, 0.6 + 0.05 * i, 2.0, 14, 13)
            depth[150:160, 180:190] = 0.3  # an occluder in front of the cube
            depth_mm = np.rint(depth * 1000).astype(np.int64)
            encoded = np.stack([rng.integers(0, 256, HW), depth_mm >> 8, depth_mm & 255], -1).astype(np.uint8)
            write_png(root / folder / f"depth_1_{i + 1:07d}.png", encoded)
            uvd_mm = uvd * [1, 1, 1000]
            joint_uvd[0, i, list(nyu.EVALUATED_JOINTS)] = uvd_mm
            truth[folder, i + 1] = (depth_mm, uvd_mm, plane, region)
        scipy.io.savemat(root / folder / "joint_data.mat", {"joint_uvd": joint_uvd, "joint_xyz": joint_uvd})
    return truth


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("nyu_raw")
    return root, write_raw(root, np.random.default_rng(3))


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("nyu_out")
    build_converted_dataset(nyu.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS)),
                            out, workers=1)
    return out


def test_order_joints_and_uvd_conversion(raw, converted):
    for split, count in FRAMES.items():
        records = read_records(converted, split)
        assert [(r["sequence"].decode(), int(r["frame"]), r["source"].decode()) for r in records] == [
            (f"{split}/kinect_1", i, f"{split}/depth_1_{i:07d}.png") for i in range(1, count + 1)]
        for record in records:
            uvd = raw[1][split, int(record["frame"])][1]
            d = uvd[:, 2] / 1000
            xyz = np.stack([(uvd[:, 0] - CX) * d / FX, (uvd[:, 1] - CY) * d / FY, d], -1)
            np.testing.assert_allclose(record["keypoints_3d_raw"], xyz, atol=1e-6)
            expected = np.zeros((21, 3))
            for canonical, index in CANONICAL_FROM_NYU.items():
                expected[canonical] = xyz[index]
            np.testing.assert_allclose(record["keypoints_3d"], expected, atol=1e-6)
            defined = np.isin(np.arange(21), list(CANONICAL_FROM_NYU))
            np.testing.assert_array_equal(record["keypoints_defined"], defined)
            assert not record["visible"][~defined].any() and not record["keypoints_2d"][~defined].any()
            box = CropBox.from_array(record["crop_box"])
            np.testing.assert_allclose(crop_to_full(record["keypoints_2d_raw"], box, SIZE), uvd[:, :2], atol=2e-3)
            np.testing.assert_allclose(project(record["keypoints_3d"][defined], record["intrinsics"]),
                                       record["keypoints_2d"][defined], atol=1e-3)
            assert int(record["hand_side"]) == 1 and not record["image"].any()


def test_cube_crop_depth_mask_and_points(raw, converted):
    for record in read_records(converted, "train"):
        depth_mm, uvd, plane, region = raw[1]["train", int(record["frame"])]
        centre_z = uvd[13, 2] / 1000
        box = CropBox.from_array(record["crop_box"])
        # DeepPrior's cube: centred on the palm centre, |f| * cube / z pixels.
        np.testing.assert_allclose([box.u0 + box.width / 2, box.v0 + box.height / 2], uvd[13, :2], atol=1e-3)
        np.testing.assert_allclose([box.width, box.height], [FX * CUBE / centre_z, FY * CUBE / centre_z], rtol=1e-6)
        v, u = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        full = crop_to_full(np.stack([u, v], -1), box, SIZE)
        col, row = np.floor(full[..., 0]).astype(int), np.floor(full[..., 1]).astype(int)
        assert col.min() >= 0 and row.min() >= 0 and col.max() < HW[1] and row.max() < HW[0]
        metres = depth_mm[row, col] / 1000
        kept = (metres >= centre_z - CUBE / 2) & (metres <= centre_z + CUBE / 2)
        np.testing.assert_allclose(record["depth"], np.where(kept, metres, 0), atol=1e-6)
        assert kept.sum() > 50 and (~kept).sum() > 50  # background and occluder dropped
        np.testing.assert_array_equal(record["mask"], record["depth"] > 0)
        assert record["has_points"]
        points = record["points"]
        assert np.max(plane_residual(points, *plane)) < 1.2e-3  # whole-mm depth codes + pixel jitter
        pixels = np.floor(project(points, K)).astype(int)
        assert region[pixels[:, 1], pixels[:, 0]].all()


def test_refuses_missing_depth_image(raw, tmp_path):
    import shutil

    broken = tmp_path / "raw"
    shutil.copytree(raw[0], broken)
    (broken / "test" / "depth_1_0000002.png").unlink()
    with pytest.raises(RawDatasetError, match="test/depth_1_0000002.png"):
        nyu.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    with pytest.raises(RawDatasetError, match="depth_2_0000001.png"):
        nyu.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS), kinects=(1, 2))


@pytest.mark.shared_data
def test_published_nyu_errors_and_hand_side(shared_data):
    gt = nyu.labels_to_xyz(load_uvd_file(shared_data / "icvl_nyu/gt/nyu_test_groundtruth_label.txt", 14))
    pred = nyu.labels_to_xyz(load_uvd_file(shared_data / "icvl_nyu/pred/ICCVW17_NYU_DeepPrior++.txt", 14))
    assert gt.shape == (8252, 14, 3)
    assert np.linalg.norm(pred - gt, axis=-1).mean() * 1000 == pytest.approx(12.238, abs=5e-4)
    canonical, defined = to_canonical(gt, "nyu14")
    assert defined.sum() == 11
    np.testing.assert_array_equal(canonical[:, 4], gt[:, 8])  # thumb tip
    # The labelled hand has a right hand's geometry (both votes; convention checked in test_convert_stb.py).
    flexion, thumb = canonical_right_hand_votes(canonical, palm=gt[:, 13])
    assert flexion > 0.75 and thumb > 0.95
    assert nyu.DEFAULT_HAND_SIDE == "right"


def test_one_frame_per_shard_gives_the_same_records_in_order(raw, converted, tmp_path, monkeypatch):
    """Splits are written shard by shard (storage.MAX_SHARD_BYTES); the cut changes nothing."""
    import tensorflow_datasets as tfds

    from jaxhands.data import storage
    from tests.data_prep.raw_fixtures import only_prepared

    monkeypatch.setattr(storage, "MAX_SHARD_BYTES", 1)  # one frame a shard
    build_converted_dataset(nyu.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS)),
                            tmp_path, workers=1)
    info = tfds.builder_from_directory(str(only_prepared(tmp_path))).info
    assert info.splits["train"].shard_lengths == [1] * FRAMES["train"]
    for split in FRAMES:
        for one_shard, sharded in zip(read_records(converted, split), read_records(tmp_path, split), strict=True):
            for name in ("depth", "keypoints_3d", "frame", "points"):
                np.testing.assert_array_equal(np.asarray(sharded[name]), np.asarray(one_shard[name]))
    assert info.metadata["samples_without_points"] == \
        tfds.builder_from_directory(str(only_prepared(converted))).info.metadata["samples_without_points"]
