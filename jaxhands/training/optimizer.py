"""Optimizer from config: Adam (Spurr et al.: default parameters, lr 1e-4) with
optional warmup + cosine decay and gradient clipping."""

from __future__ import annotations

import ml_collections
import optax


def learning_rate_schedule(config: ml_collections.ConfigDict):
    lr = config.learning_rate
    schedule = config.lr_schedule
    warmup = config.warmup_steps
    if schedule == "constant":
        main = optax.constant_schedule(lr)
    elif schedule == "cosine":
        main = optax.cosine_decay_schedule(lr, max(1, config.num_train_steps - warmup), alpha=config.lr_min_ratio)
    else:
        raise ValueError(f"config.lr_schedule must be 'constant' or 'cosine', got {schedule!r}")
    if warmup:
        return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
    return main


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    parts = []
    if config.grad_clip_norm:
        parts.append(optax.clip_by_global_norm(config.grad_clip_norm))
    parts.append(optax.adam(learning_rate_schedule(config), b1=config.adam_b1,
                            b2=config.adam_b2))
    return optax.chain(*parts)
