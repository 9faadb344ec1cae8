"""The train state: everything a resumed run needs, as one pytree."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
    """step: number of updates done; params / model_state / opt_state: dicts keyed by
    parameter group (each group has its own optimizer state, so a phase that does not
    train a group leaves it exactly as it was); rng: the run's base key — step s uses
    fold_in(rng, s), so a resumed run draws the same randomness."""

    step: jax.Array
    params: dict
    model_state: dict
    opt_state: dict
    rng: jax.Array


def create_train_state(method, optimizers: dict, rng: jax.Array, example_batch) -> TrainState:
    """optimizers: {group: jaxhands.training.optimizer.GroupOptimizer} (group_optimizers)."""
    init_rng, run_rng = jax.random.split(rng)
    params, model_state = method.init(init_rng, example_batch)
    opt_state = {group: optimizers[group].direction.init(params[group]) for group in method.groups}
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                      opt_state=opt_state, rng=jax.random.key_data(run_rng))


def count_params(params: Any) -> int:
    return int(sum(x.size for x in jax.tree.leaves(params)))
