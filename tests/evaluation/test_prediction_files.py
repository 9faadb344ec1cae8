"""(u, v, d) prediction files: reader errors, xyz conversion, published figures."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.evaluation import metrics, prediction_files


def _write_frames(path, frames: np.ndarray) -> None:
    path.write_text("".join(" ".join(f"{x:.6f}" for x in frame.ravel()) + "\n" for frame in frames))


def test_load_round_trip_and_trailing_blank_lines(tmp_path):
    frames = np.arange(2 * 2 * 3, dtype=np.float64).reshape(2, 2, 3) + 0.5
    path = tmp_path / "pred.txt"
    _write_frames(path, frames)
    path.write_text(path.read_text() + "\n  \n")
    np.testing.assert_allclose(prediction_files.load_uvd_file(path, 2), frames)


@pytest.mark.parametrize("text, message", [
    ("1 2 3 4 5 6\n1 2 3 4 5\n", r"line 2 has 5 numbers, expected 6 \(2 joints x \(u, v, d\)\)"),
    ("1 2 3 4 5 6\n\n1 2 3 4 5 6\n", r"line 2 has 0 numbers"),
    ("1 2 3 4 5 6\n1 2 x3 4 5 6\n", r"line 2, number 3: 'x3' is not a number"),
    ("1 2 3 nan 5 6\n", r"line 1, number 4: 'nan' is not finite"),
    ("\n\n", r"no frames"),
])
def test_reader_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(prediction_files.PredictionFileError, match=message) as error:
        prediction_files.load_uvd_file(path, 2)
    assert str(path) in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(prediction_files.PredictionFileError, match="no such file"):
        prediction_files.load_uvd_file(tmp_path / "absent.txt", 16)
    assert issubclass(prediction_files.PredictionFileError, ValueError)


def test_dataset_registry():
    assert prediction_files.depth_dataset("ICVL").num_joints == 16
    assert prediction_files.depth_dataset("nyu").fy == -587.07
    assert prediction_files.depth_dataset("msra").num_joints == 21
    with pytest.raises(ValueError, match="unknown depth dataset 'hands17'; known: icvl, msra, nyu"):
        prediction_files.depth_dataset("hands17")


def test_uvd_to_xyz_uses_dataset_intrinsics(tmp_path):
    uvd = np.array([[[160.0 + 240.99, 120.0 - 240.96 / 2, 1000.0]]])
    np.testing.assert_allclose(prediction_files.uvd_to_xyz_mm(uvd, "icvl"), [[[1000.0, -500.0, 1000.0]]],
                               rtol=1e-6)
    # NYU's negative fy flips y.
    uvd = np.array([[[320.0, 240.0 + 587.07, 500.0]]])
    np.testing.assert_allclose(prediction_files.uvd_to_xyz_mm(uvd, "nyu"), [[[0.0, -500.0, 500.0]]],
                               rtol=1e-6, atol=1e-9)
    path = tmp_path / "msra.txt"
    frames = np.tile([160.0, 120.0, 400.0], (1, 21, 1))
    _write_frames(path, frames)
    np.testing.assert_allclose(prediction_files.uvd_file_to_xyz_mm(path, "msra"), np.tile([0, 0, 400.0], (1, 21, 1)))


def test_evaluate_prediction_file_hand_computed(tmp_path):
    gt = np.tile([160.0, 120.0, 1000.0], (2, 16, 1))
    pred = gt.copy()
    pred[0, 4, 2] += 10.0  # 10 mm too deep
    pred[1, 7, 0] += 24.099  # 24.099 px at 1 m with fx 240.99 -> 100 mm sideways
    _write_frames(tmp_path / "gt.txt", gt)
    _write_frames(tmp_path / "pred.txt", pred)
    result = prediction_files.evaluate_prediction_file(tmp_path / "pred.txt", tmp_path / "gt.txt", "icvl")
    assert result["num_frames"] == 2 and result["dataset"] == "icvl"
    assert result["mean_error_mm"] == pytest.approx(110.0 / 32, rel=1e-6)
    expected_per_joint = np.zeros(16)
    expected_per_joint[4], expected_per_joint[7] = 5.0, 50.0
    np.testing.assert_allclose(result["per_joint_error_mm"], expected_per_joint, rtol=1e-6, atol=1e-9)
    thresholds, values = result["success_rate"]
    np.testing.assert_array_equal(thresholds, np.arange(81))
    expected = np.where(thresholds < 10, 0.0, np.where(thresholds < 99.99, 0.5, 1.0))
    np.testing.assert_allclose(values, expected)


def test_frame_count_mismatch(tmp_path):
    gt = np.tile([160.0, 120.0, 1000.0], (3, 16, 1))
    _write_frames(tmp_path / "gt.txt", gt)
    _write_frames(tmp_path / "pred.txt", gt[:2])
    with pytest.raises(prediction_files.PredictionFileError, match="frame counts differ.*2 frames.*3"):
        prediction_files.evaluate_prediction_file(tmp_path / "pred.txt", tmp_path / "gt.txt", "icvl")


@pytest.mark.shared_data
def test_reproduces_v2v_posenet_on_icvl(shared_data):
    folder = shared_data / "icvl_nyu"
    result = prediction_files.evaluate_prediction_file(
        folder / "pred" / "CVPR18_ICVL_V2V_PoseNet.txt", folder / "gt" / "icvl_test_groundtruth_label.txt", "icvl")
    assert result["num_frames"] == 1596
    assert round(result["mean_error_mm"], 3) == 6.284
    rates = [round(100 * metrics.pck_at(result["success_rate"], t), 2) for t in (10, 20, 30, 40, 50)]
    assert rates == [45.30, 84.65, 93.92, 97.18, 98.75]


@pytest.mark.shared_data
def test_reproduces_deepprior_plus_plus_on_nyu(shared_data):
    folder = shared_data / "icvl_nyu"
    result = prediction_files.evaluate_prediction_file(
        folder / "pred" / "ICCVW17_NYU_DeepPrior++.txt", folder / "gt" / "nyu_test_groundtruth_label.txt", "nyu")
    assert result["num_frames"] == 8252
    assert round(result["mean_error_mm"], 3) == 12.238
