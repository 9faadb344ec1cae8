"""Spurr et al. 2018: cross-modal variational autoencoders (Algorithm 1).

A set of (encoder modality -> decoder modality) pairs share one latent space z.
Pair (i -> t) contributes the ELBO of Eq. 5 for reconstructing x_t from x_i:

    L_{i->t} = ||x_t - p_t(z)||^2 + beta * KL(q_i(z | x_i) || N(0, I)),  z ~ q_i(z | x_i)

(squared error summed over coordinates, averaged over samples; KL summed over latent
dimensions, averaged over samples) and updates only q_i's and p_t's parameters.

Schedule ("alternate", Alg. 1): the pairs take turns batch by batch: train step s
updates pair s mod P, on the batch of step s, with that pair's encoder and decoder
each keeping its own Adam state (so an inactive module neither moves nor decays its
moments). One cycle over the P pairs is one iteration of Alg. 1's inner loop.
"joint" instead sums all pairs' losses on each batch and updates every module.

Variants (Sec. 4, x_i the input modality, x_t = 3D joints):
  Var. 1: (i -> t); Var. 2: (i -> t, t -> t); Var. 3: (i -> t, i -> i); Var. 4: all three.

Semi-supervised training: samples whose `labelled` flag is False contribute only to
pairs whose modalities need no annotation (e.g. rgb -> rgb). Each alternating pair's
Phase says whether it needs labels, so the experiment feeds label-free pairs batches of
every training image and the others batches of the labelled subset
(jaxhands.training.experiment.Experiment.train_batches).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.losses.elbo import kl_to_standard_normal, reparameterize
from jaxhands.losses.reductions import masked_mean
from jaxhands.methods.base import Phase
from jaxhands.methods.phase_schedule import alternating
from jaxhands.evaluation.spread import spread_ratio
from jaxhands.methods.modalities import POSE_MODALITIES, Invariances, pose_3d_to_camera
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.vae_parts import EncodersDecoders, beta_at, decode_latent_walk


VARIANTS = {
    1: lambda i, t: [(i, t)],
    2: lambda i, t: [(i, t), (t, t)],
    3: lambda i, t: [(i, t), (i, i)],
    4: lambda i, t: [(i, t), (i, i), (t, t)],
}


def variant_pairs(variant: int, input_modality: str, target_modality: str = "kp3d") -> list[tuple[str, str]]:
    """The encoder/decoder pairs of Spurr et al.'s Variant 1-4."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant}")
    pairs = []
    for pair in VARIANTS[variant](input_modality, target_modality):
        if pair not in pairs:  # with input == target the variants repeat (t -> t); train each pair once
            pairs.append(pair)
    return pairs


class CrossModalVAE:
    """The cross-modal VAE method. Config fields (declared in jaxhands/configs/base.py):
    `pairs` (list of "i->t" strings) or `variant` + `input_modality`; `latent_dim`,
    `beta` (+ optional annealing), `schedule` ("alternate" | "joint"), `invariances`,
    `predict_from` (modality encoded at test time; default the first pair's input),
    `recon_weights` (per decoded modality; 1 = Alg. 1's plain squared error)."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        pairs = config.pairs
        if pairs:
            self.pairs = [tuple(p.split("->")) if isinstance(p, str) else tuple(p) for p in pairs]
        else:
            self.pairs = variant_pairs(config.variant, config.input_modality, config.target_modality)
        for p in self.pairs:
            if len(p) != 2:
                raise ValueError(f"config.pairs: each pair must be 'input->target', got {p!r}")
        missing = sorted({t for _, t in self.pairs} - set(config.recon_weights))
        if missing:
            raise ValueError(f"config.recon_weights has no weight for the decoded modalities {missing} "
                             f"(declared: {sorted(config.recon_weights)}); declare one in the config, "
                             f"e.g. config.recon_weights.{missing[0]} = 1.0")
        self.recon_weights = {t: float(config.recon_weights[t]) for _, t in self.pairs}
        self.invariances = Invariances.from_config(config)
        encoder_modalities = sorted({i for i, _ in self.pairs})
        decoder_modalities = sorted({t for _, t in self.pairs})
        self.parts = EncodersDecoders({m: get_modality(m).make_encoder(config) for m in encoder_modalities},
                                      {m: get_modality(m).make_decoder(config) for m in decoder_modalities},
                                      self.invariances, config.latent_dim)
        self.encoders, self.decoders, self.groups = self.parts.encoders, self.parts.decoders, self.parts.groups
        # The batch fields the modalities read (jaxhands.training.experiment sends these to the device).
        self.batch_fields = tuple(dict.fromkeys(
            f for m in encoder_modalities + decoder_modalities for f in get_modality(m).fields))
        self.predict_from = config.predict_from or self.pairs[0][0]
        if self.predict_from not in self.encoders:
            raise ValueError(f"config.predict_from={self.predict_from!r} has no encoder; encoders: {encoder_modalities}")
        if "kp3d" not in self.decoders:
            raise ValueError("the cross-modal VAE predicts 3D joints: one pair must decode to 'kp3d'")
        schedule = config.schedule
        if schedule == "alternate":
            self.phases = tuple(Phase(f"{i}->{t}", (f"enc_{i}", f"dec_{t}"), self._pair_loss_fn([(i, t)]),
                                      stream=self._pair_stream(config, i, t)) for i, t in self.pairs)
        elif schedule == "joint":
            self.phases = (Phase("joint", self.groups, self._pair_loss_fn(self.pairs),
                                 stream="labelled" if config.labelled_only else "train"),)
        else:
            raise ValueError(f"config.schedule must be 'alternate' or 'joint', got {schedule!r}")
        self.phase_schedule = alternating(len(self.phases))

    # -- the model's pieces --------------------------------------------------------
    def _pair_stream(self, config, i: str, t: str) -> str:
        """Semi-supervision as data streams (Spurr Sec. 5.4): with labelled_fraction < 1, a pair
        that reads labels trains on the labelled subset when some other pair is label-free
        (which then sees every record), else every pair sees every record and masks the
        unlabelled rows; labelled_only (the supervised baseline) puts every pair on the subset."""
        if config.labelled_only:
            return "labelled"
        needs = [get_modality(a).needs_label or get_modality(b).needs_label for a, b in self.pairs]
        if config.labelled_fraction < 1.0 and not all(needs) and (
                get_modality(i).needs_label or get_modality(t).needs_label):
            return "labelled"
        return "train"

    # -- the model's pieces (jaxhands.methods.vae_parts) ------------------------------
    def modality_data(self, name: str, batch):
        return self.parts.modality_data(name, batch)

    def encode(self, params, model_state, modality: str, batch, *, train: bool = False):
        """q(z | x_modality): ((mu, logvar), updated state of the encoder group)."""
        return self.parts.encode(params, model_state, modality, batch, train=train)

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """p(x_modality | z) in the modality's model space: (x, updated decoder state)."""
        return self.parts.decode(params, model_state, modality, z, train=train)

    def init(self, rng, batch):
        return self.parts.init(rng, batch)

    # -- training ------------------------------------------------------------------
    def _sample_mask(self, batch, i: str, t: str):
        needs = get_modality(i).needs_label or get_modality(t).needs_label
        if needs and "labelled" in batch:
            return batch["labelled"].astype(jnp.float32)
        return None

    def _pair_loss_fn(self, pairs):
        def loss_fn(params, model_state, batch, rng, step):
            beta = beta_at(step, self.config)
            total = 0.0
            metrics = {"beta": beta}
            new_state = dict(model_state)
            for n, (i, t) in enumerate(pairs):
                (mu, logvar), enc_state = self.encode(params, new_state, i, batch, train=True)
                new_state[f"enc_{i}"] = enc_state
                z = reparameterize(jax.random.fold_in(rng, n), mu, logvar, sample_ids=batch.get("record_index"))
                x_hat, dec_state = self.decode(params, new_state, t, z, train=True)
                new_state[f"dec_{t}"] = dec_state
                mask = self._sample_mask(batch, i, t)
                target = self.modality_data(t, batch)
                recon_mask = mask
                if t in ("kp2d", "kp3d") and "keypoints_defined" in batch:
                    # Joints the dataset lacks (stored as zeros) are not reconstruction targets.
                    joint_mask = batch["keypoints_defined"].astype(jnp.float32)
                    recon_mask = joint_mask if mask is None else joint_mask * mask[:, None]
                recon = get_modality(t).loss(x_hat, target, self.config, mask=recon_mask)
                kl = masked_mean(kl_to_standard_normal(mu, logvar), mask)
                total = total + self.recon_weights[t] * recon + beta * kl  # recon logged unweighted
                metrics[f"{i}->{t}/recon"] = recon
                metrics[f"{i}->{t}/kl"] = kl
                if t in POSE_MODALITIES:
                    metrics[f"{i}->{t}/spread"] = spread_ratio(x_hat, target, mask=mask)
            metrics["loss"] = total
            return total, (metrics, new_state)
        return loss_fn

    # -- inference -----------------------------------------------------------------
    def predict(self, params, model_state, batch):
        """3D joints [B, 21, 3] metres, camera frame, from the posterior mean of `predict_from`."""
        (mu, _), _ = self.encode(params, model_state, self.predict_from, batch)
        pose, _ = self.decode(params, model_state, "kp3d", mu)
        return pose_3d_to_camera(pose, batch, self.invariances)

    def sample_prior(self, params, model_state, rng, num_samples: int, modality: str = "kp3d"):
        """Decodes z ~ N(0, I): [num_samples, ...] in the modality's model space."""
        z = jax.random.normal(rng, (num_samples, self.config.latent_dim))
        return self.decode(params, model_state, modality, z)[0]

    def latent_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *,
                    source: str | None = None, modality: str = "kp3d"):
        """Decodes the line between the posterior means of two inputs (Spurr Fig. 6).

        `batch_a`/`batch_b` hold one sample each; returns [num_steps, ...] in model space.
        """
        return decode_latent_walk(self, params, model_state, batch_a, batch_b, num_steps,
                                  source=source or self.predict_from, modality=modality)
