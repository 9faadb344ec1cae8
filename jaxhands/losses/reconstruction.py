"""Reconstruction losses for poses, images and maps. Pure functions, explicit reductions.

Every function takes `pred` and `target` of the same shape [batch, ...] and an
optional `mask` broadcastable to the target (e.g. [batch, joints] for
[batch, joints, 3] targets, or [batch] to drop whole samples). Per-sample values are
summed over all non-batch dims (Spurr et al.'s ||x - x_hat||^2 is a sum over
coordinates); `reduction` then combines samples: "mean" divides by the number of
samples with a non-zero mask (so masked-out samples neither count nor dilute),
"sum" sums, "none" returns [batch]. Units: squared units of the target.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxhands.losses.reductions import reduce_samples


def _broadcast_mask(mask, target) -> jax.Array:
    mask = jnp.asarray(mask, dtype=target.dtype)
    if mask.ndim > target.ndim or mask.shape != target.shape[: mask.ndim]:
        raise ValueError(
            f"mask shape {mask.shape} must be a leading part of the target shape {target.shape}")
    return mask.reshape(mask.shape + (1,) * (target.ndim - mask.ndim))


def _reduce_samples(per_sample: jax.Array, sample_weight: jax.Array | None, reduction: str) -> jax.Array:
    # per_sample is already 0 where the mask is (the mask multiplied the error), so the
    # masked mean over samples with any masked-in entry is masked_mean(per_sample, weight).
    return reduce_samples(per_sample, reduction, sample_weight)


def squared_error(pred, target, *, mask=None, reduction: str = "mean") -> jax.Array:
    """Sum over non-batch dims of (pred - target)^2, then `reduction` over the batch."""
    if jnp.shape(pred) != jnp.shape(target):
        raise ValueError(f"squared_error: pred {jnp.shape(pred)} and target {jnp.shape(target)} differ")
    err = jnp.square(pred - target)
    sample_weight = None
    if mask is not None:
        m = _broadcast_mask(mask, target)
        err = err * m
        sample_weight = (jnp.sum(jnp.broadcast_to(m, err.shape).reshape(err.shape[0], -1), axis=1) > 0).astype(err.dtype)
    per_sample = jnp.sum(err.reshape(err.shape[0], -1), axis=1)
    return _reduce_samples(per_sample, sample_weight, reduction)


def mean_joint_error(pred, target, *, mask=None, reduction: str = "mean") -> jax.Array:
    """Mean Euclidean distance per joint ([batch, joints, D] -> per-sample mean over joints).

    With a [batch, joints] mask, each sample averages over its masked-in joints only;
    samples with no joint count zero and are excluded from "mean". Units of the input.
    The gradient is finite at zero distance (a safe norm).
    """
    if jnp.shape(pred) != jnp.shape(target):
        raise ValueError(f"mean_joint_error: pred {jnp.shape(pred)} and target {jnp.shape(target)} differ")
    sq = jnp.sum(jnp.square(pred - target), axis=-1)
    dist = jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)
    if mask is None:
        return _reduce_samples(jnp.mean(dist, axis=-1), None, reduction)
    m = jnp.broadcast_to(_broadcast_mask(mask, dist), dist.shape)
    count = jnp.sum(m, axis=-1)
    per_sample = jnp.sum(dist * m, axis=-1) / jnp.maximum(count, 1.0)
    return _reduce_samples(per_sample, (count > 0).astype(dist.dtype), reduction)


def binary_cross_entropy_with_logits(logits, target, *, mask=None, reduction: str = "mean") -> jax.Array:
    """Bernoulli NLL of targets in [0, 1] given logits, summed over non-batch dims."""
    if jnp.shape(logits) != jnp.shape(target):
        raise ValueError(f"binary_cross_entropy_with_logits: logits {jnp.shape(logits)} and target {jnp.shape(target)} differ")
    loss = jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    sample_weight = None
    if mask is not None:
        m = _broadcast_mask(mask, target)
        loss = loss * m
        sample_weight = (jnp.sum(jnp.broadcast_to(m, loss.shape).reshape(loss.shape[0], -1), axis=1) > 0).astype(loss.dtype)
    return _reduce_samples(jnp.sum(loss.reshape(loss.shape[0], -1), axis=1), sample_weight, reduction)
