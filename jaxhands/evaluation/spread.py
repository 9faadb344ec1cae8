"""Prediction spread: the collapse detector of issue 25.

A regressor that has collapsed to the mean pose predicts (nearly) the same hand for
every input; its loss still moves with the batch order, so loss curves hide it. The
spread of the predictions across a batch exposes it at once:

    spread(x) = mean over samples b and joints j of || x[b, j] - mean_b' x[b', j] ||

in the units of x (metres for keypoints_3d, model units for normalised poses), and

    spread_ratio = spread(prediction) / spread(target)

which is 1 for predictions as varied as the ground truth and ~0 for a constant
output. Only the rows marked in `mask` count (semi-supervised batches, padded eval
batches). Pure jnp functions, jit-safe.
"""

from __future__ import annotations

import jax.numpy as jnp


def batch_spread(x, *, mask=None):
    """Mean distance [] from the batch mean over samples and joints; x [B, J, D].

    mask: optional [B] weights (0/1) choosing the rows that count; the mean pose is
    taken over those rows too. With no selected row the spread is 0.
    """
    x = jnp.asarray(x, jnp.float32)
    if x.ndim != 3:
        raise ValueError(f"batch_spread: expected [batch, joints, dims], got shape {x.shape}")
    w = jnp.ones(x.shape[0], jnp.float32) if mask is None else jnp.asarray(mask, jnp.float32)
    if w.shape != x.shape[:1]:
        raise ValueError(f"batch_spread: mask must be [batch] = {x.shape[:1]}, got {w.shape}")
    total = jnp.maximum(jnp.sum(w), 1.0)
    mean = jnp.sum(x * w[:, None, None], axis=0) / total
    dist = jnp.linalg.norm(x - mean, axis=-1).mean(axis=-1)
    return jnp.sum(dist * w) / total


def spread_ratio(pred, target, *, mask=None, eps: float = 1e-8):
    """spread(pred) / spread(target) [] (module doc); pred, target [B, J, D]."""
    return batch_spread(pred, mask=mask) / jnp.maximum(batch_spread(target, mask=mask), eps)
