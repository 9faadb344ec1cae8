"""Train on A, test on B (issue 18): `evaluate_workdir(..., dataset=B)`, `eval.py --dataset`
and the baselines' `test_dataset` score another dataset's test split, in their own
folder, with the same numbers as a run configured on B."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxhands.baselines import evaluate_baseline
from jaxhands.data import ensure_synthetic_dataset, load_split
from jaxhands.evaluation.metrics import evaluate_keypoints
from jaxhands.evaluation.run_evaluation import (
    dataset_slug,
    evaluate_run,
    evaluate_workdir,
)
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera
from jaxhands.runs import load_run
from jaxhands.training.experiment import build_sources
from jaxhands.training.loop import train
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    config = tiny_config(data)
    workdir = tmp_path_factory.mktemp("run")
    train(config, workdir, progress=False)
    # Dataset B: other hands (seed 7), 24 test samples, addressed by its path.
    other = ensure_synthetic_dataset(tmp_path_factory.mktemp("other"), image_size=32, num_points=32, num_train=16,
                                     num_test=24, seed=7)
    return config, workdir, other


def test_a_run_scores_another_datasets_test_split_in_its_own_folder(setup):
    config, workdir, other = setup
    home = evaluate_workdir(workdir)
    home_text = (workdir / "eval" / "metrics.json").read_text()
    away = evaluate_workdir(workdir, dataset=str(other))
    assert away["dataset"] == str(other) and away["trained_on"] == "synthetic" and away["num_samples"] == 24
    assert home["num_samples"] == 40 and home["dataset"] == home["trained_on"] == "synthetic"
    folders = [p.name for p in workdir.iterdir() if p.name.startswith("eval_on_")]
    assert folders == [f"eval_on_{dataset_slug(str(other))}"] and folders[0].endswith("1.0.0"), folders
    saved = json.loads((workdir / folders[0] / "metrics.json").read_text())
    assert saved["mean_epe_mm"] == pytest.approx(away["mean_epe_mm"])
    assert (workdir / "eval" / "metrics.json").read_text() == home_text  # in-domain results untouched
    # The same numbers as the run re-configured to read B as its own dataset.
    run = load_run(workdir)
    moved = dataclasses.replace(run, config=run.config.copy_and_resolve_references())
    moved.config.dataset = str(other)
    direct = evaluate_run(moved)
    for key in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50"):
        assert away[key] == pytest.approx(direct[key], rel=1e-9), key


def test_baselines_fit_on_a_and_score_on_b(setup):
    config, _, other = setup
    result = evaluate_baseline("mean_pose", config, test_dataset=str(other))
    assert result["num_samples"] == 24 and result["num_train"] == 400
    # Brute force: A's mean normalised training pose, B's test hands' roots and scales.
    inv = Invariances.from_config(config)
    train_a, _ = build_sources(config)
    mean = np.mean([np.asarray(pose_3d_target({"keypoints_3d": train_a[i]["keypoints_3d"][None]}, inv))[0]
                    for i in range(len(train_a))], axis=0)
    test_b = load_split(other, "test")
    gt = np.stack([test_b[i]["keypoints_3d"] for i in range(len(test_b))]).astype(np.float32)
    visible = np.stack([test_b[i]["visible"] for i in range(len(test_b))])
    pred = np.asarray(pose_3d_to_camera(np.broadcast_to(mean, gt.shape), {"keypoints_3d": gt}, inv))
    assert result["mean_epe_mm"] == pytest.approx(float(evaluate_keypoints(pred, gt, visible)["mean_epe_mm"]),
                                                  rel=1e-4)
    nn = evaluate_baseline("keypoint_nearest_neighbour", config, test_dataset=str(other))
    assert nn["num_samples"] == 24 and nn["num_train"] == 400


def test_eval_py_dataset_flag(setup):
    _, workdir, other = setup
    env = script_env()
    run = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}", f"--dataset={other}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"24 test samples ({other}; trained on synthetic)" in run.stdout, run.stdout
    assert "eval_on_" in run.stdout and "metrics.json" in run.stdout
    # A dataset that is not there: one line naming the folder and how to prepare one.
    missing = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}", f"--dataset={workdir / 'nowhere'}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr, missing.stderr[-2000:]
    assert "nowhere" in missing.stderr and "python -m data_prep" in missing.stderr
    # The prediction-file mode keeps its check on --dataset.
    bad = subprocess.run([sys.executable, "eval.py", "--predictions=a.txt", "--ground_truth=b.txt", "--dataset=stb"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "expected icvl, nyu or msra" in bad.stderr
