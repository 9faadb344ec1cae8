"""The method interface shared by the four papers.

A method is an object with

- `groups`: names of its parameter groups (one Flax module each, e.g. "enc_kp2d");
- `init(rng, batch) -> (params, model_state)`: dicts group -> params / mutable
  collections (batch_stats), with explicit parameters, no hidden state;
- `phases`: a tuple of `Phase`s; each names the groups it updates and its loss
  `loss(params, model_state, batch, rng, step) -> (loss, (metrics, model_state))`;
- `phase_index(step) -> int` (traceable): which phase trains at `step` — this is how
  schedules (Spurr's alternating encoder/decoder pairs, two-stage training, GAN
  generator/discriminator updates) stay inside one jitted train step;
- `predict(params, model_state, batch) -> keypoints_3d` [batch, 21, 3] metres,
  camera frame (using the ground-truth root/scale where the config's invariances
  say the papers provide them).

Everything the step needs is in these pure functions, so training, sharding and
checkpointing (jaxhands.training) are written once for all methods.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import jax

Batch = dict[str, jax.Array]
LossFn = Callable[[dict, dict, Batch, jax.Array, jax.Array], tuple[jax.Array, tuple[dict, dict]]]


@dataclasses.dataclass(frozen=True)
class Phase:
    """One optimisation phase: the loss and the parameter groups it updates.

    needs_labels: whether the loss reads annotations (2D/3D joints). In semi-supervised
    training a phase that does not (e.g. Var. 3's image -> image) is fed batches from
    every training image, one that does from the labelled subset
    (jaxhands.training.experiment).
    """

    name: str
    groups: tuple[str, ...]
    loss: LossFn
    needs_labels: bool = True


class Method(Protocol):
    groups: tuple[str, ...]
    phases: tuple[Phase, ...]

    def init(self, rng: jax.Array, batch: Batch) -> tuple[dict, dict]: ...

    def phase_index(self, step: jax.Array) -> jax.Array: ...

    def predict(self, params: dict, model_state: dict, batch: Batch) -> jax.Array: ...


def apply_module(module, params: dict, model_state: dict, group: str, *args, train: bool, **kwargs) -> tuple[Any, dict]:
    """Applies one group's Flax module; returns (output, that group's updated mutable state).

    Batch statistics are updated only in training mode, and only for groups that
    have them; in eval mode the stored statistics are used and nothing changes.
    """
    variables = {"params": params[group], **model_state.get(group, {})}
    if train and model_state.get(group):
        out, updates = module.apply(variables, *args, train=True, mutable=list(model_state[group]), **kwargs)
        return out, dict(updates)
    return module.apply(variables, *args, train=train, **kwargs), model_state.get(group, {})


def init_module(rng: jax.Array, module, *args, **kwargs) -> tuple[dict, dict]:
    """Initialises one group's Flax module in eval mode: (params, other collections)."""
    variables = dict(module.init(rng, *args, train=False, **kwargs))
    return variables.pop("params"), variables
