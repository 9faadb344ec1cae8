"""Nearest-neighbour-in-pixels baseline for image -> 3D pose (RGB or depth crops).

Each test crop takes the 3D pose of the training crop nearest to it in pixels: both
are the network's input (`rgb` in [-0.5, 0.5], or the normalised `depth`), cropped
around the hand exactly as training and evaluation crop it (config.hand_crop, no
augmentation), area-averaged to `pool_size` x `pool_size` and compared in L2. The
neighbour's normalised pose (`pose_3d_target`: root-relative, bone-scaled) is put
back in the camera frame with the test sample's ground-truth root and scale, the
same information the VAE's `predict` gets. A learnt model that does not beat this
has only memorised appearance; one that does not beat the mean pose has learnt
nothing (jaxhands.baselines.mean_pose).

    python -m jaxhands.baselines pixel_nearest_neighbour --workdir=workdirs/spurr18_rgb_to_3d_var1 [--out=nn.json]
    python -m jaxhands.baselines pixel_nearest_neighbour --config=spurr18_rgb_to_3d_var1
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from jaxhands.baselines.scoring import baseline_metrics, baseline_sources
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera
from jaxhands.methods.modality_registry import get_modality

IMAGE_INPUTS = ("rgb", "depth")


def pooled_pixels(images: np.ndarray, pool_size: int) -> np.ndarray:
    """[N, H, W] or [N, H, W, C] -> [N, pool_size * pool_size * C]: area averages over
    equal blocks (H and W must be multiples of pool_size)."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if h % pool_size or w % pool_size:
        raise ValueError(f"pooled_pixels: image {h}x{w} is not a multiple of pool_size {pool_size}")
    blocks = images.reshape(n, pool_size, h // pool_size, pool_size, w // pool_size, c)
    return blocks.mean(axis=(2, 4)).reshape(n, -1)


@jax.jit
def _nearest(queries, keys):
    # ||q - k||^2 = |q|^2 - 2 q.k + |k|^2; |q|^2 does not change the argmin.
    return jnp.argmin(jnp.sum(keys * keys, axis=1)[None, :] - 2.0 * queries @ keys.T, axis=1)


def nearest_indices(queries: np.ndarray, keys: np.ndarray, chunk: int = 256) -> np.ndarray:
    """[Q] index of the nearest key (L2) for every query row."""
    keys_j = jnp.asarray(keys)
    return np.concatenate([np.asarray(_nearest(jnp.asarray(queries[i:i + chunk]), keys_j))
                           for i in range(0, len(queries), chunk)])


def _inputs_and_poses(batches, modality, inv: Invariances, pool_size: int):
    keys, poses, records = [], [], []
    for batch in batches:
        valid = np.asarray(batch["valid"])
        jbatch = {k: jnp.asarray(v) for k, v in batch.items()}
        keys.append(pooled_pixels(np.asarray(modality.data(jbatch, inv))[valid], pool_size))
        poses.append(np.asarray(pose_3d_target(jbatch, inv))[valid])
        records.append({k: np.asarray(batch[k])[valid] for k in ("keypoints_3d", "visible")})
    stacked = {k: np.concatenate([r[k] for r in records]) for k in records[0]}
    return np.concatenate(keys), np.concatenate(poses), stacked


def evaluate_pixel_nearest_neighbour(config, *, pool_size: int = 16, test_dataset: str | None = None) -> dict:
    """Mean/median EPE, AUC 20-50 and PA-EPE (mm, visible joints) of the baseline (on
    test_dataset's test split when given)."""
    from jaxhands.data import pipeline
    from jaxhands.training.experiment import hand_crop_config

    name = config.input_modality
    if name not in IMAGE_INPUTS:
        raise ValueError(f"pixel nearest neighbour needs an image input ({IMAGE_INPUTS}), "
                         f"config.input_modality is {name!r}")
    modality = get_modality(name)
    inv = Invariances.from_config(config)
    crop = hand_crop_config(config)
    train_source, test_source = baseline_sources(config, test_dataset=test_dataset)

    def batches(source):
        return pipeline.make_eval_iterator(source, global_batch_size=256, process_index=0, process_count=1,
                                           hand_crop=crop)

    keys, train_poses, _ = _inputs_and_poses(batches(train_source), modality, inv, pool_size)
    queries, _, test = _inputs_and_poses(batches(test_source), modality, inv, pool_size)
    idx = nearest_indices(queries, keys)
    gt = test["keypoints_3d"].astype(np.float32)
    pred = np.asarray(pose_3d_to_camera(jnp.asarray(train_poses[idx]), {"keypoints_3d": jnp.asarray(gt)}, inv))
    return baseline_metrics(pred, gt, test["visible"], num_train=keys.shape[0], crop=crop.mode, pool_size=pool_size,
                            baseline=f"nearest training crop in pixels ({pool_size}x{pool_size} area-averaged "
                                     f"{name} input, L2)")
