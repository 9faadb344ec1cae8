"""Yang & Yao, CVPR 2019: the image-synthesis dVAE with a fully specified latent (Fig. 2a,
Alg. 1, Eq. 2 and 4): z = [z_p, z_t], the 3D pose and the image content given by a tag
image (the content's background alone).

Spec: ../shared/specs/dvae_crossing_nets.md, Part A (A1 "fully specified z", A3, A4).
Data: a synthetic dataset with shared contents (config synthetic_num_backgrounds = K > 0:
records carry `tag_image`), so every transfer has a ground truth
(jaxhands.synthetic.generator.generate_transfer).

Groups (k = latent_dim / 2) and the two stages of Alg. 1 (dvae_disentangle_steps):
    disentangle  enc_kp3d (MLP, k), enc_tag (ResNet, k), dec_rgb (on z), dec_kp3d (on z[:k]),
                 dec_tag (on z[k:])
        L = lx ||x - Dx([z_p, z_t])||^2 + ly (||p - Dp(z_p)||^2 + ||t - Dt(z_t)||^2)
            + beta_pose KL(q(z_p | p)) + beta_dis KL(q(z_t | t))              (Eq. 2)
    embed        enc_rgb (ResNet, latent_dim) only; every decoder frozen, run on its stored
                 batch statistics
        L = lx ||x - Dx(z)||^2 + ly (||p - Dp(z[:k])||^2 + ||t - Dt(z[k:])||^2)
            + beta_pose' KL(q(z_p | x)) + beta_emb KL(q(z_t | x))             (Eq. 4)
x is the RGB crop and t its tag image, both in [-0.5, 0.5]; p the library's T/S-normalised
3D pose (kp3d); squared errors summed over coordinates and pixels (spec A3: beta = 100 is
meant against summed image errors), averaged over the batch. beta_pose is
config.dvae_beta_pose, by default beta_dis (the paper's single beta); in the embedding,
beta_pose' is config.dvae_beta_pose too, by default beta_emb (the paper's one beta').

transfer: Dx([z_p of one batch, z_t of another]) - Fig. 6's pose transfer; predict: the
pose Dp(mu[:k]) of the image's posterior mean, in camera coordinates with the
ground-truth root and scale.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.losses.elbo import kl_to_standard_normal, reparameterize
from jaxhands.losses.reconstruction import squared_error
from jaxhands.methods.base import Phase, apply_module, init_module
from jaxhands.methods.modalities import Invariances, pose_3d_to_camera
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.phase_schedule import staged
from jaxhands.methods.vae_parts import decode_factor_walk, decode_latent_walk
from jaxhands.models.mlp import MLPDecoder, MLPEncoder

DISENTANGLE_GROUPS = ("enc_kp3d", "enc_tag", "dec_rgb", "dec_kp3d", "dec_tag")
DECODERS = ("dec_rgb", "dec_kp3d", "dec_tag")


def with_latent_dim(config: ml_collections.ConfigDict, latent_dim: int) -> ml_collections.ConfigDict:
    half = ml_collections.ConfigDict(config.to_dict())
    half.latent_dim = latent_dim
    return half


class DisentangledSynthesisVAE:
    """Fig. 2a's dVAE (module docstring): pose and content factors, RGB embedded."""

    factor_names = ("pose", "content")
    rendered_modalities = ("rgb",)

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        if config.latent_dim % 2:
            raise ValueError(f"the dVAE splits z into two equal factors: latent_dim must be even, got "
                             f"{config.latent_dim}")
        self.factor_dim = k = config.latent_dim // 2
        self.invariances = Invariances.from_config(config)
        self.predict_from = "rgb"
        self.pose, self.rgb, self.tag = get_modality("kp3d"), get_modality("rgb"), get_modality("tag")
        half = with_latent_dim(config, k)
        width, layers, init = config.mlp_width, config.mlp_layers, config.mlp_kernel_init
        self.modules = {
            "enc_kp3d": MLPEncoder(latent_dim=k, width=width, num_layers=layers, kernel_init=init),
            "enc_tag": self.tag.make_encoder(half),
            "dec_rgb": self.rgb.make_decoder(config),
            "dec_kp3d": MLPDecoder(output_shape=(21, 3), width=width, num_layers=layers, kernel_init=init),
            "dec_tag": self.tag.make_decoder(config),
            "enc_rgb": self.rgb.make_encoder(config)}
        self.groups = tuple(self.modules)
        self.batch_fields = ("image", "tag_image", "keypoints_3d", "hand_side")
        stream = "labelled" if config.labelled_fraction < 1.0 else "train"
        self.phases = (Phase("disentangle", DISENTANGLE_GROUPS, self.disentangle_loss, stream=stream),
                       Phase("embed", ("enc_rgb",), self.embed_loss, stream=stream))
        if config.dvae_disentangle_steps < 1:
            raise ValueError(f"config.dvae_disentangle_steps must be >= 1, got {config.dvae_disentangle_steps}")
        self.phase_schedule = staged([((0,), config.dvae_disentangle_steps), ((1,), None)])

    # -- data ----------------------------------------------------------------------
    def data(self, batch):
        """(image x [B, S, S, 3], pose p [B, 21, 3], tag t [B, S, S, 3])."""
        inv = self.invariances
        return self.rgb.data(batch, inv), self.pose.data(batch, inv), self.tag.data(batch, inv)

    def _apply(self, group, params, state, *args, train=False):
        return apply_module(self.modules[group], params, state, group, *args, train=train)

    def init(self, rng, batch):
        x, p, t = self.data(batch)
        z = jnp.zeros((x.shape[0], self.config.latent_dim), jnp.float32)
        k, side = self.factor_dim, batch["hand_side"]
        inputs = {"enc_kp3d": (p, side), "enc_tag": (t,), "dec_rgb": (z,), "dec_kp3d": (z[:, :k],),
                  "dec_tag": (z[:, k:],), "enc_rgb": (x, side)}
        params, state = {}, {}
        for group, key in zip(self.groups, jax.random.split(rng, len(self.groups))):
            params[group], state[group] = init_module(key, self.modules[group], *inputs[group])
        return params, state

    # -- encoders and decoders -------------------------------------------------------
    def encode(self, params, model_state, modality: str, batch, *, train: bool = False):
        """q(z | .): "labels" -> [z_p, z_t] from the pose and tag encoders; "rgb" -> the
        image encoder's. ((mu, logvar) [B, latent_dim], the new state of the encoders used)."""
        inv = self.invariances
        if modality == "labels":
            p, t = self.pose.data(batch, inv), self.tag.data(batch, inv)
            (mu_p, lv_p), _ = self._apply("enc_kp3d", params, model_state, p, batch["hand_side"], train=train)
            (mu_t, lv_t), tag_state = self._apply("enc_tag", params, model_state, t, train=train)
            return (jnp.concatenate([mu_p, mu_t], -1), jnp.concatenate([lv_p, lv_t], -1)), tag_state
        if modality == "rgb":  # needs only the image: prediction runs on any RGB crop
            return self._apply("enc_rgb", params, model_state, self.rgb.data(batch, inv), batch["hand_side"],
                               train=train)
        raise ValueError(f"the synthesis dVAE encodes 'labels' (pose + tag) or 'rgb', not {modality!r}")

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """"rgb": the image from all of z; "kp3d": the pose from z[:k]; "tag": the tag
        image from z[k:]. (output, that decoder's new state)."""
        k = self.factor_dim
        routes = {"rgb": ("dec_rgb", z), "kp3d": ("dec_kp3d", z[:, :k]), "tag": ("dec_tag", z[:, k:])}
        if modality not in routes:
            raise ValueError(f"the synthesis dVAE decodes {sorted(routes)}, not {modality!r}")
        group, latent = routes[modality]
        return self._apply(group, params, model_state, latent, train=train)

    def transfer(self, params, model_state, pose_batch, content_batch, *, source: str = "labels"):
        """Images [B, S, S, 3] in [-0.5, 0.5] decoded from [z_p of pose_batch, z_t of
        content_batch] (posterior means of `source`: "labels" or "rgb"): Fig. 6."""
        (za, _), _ = self.encode(params, model_state, source, pose_batch)
        (zb, _), _ = self.encode(params, model_state, source, content_batch)
        k = self.factor_dim
        return self.decode(params, model_state, "rgb", jnp.concatenate([za[:, :k], zb[:, k:]], -1))[0]

    def factor_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, factor: str,
                    source: str = "labels", modality: str = "kp3d"):
        """[B, num_steps, ...] decoded as `modality` while only `factor`'s half of z moves
        from batch_a's posterior mean to batch_b's (Fig. 4)."""
        if factor not in self.factor_names:
            raise ValueError(f"the synthesis dVAE's factors are {self.factor_names}, not {factor!r}")
        moving = (jnp.arange(self.config.latent_dim) < self.factor_dim) == (factor == "pose")
        return decode_factor_walk(self, params, model_state, batch_a, batch_b, num_steps, moving=moving,
                                  source=source, modality=modality)

    def sample_prior(self, params, model_state, rng, num_samples: int, modality: str = "kp3d"):
        z = jax.random.normal(rng, (num_samples, self.config.latent_dim))
        return self.decode(params, model_state, modality, z)[0]

    def latent_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, source: str = "rgb",
                    modality: str = "kp3d"):
        return decode_latent_walk(self, params, model_state, batch_a, batch_b, num_steps, source=source,
                                  modality=modality)

    # -- losses --------------------------------------------------------------------
    def _reconstruction(self, params, state, batch, z, *, train: bool):
        """(lx x-term + ly factor terms, metrics, decoders' new states) for z [B, latent_dim]."""
        c = self.config
        x, p, t = self.data(batch)
        x_hat, rgb_state = self.decode(params, state, "rgb", z, train=train)
        p_hat, _ = self.decode(params, state, "kp3d", z, train=train)
        t_hat, tag_state = self.decode(params, state, "tag", z, train=train)
        image, pose, tag = squared_error(x_hat, x), squared_error(p_hat, p), squared_error(t_hat, t)
        loss = c.dvae_lambda_x * image + c.dvae_lambda_y * (pose + tag)
        return loss, {"image": image, "pose": pose, "tag": tag}, {"dec_rgb": rgb_state, "dec_tag": tag_state}

    def disentangle_loss(self, params, state, batch, rng, step):
        _, p, t = self.data(batch)
        (mu_p, lv_p), _ = self._apply("enc_kp3d", params, state, p, batch["hand_side"], train=True)
        (mu_t, lv_t), tag_state = self._apply("enc_tag", params, state, t, train=True)
        rng_p, rng_t = jax.random.split(rng)
        z = jnp.concatenate([reparameterize(rng_p, mu_p, lv_p), reparameterize(rng_t, mu_t, lv_t)], -1)
        recon, metrics, decoder_states = self._reconstruction(params, state, batch, z, train=True)
        kl_pose, kl_content = kl_to_standard_normal(mu_p, lv_p).mean(), kl_to_standard_normal(mu_t, lv_t).mean()
        loss = recon + self.beta_pose * kl_pose + self.config.dvae_beta_disentangle * kl_content
        return loss, ({"loss": loss, "kl": kl_pose + kl_content, "kl_pose": kl_pose, "kl_content": kl_content,
                       **metrics}, {**state, "enc_tag": tag_state, **decoder_states})

    @property
    def beta_pose(self) -> float:
        """KL weight of z_p in the disentangling step (config.dvae_beta_pose, else the one beta)."""
        c = self.config
        return c.dvae_beta_disentangle if c.dvae_beta_pose is None else c.dvae_beta_pose

    @property
    def beta_embed_pose(self) -> float:
        """KL weight of the image posterior's z_p half in the embedding step: the pose
        factor keeps the price it had in the disentangling step (config.dvae_beta_pose);
        without it, the one beta' of Eq. 4 (config.dvae_beta_embed)."""
        c = self.config
        return c.dvae_beta_embed if c.dvae_beta_pose is None else c.dvae_beta_pose

    def embed_loss(self, params, state, batch, rng, step):
        (mu, logvar), enc_state = self.encode(params, state, "rgb", batch, train=True)
        # The decoders are frozen: eval mode, so their batch statistics stay as stage 1 left them.
        recon, metrics, _ = self._reconstruction(params, state, batch, reparameterize(rng, mu, logvar), train=False)
        k = self.factor_dim
        kl_pose = kl_to_standard_normal(mu[:, :k], logvar[:, :k]).mean()
        kl_content = kl_to_standard_normal(mu[:, k:], logvar[:, k:]).mean()
        loss = recon + self.beta_embed_pose * kl_pose + self.config.dvae_beta_embed * kl_content
        return loss, ({"loss": loss, "kl": kl_pose + kl_content, "kl_pose": kl_pose, "kl_content": kl_content,
                       **metrics}, {**state, "enc_rgb": enc_state})

    # -- inference -----------------------------------------------------------------
    def predict(self, params, model_state, batch):
        """Camera-frame joints [B, 21, 3] metres: Dp(mu[:k]) of the image's posterior mean,
        with the ground-truth root and scale."""
        (mu, _), _ = self.encode(params, model_state, "rgb", batch)
        return pose_3d_to_camera(self.decode(params, model_state, "kp3d", mu)[0], batch, self.invariances)
