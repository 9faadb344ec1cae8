"""One interface for the baselines: names, shared metric keys, values against brute force,
and the command line."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxhands.baselines import BASELINES, evaluate_baseline
from jaxhands.evaluation.metrics import evaluate_keypoints
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera
from jaxhands.training.experiment import build_sources
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = {"name", "mean_epe_mm", "median_epe_mm", "auc_20_50", "pa_mean_epe_mm", "num_samples", "num_train"}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("baselines_data"))


def test_mean_pose_equals_brute_force(config):
    result = evaluate_baseline("mean_pose", config)
    assert KEYS <= set(result) and result["num_samples"] == 40 and result["num_train"] == 400
    train, test = build_sources(config)
    inv = Invariances.from_config(config)
    poses = np.stack([np.asarray(pose_3d_target({"keypoints_3d": train[i]["keypoints_3d"][None]}, inv))[0]
                      for i in range(len(train))])
    gt = np.stack([test[i]["keypoints_3d"] for i in range(len(test))]).astype(np.float32)
    visible = np.stack([test[i]["visible"] for i in range(len(test))])
    pred = np.asarray(pose_3d_to_camera(np.broadcast_to(poses.mean(0), gt.shape), {"keypoints_3d": gt}, inv))
    assert result["mean_epe_mm"] == pytest.approx(float(evaluate_keypoints(pred, gt, visible)["mean_epe_mm"]),
                                                  rel=1e-4)



def test_baselines_beside_a_semi_supervised_run_fit_only_its_labelled_records(config):
    """At labelled_fraction 0.1 the mean pose is the mean over the 40 records the run keeps
    labels for (labelled_mask with the run's seed), not over all 400; so is every baseline's pool."""
    from jaxhands.data.streams import labelled_mask

    semi = config.copy_and_resolve_references()
    semi.labelled_fraction, semi.seed = 0.1, 3
    train, _ = build_sources(semi)
    inv = Invariances.from_config(semi)
    keep = np.flatnonzero(labelled_mask(len(train), 0.1, 3))
    poses = np.stack([np.asarray(pose_3d_target({"keypoints_3d": train[int(i)]["keypoints_3d"][None]}, inv))[0]
                      for i in keep])
    result = evaluate_baseline("mean_pose", semi)
    assert result["num_train"] == len(keep) == 40
    np.testing.assert_allclose(result["mean_pose"], poses.mean(0), atol=1e-5)
    assert not np.allclose(result["mean_pose"], evaluate_baseline("mean_pose", config)["mean_pose"], atol=1e-4)
    for name in ("keypoint_nearest_neighbour", "mean_articulation"):
        assert evaluate_baseline(name, semi)["num_train"] == 40, name

def _random_rotations(rng, n):
    q = rng.normal(size=(n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                     np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                     np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)


def test_mean_aligned_pose_recovers_one_hand_seen_from_every_side(config):
    from jaxhands.baselines.mean_articulation import mean_aligned_pose
    from jaxhands.evaluation.metrics import procrustes_align

    train, _ = build_sources(config)
    hand = np.asarray(pose_3d_target({"keypoints_3d": train[0]["keypoints_3d"][None]},
                                     Invariances.from_config(config)), np.float64)[0]
    rng = np.random.default_rng(0)
    turned = np.einsum("nab,jb->nja", _random_rotations(rng, 200), hand) + rng.normal(size=(200, 1, 3))
    mean = mean_aligned_pose(turned)
    back = procrustes_align(mean[None], hand[None], with_scale=False)[0]
    np.testing.assert_allclose(back, hand, atol=1e-5)
    # The plain average of the same hands is the shrunken blob the mean-pose baseline predicts.
    spread = lambda pose: np.linalg.norm(pose - pose.mean(0), axis=-1).mean()  # noqa: E731
    assert spread(turned.mean(0)) < 0.3 * spread(hand) and spread(mean) == pytest.approx(spread(hand), rel=1e-5)


def test_mean_articulation_is_an_oracle_below_the_mean_pose(config):
    mean = evaluate_baseline("mean_pose", config)
    oracle = evaluate_baseline("mean_articulation", config)
    assert KEYS <= set(oracle) and oracle["num_train"] == 400
    # Random viewpoints: the oriented mean hand is far closer, in plain and in PA error.
    assert oracle["mean_epe_mm"] < 0.6 * mean["mean_epe_mm"], (oracle["mean_epe_mm"], mean["mean_epe_mm"])
    assert oracle["pa_mean_epe_mm"] < 0.8 * mean["pa_mean_epe_mm"], (oracle, mean)
    # A prediction equal to the truth is fitted onto itself: zero error.
    from jaxhands.baselines.mean_articulation import predict_mean_articulation
    _, test = build_sources(config)
    inv = Invariances.from_config(config)
    gt = np.asarray(test[3]["keypoints_3d"], np.float32)[None]
    own = np.asarray(pose_3d_target({"keypoints_3d": gt}, inv))[0]
    np.testing.assert_allclose(predict_mean_articulation(own, gt, np.ones((1, 21), bool), inv), gt, atol=1e-6)


def test_keypoint_nearest_neighbour_beats_the_mean_pose_on_2d_input(config):
    mean = evaluate_baseline("mean_pose", config)
    nn = evaluate_baseline("keypoint_nearest_neighbour", config)
    assert KEYS <= set(nn) and nn["num_train"] == 400
    assert nn["mean_epe_mm"] < 0.9 * mean["mean_epe_mm"], (nn["mean_epe_mm"], mean["mean_epe_mm"])
    with pytest.raises(ValueError, match="unknown baseline 'median'"):
        evaluate_baseline("median", config)
    assert sorted(BASELINES) == ["keypoint_nearest_neighbour", "mean_articulation", "mean_pose",
                                 "pixel_nearest_neighbour"]


def test_command_line_writes_the_result(config, tmp_path):
    out = tmp_path / "mean.json"
    env = script_env()
    run = subprocess.run([sys.executable, "-m", "jaxhands.baselines", "mean_pose", "--config=tests/training/tiny_train_config.py",
                          f"--config.data_dir={config.data_dir}", f"--out={out}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(out.read_text())["mean_epe_mm"] == pytest.approx(evaluate_baseline("mean_pose", config)["mean_epe_mm"])
    assert "mean_pose on 40 test samples" in run.stdout
