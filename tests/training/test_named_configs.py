"""Every named experiment config loads and builds its method; a Yang et al. strategy runs
end to end through the train.py and eval.py command lines (tiny sizes by overrides)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxhands.configs import config_names, get_config
from tests.command_lines import assert_scores_another_dataset, run_script, script_env

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_there_is_a_config_per_paper_experiment():
    names = set(config_names())
    for expected in ("default", "spurr18_2d_to_3d_var1", "spurr18_rgb_to_3d_var3", "spurr18_depth_to_3d_var1",
                     "spurr18_rgb_to_3d_semi_var3", "yang19_s1_r2p", "yang19_s2_r2chp", "yang19_s3_rc2chp",
                     "yang19_s4_rc2chp", "yang19_cloud_to_pose"):
        assert expected in names, expected


@pytest.mark.parametrize("name", config_names())
def test_named_config_builds_its_method(name):
    from jaxhands.methods.registry import build_method

    config = get_config(name)
    assert config.name == name  # workdirs and reports are named after the experiment
    method = build_method(config)
    assert method.phases, name
    assert config.num_train_steps > 0 and config.batch_size > 0



@pytest.mark.parametrize("name, size", [("spurr18_rgb_to_3d_var3", 64), ("spurr18_rgb_to_3d_semi_var3", 64),
                                        ("spurr18_rgb_to_3d_var4", 64), ("spurr18_rgb_to_3d_var3_gpu256", 256)])
def test_rgb_image_term_is_a_per_value_mean_weighted_like_one_pose_value(name, size):
    """Alg. 1's L_MSE: the weighted RGB -> RGB sum of squares over 3 x size^2 values equals
    63 (the pose term's values) x their mean, the same error per value costing the same in
    both pairs; depth keeps the plain sum (its Table 1 rows learn with it)."""
    from jaxhands.methods.modality_registry import get_modality

    config = get_config(name)
    assert config.image_size == size
    error = 0.1  # every value off by 0.1
    image = np.zeros((1, size, size, 3), np.float32)
    image_term = config.recon_weights.rgb * float(get_modality("rgb").loss(image + error, image, config))
    pose = np.zeros((1, 21, 3), np.float32)
    pose_term = config.recon_weights.kp3d * float(get_modality("kp3d").loss(pose + error, pose, config))
    np.testing.assert_allclose(image_term, pose_term, rtol=1e-5)
    np.testing.assert_allclose(pose_term, 63 * error ** 2, rtol=1e-5)
    assert get_config(name.replace("rgb", "depth")).recon_weights.depth == 1.0


def test_rgb_image_weight_follows_an_image_size_override_and_yields_to_its_own():
    from jaxhands.configs.loader import load_config

    assert load_config("spurr18_rgb_to_3d_var3", ["image_size=32"]).recon_weights.rgb == 63 / (3 * 32 ** 2)
    config = load_config("spurr18_rgb_to_3d_var3", ["image_size=32", "recon_weights.rgb=1.0"])
    assert config.recon_weights.rgb == 1.0

def test_yang19_s4_through_train_and_eval_command_lines(tmp_path):
    env = script_env()
    workdir = tmp_path / "run"
    overrides = ["--config.data_dir=" + str(tmp_path / "data"), "--config.image_size=32",
                 "--config.synthetic_num_train=64", "--config.synthetic_num_test=16", "--config.batch_size=8",
                 "--config.resnet_width=4", "--config.respel_width=16", "--config.folding_width=16",
                 "--config.joint_width=16", "--config.pose_decoder_width=16", "--config.heatmap_size=16",
                 "--config.num_points=32", "--config.num_train_steps=4", "--config.log_every=2",
                 "--config.checkpoint_every=4", "--config.eval_every=0",
                 # a field that was unsettable before configs v2, and a typed placeholder's
                 "--config.adam_b1=0.5", "--config.beta_start", "2e-5"]
    run = subprocess.run([sys.executable, "train.py", "--config=yang19_s4_rc2chp", *overrides, f"--workdir={workdir}",
                          "--noprogress", "--profile=2:2"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    train_log = run.stderr
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["adam_b1"] == 0.5 and saved["beta_start"] == 2e-5 and saved["num_train_steps"] == 4
    run = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((workdir / "eval" / "metrics.json").read_text())
    assert metrics["step"] == 4 and metrics["num_samples"] == 16
    assert metrics["mean_epe_mm"] > 0
    for figure in ("pck.png", "examples.png", "clouds.png"):
        assert (workdir / "eval" / figure).stat().st_size > 1000, figure
    # TensorBoard: the training log steps, eval.py's metrics and figures at the evaluated
    # step, and the profiler trace of steps 2-3 (--profile=2:2).
    from jaxhands.training.tensorboard import board_tag, read_images, read_scalars

    scalars, images = read_scalars(workdir), read_images(workdir)
    log = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4] and len(log[0]) > 5
    for name in set(log[0]) - {"step"}:
        assert [(s, pytest.approx(v, rel=1e-6)) for s, v in scalars[board_tag(name)]] == [
            (r["step"], r[name]) for r in log], name
    assert scalars["test_split/eval/mean_epe_mm"] == [(4, pytest.approx(metrics["mean_epe_mm"], rel=1e-6))]
    assert scalars["test_split/eval/pa_mean_epe_mm"] == [(4, pytest.approx(metrics["pa_mean_epe_mm"], rel=1e-6))]
    assert scalars["test_split/eval/epe_mm_tip"] == [(4, pytest.approx(metrics["joint_level_epe_mm"]["tip"]))]
    assert set(images) == {"test_split/eval/pck", "test_split/eval/examples", "test_split/eval/clouds"}
    assert all(value[0][0] == 4 and value[0][1][:4] == b"\x89PNG" for value in images.values())
    traces = list((workdir / "tensorboard" / "plugins" / "profile").glob("*/*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 1000
    # sample.py draws the run (prior samples and latent walks), and the run scores another
    # dataset's test split (issue 18).
    run_script("sample.py", f"--workdir={workdir}", "--pairs=1", "--walk_steps=3", "--num_prior=4")
    samples = np.load(workdir / "samples" / "samples.npz")
    assert samples["prior"].shape == (4, 21, 3) and samples["walks"].shape == (1, 3, 21, 3)
    assert_scores_another_dataset(workdir, tmp_path / "other")
    assert "profile of steps 2-3 written" in train_log
