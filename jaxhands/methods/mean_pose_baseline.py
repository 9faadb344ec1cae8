"""The predict-the-mean-pose baseline: what a model that ignores its input scores.

The mean of the training poses in the model's space (root-relative and divided by
the reference bone as the config's T/S invariances say), put back into the camera
frame with each test sample's ground-truth root and scale — exactly the information
the cross-modal VAE's `predict` gets for free. A trained model must beat it to have
learnt anything from its input.

    python -m jaxhands.methods.mean_pose_baseline --config=spurr18_rgb_to_3d_var1
    python -m jaxhands.methods.mean_pose_baseline --workdir workdirs/spurr18_rgb_to_3d_var1 [--out mean.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

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


def evaluate_mean_pose_baseline(config) -> dict:
    """Mean/median EPE (mm, visible joints, hand3d conventions) of the baseline on config's test split."""
    from jaxhands.evaluation.metrics import evaluate_keypoints, pa_mean_epe_mm
    from jaxhands.training.experiment import build_sources

    train_source, test_source = build_sources(config)
    inv = Invariances.from_config(config)
    mean_pose = mean_normalized_pose(train_source, inv)
    records = [test_source[i] for i in range(len(test_source))]
    gt = np.stack([np.asarray(r["keypoints_3d"], np.float32) for r in records])
    visible = np.stack([np.asarray(r["visible"], bool) for r in records])
    pred = predict_mean_pose(mean_pose, gt, inv)
    metrics = evaluate_keypoints(pred, gt, visible)
    return {"mean_epe_mm": float(metrics["mean_epe_mm"]), "median_epe_mm": float(metrics["median_epe_mm"]),
            "auc_20_50": float(metrics["auc"]), "pa_mean_epe_mm": pa_mean_epe_mm(pred, gt, visible),
            "num_samples": int(gt.shape[0]),
            "num_train": len(train_source), "mean_pose": mean_pose.tolist()}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The baseline CLIs' shared options beside --config (read by `parse_run_args`):
    --workdir DIR and --out JSON."""
    parser.add_argument("--workdir", type=pathlib.Path, default=None,
                        help="training workdir (its config.json); or give --config=NAME|FILE [--config.field=value]")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="optional JSON file for the result")


def parse_run_args(parser: argparse.ArgumentParser, argv=None):
    """(args, config): the experiment of `--workdir` (its config.json, exactly what was
    trained) or of `--config=NAME|FILE`, with `--config.field=value` overrides as in train.py."""
    from jaxhands.configs import load_config, split_config_args

    spec, overrides, rest = split_config_args(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(rest)
    if (spec is None) == (args.workdir is None):
        parser.error("give exactly one of --config=NAME (or a .py file) and --workdir=DIR")
    return args, load_config(args.workdir if args.workdir is not None else spec, overrides)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    args, config = parse_run_args(parser, argv)
    result = evaluate_mean_pose_baseline(config)
    print(f"mean-pose baseline on {result['num_samples']} test samples: mean EPE {result['mean_epe_mm']:.2f} mm, "
          f"median {result['median_epe_mm']:.2f} mm, PA-EPE {result['pa_mean_epe_mm']:.2f} mm, "
          f"AUC 20-50 {result['auc_20_50']:.4f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
