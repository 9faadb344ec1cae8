"""Reductions and weights shared by the losses: one masked mean, one KL-weight schedule.

Vocabulary (every loss here): a per-sample value is reduced over the batch with
`reduction` "mean" (over the masked-in samples), "sum" or "none" ([batch]).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_mean(values: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Mean of `values` [B] over the samples whose `mask` [B] is non-zero (weights, 0/1 or
    fractional): sum(values * mask) / max(sum(mask), 1), so an all-masked batch gives 0, not
    NaN. mask None: the plain mean."""
    if mask is None:
        return jnp.mean(values)
    mask = jnp.asarray(mask, values.dtype)
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def reduce_samples(per_sample: jax.Array, reduction: str, mask: jax.Array | None = None) -> jax.Array:
    """`reduction` of per-sample values [B]: "mean" (masked_mean), "sum" or "none"."""
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return jnp.sum(per_sample)
    if reduction == "mean":
        return masked_mean(per_sample, mask)
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def annealed_beta(step, *, beta: float, beta_start: float | None = None, anneal_steps: int = 0) -> jax.Array:
    """KL weight at `step`: constant `beta`, or log-linear from `beta_start` to `beta` over
    `anneal_steps` steps, then constant (Yang et al.: 1e-5 -> 1e-3). float32 scalar."""
    if anneal_steps < 0:  # t = step / anneal_steps would clip to 0: beta_start for ever, silently
        raise ValueError(f"a warm-up length must be >= 0 steps, got {anneal_steps} "
                         f"(config beta_anneal_steps or align_beta_anneal_steps)")
    if beta_start is None or not anneal_steps:
        return jnp.asarray(beta, jnp.float32)
    if not (beta_start > 0 and beta > 0):  # log(0) would make every weight NaN or 0, silently
        raise ValueError(f"a log-linear warm-up needs positive ends, got start {beta_start} and end {beta} "
                         f"(config beta_start / beta, or align_beta_start / align_beta)")
    t = jnp.clip(jnp.asarray(step, jnp.float32) / anneal_steps, 0.0, 1.0)
    return jnp.exp(jnp.log(beta_start) + t * (jnp.log(beta) - jnp.log(beta_start)))
