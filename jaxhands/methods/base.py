"""The method interface shared by the four papers (interface v2).

A method is an object with

- `groups`: names of its parameter groups (one Flax module each, e.g. "enc_kp2d");
- `init(rng, batch) -> (params, model_state)`: dicts group -> params / mutable
  collections (batch_stats), with explicit parameters, no hidden state; it may depend
  on the batch's shapes only (jaxhands.load_run initialises from jaxhands.data.schema.shape_batch);
- `phases`: a tuple of `Phase`s; each names the groups it updates, its pure loss
  `loss(params, model_state, batch, rng, step) -> (loss, (metrics, model_state))` and
  the named data stream its batches come from (`Phase.stream`, jaxhands.data.streams);
- `phase_schedule`: a `PhaseSchedule` (jaxhands.methods.phase_schedule) saying which
  phase trains at each global step, in plain integers on the host: alternating pairs
  (Spurr et al. Alg. 1), stages (pose VAE, then GAN, then joint), GAN updates;
- `batch_fields`: the sample fields its losses and `predict` read (the pipeline decodes,
  crops and augments only these);
- `predict(params, model_state, batch) -> keypoints_3d` [batch, 21, 3] metres, camera
  frame (using the ground-truth root/scale where the config's invariances say the papers
  provide them).

Optional capabilities, each a small Protocol checked with isinstance, never hasattr:

- `HasOptimizers.optimizers(config) -> {group: GroupOptimizer}`: per-group optimizers
  (e.g. a GAN's Adam with beta1 0.5); without it every group gets
  jaxhands.training.optimizer.default_group_optimizer(config);
- `LatentModel`: encode / decode / sample_prior / latent_walk (sample.py, inference);
- `DecodesClouds`: predict_cloud and the name of its cloud decoder (eval's clouds.png);
- `RendersImages`: the image modalities a LatentModel decodes (sample.py draws their walks);
- `FactorisedLatent`: a LatentModel whose z is split into named factors, with a walk that
  moves one factor and keeps the others (Yang & Yao's dVAE; sample.py draws one per factor);
- `InitialisesFromPoses.init_from_poses(params, poses) -> params`: a data-dependent
  initialisation (Crossing Nets' PCA-initialised pose VAE), applied once by the training
  loop to a fresh run from the labelled training poses, before `config.init_from`; `init`
  stays shape-only, and a resumed run keeps its checkpoint's parameters.

Two players in one phase (a GAN's simultaneous update): one phase whose groups are
both players' and whose loss returns the sum of the two players' objectives, each
written so its gradient reaches only its own player (`jax.lax.stop_gradient` on the
other player's output); the alternating form is two phases on `alternating(2)`.
tests/training/test_two_player.py trains both forms through train.py.

Everything the step needs is in these pure functions, so training, sharding and
checkpointing (jaxhands.training) are written once for all methods.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol, runtime_checkable

import jax

from jaxhands.methods.phase_schedule import PhaseSchedule

Batch = dict[str, jax.Array]
LossFn = Callable[[dict, dict, Batch, jax.Array, jax.Array], tuple[jax.Array, tuple[dict, dict]]]


@dataclasses.dataclass(frozen=True)
class Phase:
    """One optimisation phase: the loss, the parameter groups it updates, and the named
    data stream its batches come from ("train": every training record, each row flagged
    `labelled`; "labelled", "unlabelled", "labelled_mix", "poses": jaxhands.data.streams)."""

    name: str
    groups: tuple[str, ...]
    loss: LossFn
    stream: str = "train"


class Method(Protocol):
    groups: tuple[str, ...]
    phases: tuple[Phase, ...]
    phase_schedule: PhaseSchedule
    batch_fields: tuple[str, ...]

    def init(self, rng: jax.Array, batch: Batch) -> tuple[dict, dict]: ...

    def predict(self, params: dict, model_state: dict, batch: Batch) -> jax.Array: ...


@runtime_checkable
class HasOptimizers(Protocol):
    def optimizers(self, config) -> dict: ...


@runtime_checkable
class LatentModel(Protocol):
    predict_from: str

    def encode(self, params: dict, model_state: dict, modality: str, batch: Batch, *, train: bool = False): ...

    def decode(self, params: dict, model_state: dict, modality: str, z: jax.Array, *, train: bool = False): ...

    def sample_prior(self, params: dict, model_state: dict, rng: jax.Array, num_samples: int): ...

    def latent_walk(self, params: dict, model_state: dict, batch_a: Batch, batch_b: Batch, num_steps: int): ...


@runtime_checkable
class RendersImages(Protocol):
    """A latent model that also decodes images: `rendered_modalities` names them (e.g.
    ("depth",)); `decode(..., modality, z)` gives [B, S, S(, C)] in the modality's range."""

    rendered_modalities: tuple[str, ...]


@runtime_checkable
class FactorisedLatent(Protocol):
    """`factor_names` name the slices of z; `factor_walk(..., factor=name)` gives the poses
    [B, num_steps, 21, 3] (the model's pose space) decoded while only that factor moves
    from batch_a's posterior mean to batch_b's."""

    factor_names: tuple[str, ...]

    def factor_walk(self, params: dict, model_state: dict, batch_a: Batch, batch_b: Batch, num_steps: int, *,
                    factor: str): ...


@runtime_checkable
class InitialisesFromPoses(Protocol):
    def init_from_poses(self, params: dict, poses: Any) -> dict:
        """`poses`: numpy [N, 21, 3] metres, camera frame, the labelled training poses."""


@runtime_checkable
class DecodesClouds(Protocol):
    cloud_decoder: str | None

    def predict_cloud(self, params: dict, model_state: dict, batch: Batch): ...

    def modality_data(self, name: str, batch: Batch): ...


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
