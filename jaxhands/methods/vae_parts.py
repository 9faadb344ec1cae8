"""The plumbing every VAE method here shares, written once: named Gaussian encoders and
decoders over modalities (one parameter group each, `enc_<name>` / `dec_<name>`), how a
batch becomes their inputs, their initialisation, and the config's KL weight.

Paper modules (cross_modal.py, latent_alignment.py, ...) build on this and never import
one another.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.losses.reductions import annealed_beta
from jaxhands.methods.base import apply_module, init_module
from jaxhands.methods.modalities import Invariances
from jaxhands.methods.modality_registry import get_modality


def beta_at(step, config: ml_collections.ConfigDict):
    """The config's KL weight at `step`: `beta`, or annealed from `beta_start` over
    `beta_anneal_steps` (jaxhands.losses.reductions.annealed_beta)."""
    return annealed_beta(step, beta=config.beta, beta_start=config.beta_start, anneal_steps=config.beta_anneal_steps)


def decode_latent_walk(model, params, model_state, batch_a, batch_b, num_steps: int, *, source: str,
                       modality: str):
    """A LatentModel's latent walk (Spurr Fig. 6, Wan Fig. 1): the line between the
    posterior means of `source` for two one-sample batches, `num_steps` points with
    both ends, decoded as `modality`: [num_steps, ...] in the decoder's space."""
    (za, _), _ = model.encode(params, model_state, source, batch_a)
    (zb, _), _ = model.encode(params, model_state, source, batch_b)
    t = jnp.linspace(0.0, 1.0, num_steps)[:, None]
    return model.decode(params, model_state, modality, (1.0 - t) * za[:1] + t * zb[:1])[0]


def decode_factor_walk(model, params, model_state, batch_a, batch_b, num_steps: int, *, moving, source: str,
                       modality: str):
    """A factorised latent's walk (Yang & Yao Figs. 4, 6): for each row of the batches, z
    starts at batch_a's posterior mean of `source` and only the coordinates where `moving`
    ([latent_dim] bool, one factor's slice) is True go on the line to batch_b's, both ends
    included. Decoded as `modality`: [B, num_steps, ...]."""
    (za, _), _ = model.encode(params, model_state, source, batch_a)
    (zb, _), _ = model.encode(params, model_state, source, batch_b)
    t = jnp.linspace(0.0, 1.0, num_steps)[None, :, None]
    z = za[:, None] + moving * t * (zb - za)[:, None]  # [B, T, latent_dim]
    out = model.decode(params, model_state, modality, z.reshape(-1, z.shape[-1]))[0]
    return out.reshape(z.shape[0], num_steps, *out.shape[1:])


class EncodersDecoders:
    """Named encoders q(z | inputs) and decoders p(x | z).

    encoders: name -> Flax module called as module(*inputs, hand_side); decoders:
    modality -> module called as module(z). encoder_inputs: name -> the modalities the
    encoder reads (default: the name itself; Yang et al.'s S3 joint encoder reads two).
    Groups are the encoders' then the decoders', in the given order, and `init` draws
    their keys in that order.
    """

    def __init__(self, encoders: Mapping[str, object], decoders: Mapping[str, object], invariances: Invariances,
                 latent_dim: int, encoder_inputs: Mapping[str, tuple[str, ...]] | None = None):
        self.encoders, self.decoders = dict(encoders), dict(decoders)
        self.invariances, self.latent_dim = invariances, latent_dim
        self.encoder_inputs = {name: tuple((encoder_inputs or {}).get(name, (name,))) for name in self.encoders}
        self.groups = tuple([f"enc_{m}" for m in self.encoders] + [f"dec_{m}" for m in self.decoders])

    def modality_data(self, name: str, batch):
        """The modality's tensor of `batch`, with the invariances applied."""
        return get_modality(name).data(batch, self.invariances)

    def hand_side(self, batch):
        return batch["hand_side"] if self.invariances.handedness else None

    def _inputs(self, which: str, batch):
        return tuple(self.modality_data(m, batch) for m in self.encoder_inputs[which]) + (self.hand_side(batch),)

    def encode(self, params, model_state, which: str, batch, *, train: bool = False):
        """q(z | .) of encoder `which`: ((mu, logvar) each [B, latent_dim], its updated state)."""
        return apply_module(self.encoders[which], params, model_state, f"enc_{which}", *self._inputs(which, batch),
                            train=train)

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """p(x_modality | z) in the modality's model space: (x, the decoder's updated state)."""
        return apply_module(self.decoders[modality], params, model_state, f"dec_{modality}", z, train=train)

    def init(self, rng, batch):
        """(params, model_state) of every group; decoders are initialised on z = 0."""
        params, model_state = {}, {}
        z = jnp.zeros((batch["keypoints_3d"].shape[0], self.latent_dim), jnp.float32)
        for which, module in self.encoders.items():
            rng, key = jax.random.split(rng)
            params[f"enc_{which}"], model_state[f"enc_{which}"] = init_module(key, module, *self._inputs(which, batch))
        for m, module in self.decoders.items():
            rng, key = jax.random.split(rng)
            params[f"dec_{m}"], model_state[f"dec_{m}"] = init_module(key, module, z)
        return params, model_state
