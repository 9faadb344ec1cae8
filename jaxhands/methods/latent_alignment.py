"""Yang et al. ICCV 2019: aligning latent spaces, training strategies S1-S4 (Table 1).

Notation (Sec. 3): x the input modality (config.input_modality, "rgb" in the paper;
"cloud" for the point cloud -> pose network), y the target 3D pose
(config.target_modality, "kp3d_vc" = view-corrected joints), w the extra modalities:
decoded ones (config.extra_decoders, e.g. ("cloud", "heatmap")) and, for S3/S4, the one
that is also encoded (config.aligned_modality, "cloud"). D = {y} + extra decoders.

For a posterior q = (mu, logvar) the named piece `elbo_terms` is

    ELBO(q; D) = sum_{d in D} lambda_d L_d(p_d(z), d) + beta KL(q || N(0, I)),  z ~ q,

(a loss, i.e. the negative ELBO), with L_pose = ||y^ - y||^2 (Eq. 10), L_heat (Eq. 7),
L_cloud = Chamfer + EMD (Eq. 8, 9), lambda_pose = 1, lambda_heat = 0.01, lambda_cloud =
1 (Eq. 11; config.loss_weights). beta is annealed log-linearly from beta_start = 1e-5 to
beta = 1e-3 (Sec. 5; vae_parts.beta_at). Strategies (config.strategy):

S1 (Eq. 1):      L = ELBO(q_x; {y})
S2 (Alg. 1):     L = ELBO(q_x; D)                       (one encoder, several decoders)
S3 (Eq. 3, Alg. 2): joint encoder q_xw = q(z | x, w) (its own x and w sub-encoders, their
                 posteriors concatenated into a Gaussian head):
                 L = ELBO(q_xw; D) + ELBO(q_x; D) + beta' KL(q_xw || q_x),  beta' = 1
                 (config.align_beta; align_beta_start warms it up log-linearly like beta, over
                 align_beta_anneal_steps)
S4 (Eq. 4-6, Alg. 3): experts q_x, q_w and their product q_joint = GProd(q_x, q_w)
                 (precision-weighted, Eq. 5-6; config.poe_include_prior adds the N(0, I)
                 expert of the MVAE, off by default as in Eq. 5-6):
                 L = R(q_x; D) + R(q_w; D) + R(q_joint; D) + beta (KL(q_x||p) + KL(q_w||p))
                 where R is the reconstruction part of ELBO (Eq. 4 has no KL for q_joint).

All terms are minimised jointly, updating every module of the strategy at each step
(Alg. 1-3: one phase). Decoders are shared between the posteriors (the alignment).

Weak supervision (Sec. 5.3, Fig. 8): with config.labelled_fraction < 1, samples whose
`labelled` flag is False drop every term of a modality that needs labels (pose,
heatmap) and keep the label-free ones (cloud reconstruction, the KL terms of posteriors
that decode a cloud, the alignment) — i.e. they train only the "RC -> C" parts. A
posterior all of whose decoders need labels (S1) gets its KL masked the same way.

Prediction: the posterior mean of q_x decoded by the pose decoder, mapped back to the
camera frame with the ground-truth root and scale (Sec. 5.1's protocol) and the view
correction undone.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.losses.elbo import kl_diagonal_gaussians, kl_to_standard_normal, product_of_gaussian_experts, reparameterize
from jaxhands.methods.base import Phase
from jaxhands.methods.phase_schedule import single
from jaxhands.losses.reductions import annealed_beta, masked_mean
from jaxhands.evaluation.spread import spread_ratio
from jaxhands.methods.modalities import Invariances
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.vae_parts import EncodersDecoders, beta_at, decode_latent_walk
from jaxhands.methods.point_modalities import pose_to_camera
from jaxhands.models.mlp import GaussianHead

STRATEGIES = ("S1", "S2", "S3", "S4")
POSE_MODALITIES = ("kp3d", "kp3d_vc")


class JointEncoder(nn.Module):
    """q(z | x, w) of S3: each input through its own encoder (same architecture as the
    unimodal ones, separate parameters), the two posteriors' (mu, logvar) concatenated
    and mapped by a hidden ReLU layer to a Gaussian head."""

    encoder_x: nn.Module
    encoder_w: nn.Module
    latent_dim: int
    width: int = 256
    # The head's initial log-variance: the unimodal encoders' (config.encoder_logvar_init), so
    # that KL(q_xw || q_x) starts from the two means' distance alone. With sigma 1 here against
    # q_x's 0.05 the variance ratio alone made it ~12 800 nats per sample at the start.
    logvar_init: float = 0.0

    @nn.compact
    def __call__(self, x, w, hand_side=None, *, train: bool = False):
        mu_x, logvar_x = self.encoder_x(x, hand_side, train=train)
        mu_w, logvar_w = self.encoder_w(w, hand_side, train=train)
        h = nn.relu(nn.Dense(self.width, name="fuse")(jnp.concatenate([mu_x, logvar_x, mu_w, logvar_w], -1)))
        return GaussianHead(self.latent_dim, self.logvar_init, name="head")(h)


class LatentAlignment:
    """Yang et al.'s strategies S1-S4 as one method (module docstring). Config fields:
    strategy, input_modality, target_modality, extra_decoders, aligned_modality (S3/S4),
    latent_dim, beta (+ beta_start, beta_anneal_steps), align_beta (beta'; + align_beta_start, warmed
    up over the same steps), loss_weights, cloud_chamfer_weight, cloud_emd_weight, poe_include_prior,
    joint_width, invariances."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        self.strategy = config.strategy
        if self.strategy not in STRATEGIES:
            raise ValueError(f"config.strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        self.input = config.input_modality
        self.target = config.target_modality
        if self.target not in POSE_MODALITIES:
            raise ValueError(f"config.target_modality must be one of {POSE_MODALITIES}, got {self.target!r}")
        extra = tuple(config.extra_decoders)
        if self.strategy == "S1" and extra:
            raise ValueError(f"strategy S1 decodes only the pose; config.extra_decoders must be empty, got {extra}")
        self.decoder_names = (self.target,) + tuple(m for m in extra if m != self.target)
        self.aligned = config.aligned_modality or None
        if self.strategy in ("S3", "S4"):
            if not self.aligned or self.aligned == self.input:
                raise ValueError(f"strategy {self.strategy} needs config.aligned_modality (the encoded w, e.g. "
                                 f"'cloud') different from input_modality {self.input!r}, got {self.aligned!r}")
        else:
            self.aligned = None
        self.invariances = Invariances.from_config(config)

        encoders = {self.input: get_modality(self.input).make_encoder(config)}
        if self.strategy == "S4":
            encoders[self.aligned] = get_modality(self.aligned).make_encoder(config)
        if self.strategy == "S3":
            encoders["joint"] = JointEncoder(
                get_modality(self.input).make_encoder(config), get_modality(self.aligned).make_encoder(config),
                latent_dim=config.latent_dim, width=config.joint_width, logvar_init=config.encoder_logvar_init)
        self.parts = EncodersDecoders(encoders, {m: get_modality(m).make_decoder(config) for m in self.decoder_names},
                                      self.invariances, config.latent_dim,
                                      encoder_inputs={"joint": (self.input, self.aligned or self.input)})
        self.encoders, self.decoders, self.groups = self.parts.encoders, self.parts.decoders, self.parts.groups
        used = [self.input, *self.decoder_names] + ([self.aligned] if self.aligned else [])
        self.batch_fields = tuple(dict.fromkeys(f for m in used for f in get_modality(m).fields))
        weights = config.loss_weights
        self.loss_weights = {m: float(weights.get(m.split("_")[0], weights.get(m, 1.0))) for m in self.decoder_names}
        # Weak supervision (Sec. 5.4): every record, the unlabelled rows masked out of the pose
        # and heatmap terms; labelled_only trains on the labelled subset alone.
        self.phases = (Phase(f"{self.strategy}:{self.describe()}", self.groups, self.loss,
                             stream="labelled" if config.labelled_only else "train"),)
        self.phase_schedule = single()

    def describe(self) -> str:
        """Yang et al.'s "A2B" name, e.g. "rgb+cloud->cloud+heatmap+kp3d_vc"."""
        encoded = self.input + (f"+{self.aligned}" if self.aligned else "")
        return f"{encoded}->{'+'.join(sorted(self.decoder_names))}"

    # -- the model's pieces --------------------------------------------------------
    def modality_data(self, name: str, batch):
        return self.parts.modality_data(name, batch)

    def _hand_side(self, batch):
        return self.parts.hand_side(batch)

    def encode(self, params, model_state, which: str, batch, *, train: bool = False):
        """q(z | .) of encoder `which` (a modality name, or "joint" for S3's q(z | x, w)):
        ((mu, logvar) each [B, latent_dim], the encoder group's updated state)."""
        return self.parts.encode(params, model_state, which, batch, train=train)

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        return self.parts.decode(params, model_state, modality, z, train=train)

    # A latent model (jaxhands.methods.base.LatentModel) like the cross-modal VAE, so that
    # sample.py draws prior samples and latent walks of any strategy's run.
    @property
    def predict_from(self) -> str:
        return self.input

    def sample_prior(self, params, model_state, rng, num_samples: int, modality: str | None = None):
        """Decodes z ~ N(0, I) as `modality` (default: the pose target): [num_samples, ...]."""
        z = jax.random.normal(rng, (num_samples, self.config.latent_dim))
        return self.decode(params, model_state, modality or self.target, z)[0]

    def latent_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, source: str | None = None,
                    modality: str | None = None):
        """The line between two one-sample batches' posterior means of `source` (default: the
        input's encoder), decoded as `modality` (default: the pose target): [num_steps, ...]."""
        return decode_latent_walk(self, params, model_state, batch_a, batch_b, num_steps,
                                  source=source or self.input, modality=modality or self.target)

    def joint_posterior(self, mu_x, logvar_x, mu_w, logvar_w):
        """S4's GProd(q_x, q_w) (Eq. 5-6), element-wise: (mu, logvar)."""
        return product_of_gaussian_experts([mu_x, mu_w], [logvar_x, logvar_w],
                                           include_prior=bool(self.config.poe_include_prior))

    def init(self, rng, batch):
        return self.parts.init(rng, batch)

    # -- training ------------------------------------------------------------------
    def _label_mask(self, batch):
        return batch["labelled"].astype(jnp.float32) if "labelled" in batch else None

    def reconstruction_terms(self, params, model_state, batch, z, *, train: bool = True):
        """sum_d lambda_d L_d(p_d(z), d) over the decoders; (total, {modality: L_d}, new state)."""
        mask = self._label_mask(batch)
        total, terms, state = 0.0, {}, dict(model_state)
        for m in self.decoder_names:
            pred, state[f"dec_{m}"] = self.decode(params, state, m, z, train=train)
            modality = get_modality(m)
            terms[m] = modality.loss(pred, self.modality_data(m, batch), self.config,
                                     mask=mask if modality.needs_label else None)
            total = total + self.loss_weights[m] * terms[m]
            if m in POSE_MODALITIES:  # diagnostic only: not part of `total`
                terms[f"{m}_spread"] = spread_ratio(pred, self.modality_data(m, batch),
                                                    mask=mask if modality.needs_label else None)
        return total, terms, state

    def _kl_mask(self, batch):
        """Masks a posterior's KL like its reconstructions: only if every decoder needs labels."""
        if all(get_modality(m).needs_label for m in self.decoder_names):
            return self._label_mask(batch)
        return None

    def elbo_terms(self, params, model_state, batch, rng, mu, logvar, beta, name: str, *, with_kl: bool = True):
        """-ELBO(q; D) of one posterior (module doc): (loss, metrics, new state)."""
        z = reparameterize(rng, mu, logvar, sample_ids=batch.get("record_index"))
        recon, terms, state = self.reconstruction_terms(params, model_state, batch, z)
        metrics = {f"{name}/{m}": v for m, v in terms.items()}
        loss = recon
        if with_kl:
            kl = masked_mean(kl_to_standard_normal(mu, logvar), self._kl_mask(batch))
            metrics[f"{name}/kl"] = kl
            loss = loss + beta * kl
        return loss, metrics, state

    def loss(self, params, model_state, batch, rng, step):
        """The strategy's objective (module doc): (loss, (metrics, new model state))."""
        beta = beta_at(step, self.config)
        metrics = {"beta": beta}
        state = dict(model_state)
        (mu_x, logvar_x), state[f"enc_{self.input}"] = self.encode(params, state, self.input, batch, train=True)
        total, m, state = self.elbo_terms(params, state, batch, jax.random.fold_in(rng, 0), mu_x, logvar_x, beta,
                                          self.input)
        metrics.update(m)
        if self.strategy == "S3":
            (mu_j, logvar_j), state["enc_joint"] = self.encode(params, state, "joint", batch, train=True)
            loss_j, m, state = self.elbo_terms(params, state, batch, jax.random.fold_in(rng, 1), mu_j, logvar_j,
                                               beta, "joint")
            align = jnp.mean(kl_diagonal_gaussians(mu_j, logvar_j, mu_x, logvar_x))
            metrics.update(m)
            align_steps = self.config.align_beta_anneal_steps
            align_beta = annealed_beta(step, beta=self.config.align_beta, beta_start=self.config.align_beta_start,
                                       anneal_steps=self.config.beta_anneal_steps if align_steps is None
                                       else align_steps)
            metrics["align_kl"] = align
            metrics["align_beta"] = align_beta
            total = total + loss_j + align_beta * align
        elif self.strategy == "S4":
            (mu_w, logvar_w), state[f"enc_{self.aligned}"] = self.encode(params, state, self.aligned, batch,
                                                                         train=True)
            loss_w, m, state = self.elbo_terms(params, state, batch, jax.random.fold_in(rng, 1), mu_w, logvar_w,
                                               beta, self.aligned)
            metrics.update(m)
            mu_j, logvar_j = self.joint_posterior(mu_x, logvar_x, mu_w, logvar_w)
            loss_j, m, state = self.elbo_terms(params, state, batch, jax.random.fold_in(rng, 2), mu_j, logvar_j,
                                               beta, "joint", with_kl=False)
            metrics.update(m)
            total = total + loss_w + loss_j
        metrics["loss"] = total
        return total, (metrics, state)

    # -- inference -----------------------------------------------------------------
    def predict(self, params, model_state, batch):
        """3D joints [B, 21, 3] metres, camera frame, from the posterior mean of q(z | x)."""
        (mu, _), _ = self.encode(params, model_state, self.input, batch)
        pose, _ = self.decode(params, model_state, self.target, mu)
        return pose_to_camera(self.target, pose, batch, self.invariances)

    @property
    def cloud_decoder(self) -> str | None:
        """Name of the point-cloud decoder (S2-S4 with a cloud), or None."""
        return next((m for m in self.decoder_names if m.startswith("cloud")), None)

    def predict_cloud(self, params, model_state, batch, source: str | None = None):
        """The cloud decoded from q(z | source)'s mean (Yang et al. Fig. 3), in the cloud's model space."""
        cloud = self.cloud_decoder
        if cloud is None:
            raise ValueError(f"predict_cloud: this strategy decodes no cloud (decoders {self.decoder_names})")
        (mu, _), _ = self.encode(params, model_state, source or self.input, batch)
        return self.decode(params, model_state, cloud, mu)[0]
