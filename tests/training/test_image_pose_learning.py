"""Regression test for issue 25: RGB -> 3D must learn, not collapse to the mean pose.

The shipped RGB config (spurr18_rgb_to_3d_var1), shrunk to CI size (32 px crops from
64 px frames, textured non-zero backgrounds, ResNet width 8, a few hundred steps),
trained through the real loop. Before the fix (no hand crop) the same run predicted one
constant hand: test error at the mean-pose baseline and a spread ratio near 0.
"""

import numpy as np
import pytest

from configs.spurr18_rgb_to_3d_var1 import get_config
from jaxhands.methods.mean_pose_baseline import mean_normalized_pose, predict_mean_pose
from jaxhands.methods.modalities import Invariances
from jaxhands.training.experiment import build_sources
from jaxhands.training.loop import train


def _config(data_dir):
    c = get_config()
    c.data_dir = str(data_dir)
    c.image_size = 32
    c.synthetic_num_train, c.synthetic_num_test = 512, 128
    c.resnet_width, c.latent_dim, c.mlp_width, c.mlp_layers = 8, 32, 128, 2
    c.augment = None
    c.batch_size, c.learning_rate = 32, 1e-3
    c.num_train_steps = 300
    c.log_every, c.eval_every, c.eval_num_batches = 50, 300, 4
    c.checkpoint_every = 300
    c.async_checkpointing = False
    return c


@pytest.mark.slow
def test_rgb_to_3d_learns_beyond_the_mean_pose(tmp_path):
    config = _config(tmp_path / "data")
    result = train(config, tmp_path / "run", progress=False)
    metrics = result.last_metrics

    train_source, test_source = build_sources(config)
    inv = Invariances.from_config(config)
    mean_pose = mean_normalized_pose(train_source, inv)
    gt = np.stack([test_source[i]["keypoints_3d"] for i in range(len(test_source))])
    baseline = predict_mean_pose(mean_pose, gt, inv)
    mean_pose_mm = 1000.0 * float(np.linalg.norm(baseline - gt, axis=-1).mean())

    assert metrics["eval/spread"] > 0.3, metrics  # collapsed runs: ~0.01
    assert metrics["rgb->kp3d/spread"] > 0.3, metrics
    assert metrics["eval/mean_epe_mm"] < 0.85 * mean_pose_mm, (metrics["eval/mean_epe_mm"], mean_pose_mm)
