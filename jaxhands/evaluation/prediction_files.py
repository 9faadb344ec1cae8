"""Readers and the evaluation of the depth benchmarks' (u, v, d) prediction text files.

Format (ICVL, NYU, MSRA; the files of the public hand-pose result collections): one line
per frame, J * 3 whitespace-separated numbers (u, v, d) per joint, u and v in pixels and
d in millimetres. ICVL has 16 joints, NYU 14 (the 14 of its 36 that everyone
evaluates), MSRA 21.

How the published figures come out (checked against V2V-PoseNet on ICVL, 6.284 mm, and
DeepPrior++ on NYU, 12.238 mm): both files go through (u, v, d) -> (x, y, z) with the
dataset's intrinsics, x = (u - cx) d / fx, y = (v - cy) d / fy, z = d, and the error is
the Euclidean distance in that metric (mm) space, averaged over all joints and frames.
Distances taken directly in (u, v, d) give a different number (5.094 mm on the ICVL
file); the principal point matters because prediction and ground truth have different
depths. The sign of NYU's fy only mirrors y and leaves distances unchanged.
The success rate is the fraction of frames whose largest joint error is <= t (`<=`,
thresholds in mm).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from jaxhands.evaluation.metrics import joint_distances, success_rate_from_errors
from jaxhands.geometry.camera import intrinsics_matrix, uvd_to_xyz


class PredictionFileError(ValueError):
    """A (u, v, d) text file is missing or malformed; the message names file and line."""


@dataclasses.dataclass(frozen=True)
class DepthDataset:
    """Camera and joint count of one depth benchmark (numbers from the datasets' releases)."""

    name: str
    num_joints: int
    fx: float
    fy: float
    cx: float
    cy: float
    image_size: tuple[int, int]  # (width, height) pixels

    def intrinsics(self) -> np.ndarray:
        """[3, 3] pinhole K as jaxhands.geometry.camera builds it."""
        return intrinsics_matrix(self.fx, self.fy, self.cx, self.cy)


DEPTH_DATASETS: dict[str, DepthDataset] = {
    "icvl": DepthDataset("icvl", 16, 240.99, 240.96, 160.0, 120.0, (320, 240)),
    # NYU's published fy is negative: y points up in its (x, y, z) frame.
    "nyu": DepthDataset("nyu", 14, 588.03, -587.07, 320.0, 240.0, (640, 480)),
    "msra": DepthDataset("msra", 21, 241.42, 241.42, 160.0, 120.0, (320, 240)),
}


def depth_dataset(dataset: str | DepthDataset) -> DepthDataset:
    """Looks a dataset up by name (case-insensitive); ValueError listing the known ones."""
    if isinstance(dataset, DepthDataset):
        return dataset
    key = str(dataset).lower()
    if key not in DEPTH_DATASETS:
        raise ValueError(f"unknown depth dataset {dataset!r}; known: {', '.join(sorted(DEPTH_DATASETS))}")
    return DEPTH_DATASETS[key]


def _parse_line(tokens: list[str], path: pathlib.Path, line_number: int, expected: int,
                num_joints: int) -> np.ndarray:
    if len(tokens) != expected:
        raise PredictionFileError(
            f"{path}: line {line_number} has {len(tokens)} numbers, expected {expected} "
            f"({num_joints} joints x (u, v, d))")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        for column, token in enumerate(tokens, start=1):
            try:
                float(token)
            except ValueError:
                raise PredictionFileError(
                    f"{path}: line {line_number}, number {column}: {token!r} is not a number") from None
        raise
    if not np.all(np.isfinite(values)):
        column = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
        raise PredictionFileError(f"{path}: line {line_number}, number {column}: {tokens[column - 1]!r} "
                                  "is not finite")
    return values


def load_uvd_file(path, num_joints: int) -> np.ndarray:
    """Reads a (u, v, d) text file into [num_frames, num_joints, 3] float64 (pixels, pixels, mm).

    Trailing blank lines are allowed; a blank line before the last frame is an error
    (it would shift every later frame). Raises PredictionFileError (a ValueError) naming
    the file and line for a missing file, a wrong count of numbers, or a non-numeric or
    non-finite token.
    """
    if num_joints < 1:
        raise ValueError(f"num_joints: expected >= 1, got {num_joints}")
    path = pathlib.Path(path)
    if not path.is_file():
        raise PredictionFileError(f"{path}: no such file")
    lines = path.read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise PredictionFileError(f"{path}: no frames (the file is empty)")
    expected = 3 * num_joints
    frames = [_parse_line(line.split(), path, number, expected, num_joints)
              for number, line in enumerate(lines, start=1)]
    return np.stack(frames).reshape(len(frames), num_joints, 3)


def uvd_to_xyz_mm(uvd: np.ndarray, dataset: str | DepthDataset) -> np.ndarray:
    """[..., J, 3] (u, v, d mm) -> [..., J, 3] (x, y, z) mm with the dataset's intrinsics."""
    return uvd_to_xyz(np.asarray(uvd, np.float64), depth_dataset(dataset).intrinsics())


def uvd_file_to_xyz_mm(path, dataset: str | DepthDataset) -> np.ndarray:
    """Reads a (u, v, d) file of `dataset` and returns [num_frames, J, 3] (x, y, z) mm."""
    info = depth_dataset(dataset)
    return uvd_to_xyz_mm(load_uvd_file(path, info.num_joints), info)


def evaluate_prediction_file(pred_path, gt_path, dataset: str | DepthDataset,
                             thresholds_mm=range(0, 81)) -> dict:
    """Mean 3D joint error and success rate of a prediction file against ground truth.

    Returns dict(mean_error_mm: mean over all joints and frames; success_rate:
    (thresholds_mm [T], fraction of frames with max joint error <= t [T]);
    per_joint_error_mm: [J] mean over frames; num_frames; dataset: its name).
    Raises PredictionFileError when the two files have different frame counts.
    """
    info = depth_dataset(dataset)
    pred = uvd_file_to_xyz_mm(pred_path, info)
    gt = uvd_file_to_xyz_mm(gt_path, info)
    if pred.shape[0] != gt.shape[0]:
        raise PredictionFileError(f"frame counts differ: {pred_path} has {pred.shape[0]} frames, "
                                  f"{gt_path} has {gt.shape[0]}")
    errors_mm = joint_distances(pred, gt)  # both already in mm
    thresholds = np.asarray(thresholds_mm, dtype=np.float64)
    return {
        "mean_error_mm": float(errors_mm.mean()),
        "success_rate": (thresholds, success_rate_from_errors(errors_mm, thresholds)),
        "per_joint_error_mm": errors_mm.mean(axis=0),
        "num_frames": int(pred.shape[0]),
        "dataset": info.name,
    }
