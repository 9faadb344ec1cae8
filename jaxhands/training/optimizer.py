"""Per-group optimizers. Default (Spurr et al.): Adam, lr 1e-4, with optional warm-up,
cosine decay and gradient clipping, the same for every parameter group.

A group's optimizer is a `GroupOptimizer`: a scale-free update direction (an optax
transformation, e.g. clipping + `scale_by_adam`) and a learning rate that is a function
of the **global** step. The train step multiplies the direction by -learning_rate(step),
so a schedule means the same thing for a group updated every step and for one updated
every other step (alternating pairs, a GAN's players), and stages of a staged schedule
can be given their own rates. Methods override groups through `optimizers(config)`
(jaxhands.methods.base.HasOptimizers), e.g. a discriminator's Adam with beta1 0.5.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import ml_collections
import optax

Schedule = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class GroupOptimizer:
    direction: optax.GradientTransformation  # scale-free: the step applies -learning_rate
    learning_rate: Schedule | float  # of the global step

    def rate(self, step):
        return self.learning_rate(step) if callable(self.learning_rate) else self.learning_rate


def learning_rate_schedule(config: ml_collections.ConfigDict) -> Schedule:
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


def adam(learning_rate: Schedule | float, *, b1: float = 0.9, b2: float = 0.999,
         clip_norm: float = 0.0) -> GroupOptimizer:
    """Adam on the global-step `learning_rate`, after optional global-norm clipping."""
    parts = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    return GroupOptimizer(optax.chain(*parts, optax.scale_by_adam(b1=b1, b2=b2)), learning_rate)


def default_group_optimizer(config: ml_collections.ConfigDict) -> GroupOptimizer:
    """config's Adam (adam_b1, adam_b2, grad_clip_norm) on learning_rate_schedule(config)."""
    return adam(learning_rate_schedule(config), b1=config.adam_b1, b2=config.adam_b2, clip_norm=config.grad_clip_norm)


def group_optimizers(method, config: ml_collections.ConfigDict) -> dict[str, GroupOptimizer]:
    """{group: GroupOptimizer} for every group of `method`: the method's own choices
    (`method.optimizers(config)`, if it has that capability) over the config's default."""
    from jaxhands.methods.base import HasOptimizers

    default = default_group_optimizer(config)
    custom = dict(method.optimizers(config)) if isinstance(method, HasOptimizers) else {}
    unknown = sorted(set(custom) - set(method.groups))
    if unknown:
        raise ValueError(f"{type(method).__name__}.optimizers() names group(s) {unknown} the method does not have; "
                         f"groups: {list(method.groups)}")
    for group, opt in custom.items():
        if not isinstance(opt, GroupOptimizer):
            raise TypeError(f"{type(method).__name__}.optimizers()[{group!r}] is a {type(opt).__name__}; expected a "
                            "jaxhands.training.optimizer.GroupOptimizer (e.g. optimizer.adam(1e-4, b1=0.5))")
    return {g: custom.get(g, default) for g in method.groups}
