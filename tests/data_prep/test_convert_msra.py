"""MSRA converter on a tiny raw fixture in MSRA15's exact on-disk format (joint.txt + depth .bin)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from data_prep import msra
from jaxhands.data.converted_builder import ConversionOptions, RawDatasetError, build_converted_dataset
from jaxhands.data.cropping import CropBox, crop_to_full
from jaxhands.geometry.camera import project
from tests.data_prep.raw_fixtures import (depth_scene, nothing_left_behind, plane_residual, read_records)

SIZE, POINTS = 32, 32
F, CX, CY = 241.42, 160.0, 120.0
K = np.array([[F, 0, CX], [0, F, CY], [0, 0, 1.0]])
HW = (240, 320)
CUBE = 0.25
# canonical index <- MSRA index (MSRA: wrist, index, middle, ring, little, thumb, each MCP -> tip).
MSRA_OF_CANONICAL = [0, 17, 18, 19, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
TWO_FRAMES = ("P3", "TIP")  # every other gesture folder holds one frame


def write_bin(path, depth_mm, box):
    left, top, right, bottom = box
    header = np.array([HW[1], HW[0], left, top, right, bottom], "<i4").tobytes()
    path.write_bytes(header + depth_mm[top:bottom, left:right].astype("<f4").tobytes())


def write_raw(root, rng):
    """MSRA fixture; returns {source: (depth mm inside the bin's box, joints as in joint.txt, plane, region)}."""
    truth = {}
    for s, subject in enumerate(msra.SUBJECTS):
        for g, gesture in enumerate(msra.GESTURES):
            folder = root / subject / gesture
            folder.mkdir(parents=True)
            count = 2 if (subject, gesture) == TWO_FRAMES else 1
            lines = [str(count)]
            for i in range(count):
                centre = (130.0 + 2 * g + 10 * i, 100.0 + 3 * s)
                depth, uvd, plane, region = depth_scene(rng, K, HW, centre, 22, 0.35 + 0.01 * s, 0.9, 21, 5)
                box = (int(centre[0]) - 60, int(centre[1]) - 50, int(centre[0]) + 55, int(centre[1]) + 60)
                depth_mm = np.zeros(HW)
                left, top, right, bottom = box
                depth_mm[top:bottom, left:right] = (depth * 1000)[top:bottom, left:right]
                write_bin(folder / f"{i:06d}_depth.bin", depth_mm, box)
                xyz_mm = np.stack([(uvd[:, 0] - CX) * uvd[:, 2] / F, (uvd[:, 1] - CY) * uvd[:, 2] / F, uvd[:, 2]],
                                  -1) * 1000
                file_joints = np.round(xyz_mm * [1, -1, -1], 4)  # joint.txt: y up, z negative
                lines.append(" ".join(f"{x:.4f}" for x in file_joints.ravel()))
                truth[f"{subject}/{gesture}/{i:06d}_depth.bin"] = (depth_mm.astype(np.float32), file_joints, plane,
                                                                   region)
            (folder / "joint.txt").write_text("\n".join(lines) + "\n")
    return truth


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("msra_raw")
    return root, write_raw(root, np.random.default_rng(5))


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("msra_out")
    spec = msra.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS), test_subject=3)
    build_converted_dataset(spec, out, workers=1)
    return out


def test_leave_one_subject_out_and_joint_frame(raw, converted):
    train, test = read_records(converted, "train"), read_records(converted, "test")
    assert len(test) == 18 and len(train) == 8 * 17
    assert {r["sequence"].decode().split("/")[0] for r in test} == {"P3"}
    assert "P3" not in {r["sequence"].decode().split("/")[0] for r in train}
    assert [r["source"].decode() for r in test[-3:]] == ["P3/TIP/000000_depth.bin", "P3/TIP/000001_depth.bin",
                                                         "P3/Y/000000_depth.bin"]
    for record in test + train[:5]:
        _, joints, _, _ = raw[1][record["source"].decode()]
        z = -joints[:, 2]
        # DeepPrior's MSRA projection: u = x / z f + cx, v = cy - y / z f with z = -z_file.
        uv = np.stack([joints[:, 0] / z * F + CX, CY - joints[:, 1] / z * F], -1)
        box = CropBox.from_array(record["crop_box"])
        np.testing.assert_allclose(crop_to_full(record["keypoints_2d_raw"], box, SIZE), uv, atol=2e-3)
        xyz = joints * [1, -1, -1] / 1000
        np.testing.assert_allclose(record["keypoints_3d_raw"], xyz, atol=1e-6)
        np.testing.assert_allclose(record["keypoints_3d"], xyz[MSRA_OF_CANONICAL], atol=1e-6)
        np.testing.assert_allclose([box.u0 + box.width / 2, box.v0 + box.height / 2], uv[5], atol=1e-3)
        np.testing.assert_allclose(box.width, F * CUBE / (z[5] / 1000), rtol=1e-6)
        assert record["keypoints_defined"].all() and int(record["hand_side"]) == 1


def test_depth_bin_decoding_cube_and_points(raw, converted):
    for record in read_records(converted, "test")[:6]:
        depth_mm, joints, plane, region = raw[1][record["source"].decode()]
        centre_z = -joints[5, 2] / 1000
        box = CropBox.from_array(record["crop_box"])
        v, u = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        full = crop_to_full(np.stack([u, v], -1), box, SIZE)
        col, row = np.floor(full[..., 0]).astype(int), np.floor(full[..., 1]).astype(int)
        inside = (col >= 0) & (col < HW[1]) & (row >= 0) & (row < HW[0])
        metres = np.where(inside, depth_mm[row.clip(0, HW[0] - 1), col.clip(0, HW[1] - 1)].astype(np.float64) / 1000,
                          0)
        kept = (metres >= centre_z - CUBE / 2) & (metres <= centre_z + CUBE / 2)
        np.testing.assert_allclose(record["depth"], np.where(kept, metres, 0), atol=1e-6)
        assert kept.sum() > 50 and (~kept).sum() > 20
        np.testing.assert_array_equal(record["mask"], record["depth"] > 0)
        assert np.max(plane_residual(record["points"], *plane)) < 1e-3
        pixels = np.floor(project(record["points"], K)).astype(int)
        assert region[pixels[:, 1], pixels[:, 0]].all()


def test_refuses_bad_raw_files_and_leaves_nothing(raw, tmp_path):
    broken = tmp_path / "raw"
    shutil.copytree(raw[0], broken)
    shutil.rmtree(broken / "P4" / "TIP")
    with pytest.raises(RawDatasetError, match="P4/TIP/joint.txt"):
        msra.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    shutil.copytree(raw[0] / "P4" / "TIP", broken / "P4" / "TIP")
    (broken / "P2" / "L" / "joint.txt").write_text("2\n" + " ".join(["1"] * 63) + "\n")
    with pytest.raises(RawDatasetError, match="P2/L/joint.txt: says 2 frames but has 1"):
        msra.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    shutil.copy(raw[0] / "P2" / "L" / "joint.txt", broken / "P2" / "L" / "joint.txt")
    data = (broken / "P0" / "5" / "000000_depth.bin").read_bytes()
    (broken / "P0" / "5" / "000000_depth.bin").write_bytes(data[:-8])
    spec = msra.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    with pytest.raises(RawDatasetError, match="P0/5/000000_depth.bin: .* depth values after the header"):
        build_converted_dataset(spec, tmp_path / "out", workers=1)
    assert nothing_left_behind(tmp_path / "out")
