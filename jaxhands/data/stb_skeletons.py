"""The real STB 3D skeletons of ../shared/data/stb as a random-access data source.

`stb_{train,test}.npy` hold float32 [N, 21, 3] joints in metres, camera frame, in
the canonical layout (wrist extrapolated from STB's palm; see the data's README).
2D keypoints come from projecting them with STB's Bumblebee intrinsics, as Spurr
et al. do ("the 2D keypoints are recovered via projecting them with the camera
intrinsic matrix"). `hand_side` is the hand the geometry shows (the jaxhands
convention, which the canonical frame and the flip augmentation rely on): in this
camera frame the STB skeletons have right-hand chirality (checked against
InterHand2.6M's labelled hands in tests/data_prep), although the papers call STB's
hand a left hand. Records carry the joint
fields of the sample schema only (no image/depth/points): skeleton-only methods
(2D -> 3D lifting) train on them.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from jaxhands.geometry import camera

# Bumblebee stereo camera (640 x 480), from the STB README.
BUMBLEBEE_INTRINSICS = camera.intrinsics_matrix(822.79041, 822.79041, 318.47345, 250.31296)
SPLIT_FILES = {"train": "stb_train.npy", "test": "stb_test.npy"}
SPLIT_SIZES = {"train": 15000, "test": 3000}


def default_root() -> pathlib.Path:
    root = os.environ.get("JAXHANDS_SHARED_DATA")
    if not root:
        raise FileNotFoundError(
            "dataset 'stb_skeletons' needs the STB joints: set JAXHANDS_SHARED_DATA to the shared data folder "
            "(the one holding stb/stb_train.npy), or set config.data_dir")
    return pathlib.Path(root) / "stb"


class STBSkeletonSource:
    """Random-access source of STB skeleton records (len / getitem), numpy arrays."""

    def __init__(self, split: str, root: str | os.PathLike | None = None):
        if split not in SPLIT_FILES:
            raise ValueError(f"STB skeletons: unknown split {split!r}; expected one of {list(SPLIT_FILES)}")
        root = pathlib.Path(root) if root else default_root()
        path = root / SPLIT_FILES[split]
        if not path.is_file():
            raise FileNotFoundError(f"STB skeletons: {path} not found (expected {SPLIT_FILES[split]} in {root})")
        joints = np.load(path)
        if joints.ndim != 3 or joints.shape[1:] != (21, 3):
            raise ValueError(f"{path}: expected float32 [N, 21, 3] joints, got {joints.dtype} {joints.shape}")
        if not np.all(np.isfinite(joints)):
            raise ValueError(f"{path}: contains non-finite joint coordinates")
        self.split = split
        self.keypoints_3d = joints.astype(np.float32)
        intrinsics = np.asarray(BUMBLEBEE_INTRINSICS, np.float32)
        self.keypoints_2d = camera.project(self.keypoints_3d, intrinsics).astype(np.float32)
        self.intrinsics = intrinsics

    def __len__(self) -> int:
        return self.keypoints_3d.shape[0]

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {
            "keypoints_3d": self.keypoints_3d[index],
            "keypoints_2d": self.keypoints_2d[index],
            "visible": np.ones(21, np.bool_),
            "intrinsics": self.intrinsics,
            "hand_side": np.int32(1),
            "index": np.int64(index),
        }
