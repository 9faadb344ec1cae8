"""STB converter on a tiny raw fixture in STB's exact on-disk format (.mat labels + stereo PNGs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io

from data_prep import stb
from jaxhands.data.converted_builder import ConversionOptions, RawDatasetError, build_converted_dataset
from jaxhands.data.cropping import CropBox, crop_to_full
from jaxhands.geometry.layouts import to_canonical
from tests.data_prep.raw_fixtures import canonical_right_hand_votes, gradient_image, read_records, write_png

SIZE, POINTS, FRAMES = 32, 16, 2
F, CX, CY = 822.79041, 318.47345, 250.31296
# canonical joint j <- STB joint STB_OF_CANONICAL[j] (STB: palm, little, ring, middle, index, thumb, MCP -> tip).
STB_OF_CANONICAL = [0, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4]
SEQUENCES = stb.TEST_SEQUENCES + stb.TRAIN_SEQUENCES


def write_raw(root, rng, images_folder=""):
    """STB fixture; returns {sequence: [N, 21, 3] joints in mm (left camera)}."""
    truth = {}
    for number, sequence in enumerate(SEQUENCES):
        centre = np.array([-30.0 + 5 * number, 10.0, 500.0 + 10 * number])
        joints = centre + rng.uniform(-60, 60, (FRAMES, 21, 3)) * [1, 1, 0.3]
        (root / "labels").mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / "labels" / f"{sequence}_BB.mat", {"handPara": np.transpose(joints, (2, 1, 0))})
        for view in stb.VIEWS:
            for i in range(FRAMES):
                write_png(root / images_folder / sequence / f"BB_{view}_{i}.png", gradient_image((480, 640)))
        truth[sequence] = joints
    return truth


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("stb_raw")
    return root, write_raw(root, np.random.default_rng(1))


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("stb_out")
    spec = stb.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS))
    build_converted_dataset(spec, out, workers=1)
    return out


def test_split_order_joint_order_and_wrist(raw, converted):
    truth = raw[1]
    test = read_records(converted, "test")
    train = read_records(converted, "train")
    assert [(r["sequence"].decode(), int(r["frame"])) for r in train] == [
        (f"{s}/BB_{v}", i) for s in stb.TRAIN_SEQUENCES for v in stb.VIEWS for i in range(FRAMES)]
    assert [(r["sequence"].decode(), int(r["frame"])) for r in test] == [
        (f"{s}/BB_{v}", i) for s in stb.TEST_SEQUENCES for v in stb.VIEWS for i in range(FRAMES)]
    for record in test:
        sequence, view = record["sequence"].decode().split("/BB_")
        raw_m = truth[sequence][int(record["frame"])] / 1000.0 - [stb.BASELINE_M if view == "right" else 0, 0, 0]
        np.testing.assert_allclose(record["keypoints_3d_raw"], raw_m, atol=1e-6)
        canonical = raw_m[STB_OF_CANONICAL]
        wrist = canonical[13] + 2 * (canonical[0] - canonical[13])  # through the ring MCP (hand3d)
        np.testing.assert_allclose(record["keypoints_3d"][0], wrist, atol=1e-6)
        np.testing.assert_allclose(record["keypoints_3d"][1:], canonical[1:], atol=1e-6)
        assert int(record["hand_side"]) == 1


def test_stereo_geometry_and_crop(raw, converted):
    records = read_records(converted, "test")
    left, right = records[0], records[FRAMES]  # the same frame seen by both cameras
    assert int(left["frame"]) == int(right["frame"]) == 0
    for record in (left, right):
        box = CropBox.from_array(record["crop_box"])
        uv = crop_to_full(record["keypoints_2d_raw"], box, SIZE)
        xyz = record["keypoints_3d_raw"]
        np.testing.assert_allclose(uv, np.stack([F * xyz[:, 0] / xyz[:, 2] + CX, F * xyz[:, 1] / xyz[:, 2] + CY], -1),
                                   atol=2e-3)
        # hand3d box around the (raw) middle MCP, holding every joint.
        np.testing.assert_allclose([box.u0 + box.width / 2, box.v0 + box.height / 2], uv[9], atol=1e-3)
        half = max(np.abs(np.clip(uv, 0, [640, 480]) - uv[9]).max(), 25.0)
        np.testing.assert_allclose(box.width, 2 * half, rtol=1e-5)
        uv_crop = record["keypoints_2d"]  # the closed crop: a keypoint on its edge is inside
        assert record["visible"].all() == bool(np.all((uv_crop >= -1e-3) & (uv_crop <= SIZE + 1e-3)))
        # No depth, mask or points in the stereo views: zeros, flagged.
        assert not record["depth"].any() and not record["mask"].any() and not record["points"].any()
        assert not record["has_points"]
    # Rectified stereo: same row, disparity f * baseline / z.
    uv_left = crop_to_full(left["keypoints_2d_raw"], CropBox.from_array(left["crop_box"]), SIZE)
    uv_right = crop_to_full(right["keypoints_2d_raw"], CropBox.from_array(right["crop_box"]), SIZE)
    z = left["keypoints_3d_raw"][:, 2]
    np.testing.assert_allclose(uv_left[:, 0] - uv_right[:, 0], F * stb.BASELINE_M / z, atol=2e-3)
    np.testing.assert_allclose(uv_left[:, 1], uv_right[:, 1], atol=2e-3)


def test_palm_option_and_images_folder(tmp_path):
    root = tmp_path / "raw"
    truth = write_raw(root, np.random.default_rng(2), images_folder="images")
    spec = stb.conversion_spec(root, ConversionOptions(image_size=SIZE, num_points=POINTS), palm_to_wrist="none",
                               views=("left",), hand_side="left")
    build_converted_dataset(spec, tmp_path / "out", workers=1)
    test = read_records(tmp_path / "out", "test")
    assert len(test) == 2 * FRAMES
    record = test[1]
    assert int(record["hand_side"]) == 0
    np.testing.assert_allclose(record["keypoints_3d"], truth["B1Counting"][1][STB_OF_CANONICAL] / 1000, atol=1e-6)
    box = CropBox.from_array(record["crop_box"])
    v, u = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    full = crop_to_full(np.stack([u, v], -1), box, SIZE)
    inside = np.all((full > 3) & (full < [637, 477]), axis=-1)
    np.testing.assert_allclose(record["image"][..., 0][inside], 200 * full[..., 0][inside] / 640, atol=1.0)
    assert (record["image"][..., 2][inside] == 77).all()


def test_refuses_missing_labels_and_v73_mat(raw, tmp_path):
    import shutil

    broken = tmp_path / "raw"
    shutil.copytree(raw[0], broken)
    (broken / "labels" / "B3Random_BB.mat").unlink()
    with pytest.raises(RawDatasetError, match="labels/B3Random_BB.mat"):
        stb.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    # A MATLAB v7.3 (HDF5) file: header text, then version 0x0200 at bytes 124-127.
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM"
    (broken / "labels" / "B3Random_BB.mat").write_bytes(header + b"\0" * 512)
    with pytest.raises(RawDatasetError, match="v7.3"):
        stb.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    shutil.rmtree(broken / "B2Counting")
    scipy.io.savemat(broken / "labels" / "B3Random_BB.mat", {"handPara": np.zeros((3, 21, FRAMES)) + 500})
    with pytest.raises(RawDatasetError, match="B2Counting/BB_left_0.png"):
        stb.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))


@pytest.mark.shared_data
def test_stb_labels_have_right_hand_geometry(shared_data):
    # The votes' sign convention, on InterHand2.6M's labelled hands (rows 0-20 right, 21-41 left).
    folder = shared_data / "images/interhand2.6m"
    right, left = [], []
    for frames in json.loads((folder / "test_interhand2.6m_joint_3d.json").read_text()).values():
        for frame in frames.values():
            world, valid = np.array(frame["world_coord"]), np.array(frame["joint_valid"]).ravel() > 0
            if valid[:21].all():
                right.append(to_canonical(world[:21], "interhand21")[0])
            if valid[21:].all():
                left.append(to_canonical(world[21:], "interhand21")[0])
    assert len(right) >= 3 and len(left) >= 3
    assert canonical_right_hand_votes(np.array(right))[1] == 1.0
    assert canonical_right_hand_votes(np.array(left))[1] == 0.0
    # STB's joints (canonical order, camera frame): a right hand's geometry, whatever the papers call it.
    flexion, thumb = canonical_right_hand_votes(np.load(shared_data / "stb/stb_test.npy").astype(np.float64))
    assert flexion > 0.95 and thumb > 0.75
    assert stb.DEFAULT_HAND_SIDE == "right"
