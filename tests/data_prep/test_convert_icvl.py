"""ICVL converter on a tiny raw fixture in ICVL's exact on-disk format, and on the published test labels."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from data_prep import icvl
from jaxhands.data.converted_builder import ConversionOptions, RawDatasetError, build_converted_dataset
from jaxhands.data.cropping import CropBox, crop_to_full
from jaxhands.evaluation.prediction_files import load_uvd_file
from jaxhands.geometry.camera import project
from jaxhands.geometry.layouts import to_canonical
from tests.data_prep.raw_fixtures import (canonical_right_hand_votes, depth_scene, plane_residual, read_records,
                                          write_png)

SIZE, POINTS = 32, 64
FX, FY, CX, CY = 240.99, 240.96, 160.0, 120.0
K = np.array([[FX, 0, CX], [0, FY, CY], [0, 0, 1.0]])
HW = (240, 320)
CUBE = 0.25
# canonical index <- ICVL index (palm has no canonical counterpart).
CANONICAL_FROM_ICVL = {1: 1, 2: 2, 4: 3, 5: 4, 6: 5, 8: 6, 9: 7, 10: 8, 12: 9, 13: 10, 14: 11, 16: 12, 17: 13,
                       18: 14, 20: 15}
LABEL_FILES = {
    "Training/labels.txt": ["201403121135/image_0000.png", "45/image_0000.png", "201403121135/image_0001.png"],
    "Testing/test_seq_1.txt": ["test_seq_1/image_0000.png", "test_seq_1/image_0001.png"],
    "Testing/test_seq_2.txt": ["test_seq_2/image_0000.png"],
}


def write_raw(root, rng):
    """ICVL fixture; returns {image path: (depth code uint16, uvd [16, 3] mm, plane, region)}."""
    truth = {}
    for number, (label_file, images) in enumerate(LABEL_FILES.items()):
        lines = []
        for i, image in enumerate(images):
            centre = (140.0 + 15 * i, 110.0 + 10 * number)
            depth, uvd, plane, region = depth_scene(rng, K, HW, centre, 25, 0.4 + 0.03 * i, 1.5, 16, 0)
            code = np.rint(depth * 1000).astype(np.uint16)
            code[:, :40] = icvl.NO_DEPTH_CODE  # no measurement on the left
            code[60:66, 120:126] = 200  # an occluder in front of the cube
            write_png(root / label_file.split("/")[0] / "Depth" / image, code)
            uvd_mm = uvd * [1, 1, 1000]
            lines.append(image + " " + " ".join(f"{x:.4f}" for x in uvd_mm.ravel()))
            truth[image] = (code, np.round(uvd_mm, 4), plane, region)
        (root / label_file).write_text("\n".join(lines) + "\n")
    return truth


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("icvl_raw")
    return root, write_raw(root, np.random.default_rng(4))


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("icvl_out")
    build_converted_dataset(icvl.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS)),
                            out, workers=1)
    return out


def test_frames_joints_and_uvd_conversion(raw, converted):
    train, test = read_records(converted, "train"), read_records(converted, "test")
    # The rotated copy (short first folder) is left out by default; test = seq 1 then seq 2.
    assert [r["source"].decode() for r in train] == ["Training/Depth/201403121135/image_0000.png",
                                                     "Training/Depth/201403121135/image_0001.png"]
    assert [int(r["frame"]) for r in train] == [0, 2]
    assert [(r["sequence"].decode(), int(r["frame"])) for r in test] == [
        ("test_seq_1", 0), ("test_seq_1", 1), ("test_seq_2", 0)]
    for record in train + test:
        uvd = raw[1][record["source"].decode().split("Depth/")[1]][1]
        d = uvd[:, 2] / 1000
        xyz = np.stack([(uvd[:, 0] - CX) * d / FX, (uvd[:, 1] - CY) * d / FY, d], -1)
        np.testing.assert_allclose(record["keypoints_3d_raw"], xyz, atol=1e-6)
        expected = np.zeros((21, 3))
        for canonical, index in CANONICAL_FROM_ICVL.items():
            expected[canonical] = xyz[index]
        np.testing.assert_allclose(record["keypoints_3d"], expected, atol=1e-6)
        assert record["keypoints_defined"].sum() == 15 and not record["keypoints_defined"][0]
        box = CropBox.from_array(record["crop_box"])
        np.testing.assert_allclose(crop_to_full(record["keypoints_2d_raw"], box, SIZE), uvd[:, :2], atol=2e-3)
        np.testing.assert_allclose([box.u0 + box.width / 2, box.v0 + box.height / 2], uvd[0, :2], atol=1e-3)
        np.testing.assert_allclose(box.width, FX * CUBE / d[0], rtol=1e-6)
        assert int(record["hand_side"]) == 0


def test_depth_decoding_cube_and_points(raw, converted):
    for record in read_records(converted, "test"):
        code, uvd, plane, region = raw[1][record["source"].decode().split("Depth/")[1]]
        centre_z = uvd[0, 2] / 1000
        box = CropBox.from_array(record["crop_box"])
        v, u = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        full = crop_to_full(np.stack([u, v], -1), box, SIZE)
        col, row = np.floor(full[..., 0]).astype(int), np.floor(full[..., 1]).astype(int)
        inside = (col >= 0) & (col < HW[1]) & (row >= 0) & (row < HW[0])
        metres = np.where(inside, code[row.clip(0, HW[0] - 1), col.clip(0, HW[1] - 1)] / 1000.0, 0)
        kept = inside & (metres >= centre_z - CUBE / 2) & (metres <= centre_z + CUBE / 2)
        np.testing.assert_allclose(record["depth"], np.where(kept, metres, 0), atol=1e-6)
        np.testing.assert_array_equal(record["mask"], record["depth"] > 0)
        assert np.max(plane_residual(record["points"], *plane)) < 1.2e-3
        pixels = np.floor(project(record["points"], K)).astype(int)
        assert region[pixels[:, 1], pixels[:, 0]].all()
    np.testing.assert_array_equal(icvl.decode_depth(np.array([0, 450, icvl.NO_DEPTH_CODE], np.uint16)),
                                  np.array([0, 0.45, 0], np.float32))


def test_all_training_frames_and_depth_folder_fallback(raw, tmp_path):
    root = tmp_path / "raw"
    shutil.copytree(raw[0], root)
    for child in (root / "Testing" / "Depth").iterdir():
        child.rename(root / "Testing" / child.name)  # images directly under Testing/
    spec = icvl.conversion_spec(root, ConversionOptions(image_size=SIZE, num_points=POINTS), train_frames="all")
    training = LABEL_FILES["Training/labels.txt"]
    assert [f.source for f in spec.splits["train"]] == [f"Training/Depth/{p}" for p in training]
    assert [f.source for f in spec.splits["test"]][0] == "Testing/test_seq_1/image_0000.png"
    (root / "Testing" / "test_seq_2.txt").write_text("test_seq_2/image_0000.png 1 2 3\n")
    with pytest.raises(RawDatasetError, match="test_seq_2.txt: line 1 has 4 fields"):
        icvl.conversion_spec(root, ConversionOptions(image_size=SIZE, num_points=POINTS))
    (root / "Testing" / "test_seq_2.txt").unlink()
    with pytest.raises(RawDatasetError, match="Testing/test_seq_2.txt"):
        icvl.conversion_spec(root, ConversionOptions(image_size=SIZE, num_points=POINTS))


@pytest.mark.shared_data
def test_published_icvl_errors_and_hand_side(shared_data):
    gt = icvl.labels_to_xyz(load_uvd_file(shared_data / "icvl_nyu/gt/icvl_test_groundtruth_label.txt", 16))
    pred = icvl.labels_to_xyz(load_uvd_file(shared_data / "icvl_nyu/pred/CVPR18_ICVL_V2V_PoseNet.txt", 16))
    assert gt.shape == (1596, 16, 3)
    assert np.linalg.norm(pred - gt, axis=-1).mean() * 1000 == pytest.approx(6.284, abs=5e-4)
    canonical, defined = to_canonical(gt, "icvl16")
    assert defined.sum() == 15
    np.testing.assert_array_equal(canonical[:, 8], gt[:, 6])  # index tip
    # The labelled hand has a left hand's geometry (both votes; convention checked in test_convert_stb.py).
    flexion, thumb = canonical_right_hand_votes(canonical, palm=gt[:, 0])
    assert flexion < 0.25 and thumb < 0.25
    assert icvl.DEFAULT_HAND_SIDE == "left"


def test_command_line(raw, tmp_path, capsys):
    from data_prep.__main__ import main

    args = ["icvl", "--raw", str(raw[0]), "--out", str(tmp_path), "--image-size", "16", "--num-points", "8",
            "--workers", "1", "--hand-side", "right"]
    assert main(args) == 0
    records = read_records(tmp_path / "icvl", "test")
    assert len(records) == 3 and records[0]["depth"].shape == (16, 16) and int(records[0]["hand_side"]) == 1
    assert main(args) == 0
    assert "already complete" in capsys.readouterr().out
    assert main(["icvl", "--raw", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err
