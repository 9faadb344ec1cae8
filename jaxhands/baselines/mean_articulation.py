"""The mean hand turned to the true viewpoint: what a model scores that gets every
hand's orientation exactly right and learns no articulation. An oracle bound, not a
method: it reads the test hand's ground truth to orient the mean hand.

Why it exists: with random viewpoints the plain mean-pose baseline (mean_pose.py)
averages hands pointing every way, so its mean is a shrunken blob near the root, and
its PA-EPE (~35 mm on the synthetic split) is only the spread of a hand's joints about
their centroid, not an articulation floor. Here the training poses are first aligned
to each other (generalised Procrustes, rotations only, in the normalised space of the
config's T/S invariances), averaged into one mean hand, and that hand is fitted to each
test hand by its best rigid transform (rotation and translation; the test hand's root
and scale put it back in the camera frame). Its PA-EPE is the articulation floor: a
model whose PA-EPE is not below it has learnt the viewpoint at most; its plain EPE is
what perfect orientation with the mean articulation would score.

    python -m jaxhands.baselines mean_articulation --config=spurr18_depth_to_3d_var1
"""

from __future__ import annotations

import numpy as np

from jaxhands.baselines.scoring import baseline_metrics, baseline_sources, stacked_records
from jaxhands.evaluation.metrics import procrustes_align
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera


def mean_aligned_pose(poses, *, iterations: int = 10) -> np.ndarray:
    """[21, 3]: generalised Procrustes mean of normalised poses [N, 21, 3] (rotations and
    translations only: the poses share the invariances' scale). Starts from the first
    pose, then alternates aligning every pose to the mean and re-averaging."""
    poses = np.asarray(poses, np.float64)
    if poses.ndim != 3 or poses.shape[0] == 0:
        raise ValueError(f"mean_aligned_pose: expected poses [N > 0, J, 3], got shape {poses.shape}")
    mean = poses[0]
    for _ in range(iterations):
        mean = procrustes_align(poses, np.broadcast_to(mean, poses.shape), with_scale=False).mean(axis=0)
    return mean.astype(np.float32)


def predict_mean_articulation(mean_pose, keypoints_3d, visible, inv: Invariances) -> np.ndarray:
    """[B, 21, 3] metres: `mean_pose` (normalised) fitted rigidly to each ground-truth hand
    on its visible joints, with the hand's root and scale."""
    keypoints_3d = np.asarray(keypoints_3d, np.float32)
    target = np.asarray(pose_3d_target({"keypoints_3d": keypoints_3d}, inv), np.float64)
    fitted = procrustes_align(np.broadcast_to(np.asarray(mean_pose, np.float64), target.shape), target,
                              visible, with_scale=False)
    return np.asarray(pose_3d_to_camera(fitted.astype(np.float32), {"keypoints_3d": keypoints_3d}, inv))


def evaluate_mean_articulation(config, *, max_train: int = 5000, test_dataset: str | None = None) -> dict:
    """The oracle's metrics (jaxhands.baselines.scoring) on config's test split (or
    test_dataset's); the mean hand from the first `max_train` training poses (the mean
    settles well before 5000)."""
    train_source, test_source = baseline_sources(config, test_dataset=test_dataset)
    inv = Invariances.from_config(config)
    count = min(len(train_source), max_train)
    train = np.stack([np.asarray(train_source[i]["keypoints_3d"], np.float32) for i in range(count)])
    mean_pose = mean_aligned_pose(np.asarray(pose_3d_target({"keypoints_3d": train}, inv)))
    test = stacked_records(test_source, ("keypoints_3d", "visible"))
    gt = test["keypoints_3d"].astype(np.float32)
    pred = predict_mean_articulation(mean_pose, gt, test["visible"], inv)
    return baseline_metrics(pred, gt, test["visible"], num_train=count, mean_pose=mean_pose.tolist())
