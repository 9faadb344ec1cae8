"""The predict-the-mean-pose baseline: what a model that ignores its input scores.

The mean of the training poses in the model's space (root-relative and divided by
the reference bone as the config's T/S invariances say), put back into the camera
frame with each test sample's ground-truth root and scale — exactly the information
the cross-modal VAE's `predict` gets for free. A trained model must beat it to have
learnt anything from its input.

    python -m jaxhands.baselines mean_pose --config=spurr18_rgb_to_3d_var1
    python -m jaxhands.baselines mean_pose --workdir=workdirs/spurr18_rgb_to_3d_var1 [--out=mean.json]
"""

from __future__ import annotations


import numpy as np

from jaxhands.baselines.scoring import baseline_metrics, baseline_sources, stacked_records
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera


def mean_normalized_pose(source, inv: Invariances, *, max_samples: int | None = None,
                         chunk: int = 512) -> np.ndarray:
    """[21, 3]: mean over `source`'s records (the first max_samples) of the normalised pose."""
    count = len(source) if max_samples is None else min(len(source), max_samples)
    if count == 0:
        raise ValueError("mean_normalized_pose: the training source is empty")
    total = np.zeros((21, 3), np.float64)
    for start in range(0, count, chunk):
        joints = np.stack([np.asarray(source[i]["keypoints_3d"], np.float32)
                           for i in range(start, min(count, start + chunk))])
        total += np.asarray(pose_3d_target({"keypoints_3d": joints}, inv), np.float64).sum(axis=0)
    return (total / count).astype(np.float32)


def predict_mean_pose(mean_pose, keypoints_3d, inv: Invariances) -> np.ndarray:
    """[B, 21, 3] metres: the mean pose with each sample's ground-truth root and scale."""
    keypoints_3d = np.asarray(keypoints_3d, np.float32)
    pred = np.broadcast_to(np.asarray(mean_pose, np.float32), keypoints_3d.shape)
    return np.asarray(pose_3d_to_camera(pred, {"keypoints_3d": keypoints_3d}, inv))


def evaluate_mean_pose(config, *, test_dataset: str | None = None) -> dict:
    """The baseline's metrics (jaxhands.baselines.scoring) on config's test split (or
    test_dataset's: the mean still comes from config's training split), and the mean pose."""
    train_source, test_source = baseline_sources(config, test_dataset=test_dataset)
    inv = Invariances.from_config(config)
    mean_pose = mean_normalized_pose(train_source, inv)
    test = stacked_records(test_source, ("keypoints_3d", "visible"))
    gt = test["keypoints_3d"].astype(np.float32)
    pred = predict_mean_pose(mean_pose, gt, inv)
    return baseline_metrics(pred, gt, test["visible"], num_train=len(train_source), mean_pose=mean_pose.tolist())
