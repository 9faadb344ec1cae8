"""Yang & Yao, CVPR 2019: the synthesis dVAE with an unlabelled content variable z_u
(Fig. 2b, Alg. 2, Eq. 6): z = [z_p, z_u], the 3D pose and whatever else the image holds
(background, skin, light), encoded from the image itself - no tag image, no content label.

Spec: ../shared/specs/dvae_crossing_nets.md, Part A ("With z_u", Alg. 2, the
`synthesis_zu` groups and phases, check D8).

Unlike the fully specified variant (dvae_synthesis.py), the pose decoder reads the
**full** z (Eq. 6, Alg. 2 line 5). q(z_u | x) sees the whole image, hand included, so
nothing in Eq. 6 stops the pose decoder from reading the pose out of z_u; Alg. 2's inner
loop is what makes p(p | z_p, z_u) ~ p(p | z_p): it retrains the pose path with z_u drawn
from **another** sample's posterior (the spec's reading of "z_noise ~ N(mu, sigma)"; with
the sample's own posterior the loop would repeat the main step).

Groups (k = latent_dim / 2) and phases:
    disentangle_u    enc_kp3d (MLP, k), enc_u (ResNet on x, k), dec_rgb (on z), dec_kp3d (on z)
        L = lx ||x - Dx(z)||^2 + ly ||p - Dp(z)||^2 + beta_pose KL(q(z_p | p)) + beta_dis KL(q(z_u | x))
        z = [z_p ~ q(z_p | p), z_u ~ q(z_u | x)]                                  (Eq. 6)
    pose_invariance  enc_kp3d, dec_kp3d only; q(z_u | x) recomputed without gradient and
                     rolled through the batch by a random non-zero shift, so every row
                     gets another row's z_u
        L = ly ||p - Dp([z_p, z_u(other)])||^2 + beta_pose KL(q(z_p | p))        (Alg. 2 inner loop)
    embed            enc_rgb (ResNet, latent_dim) only; decoders frozen      (Eq. 4 on x and p)
        L = lx ||x - Dx(z)||^2 + ly ||p - Dp(z)||^2 + beta_pose' KL(q(z_p | x)) + beta_emb KL(q(z_u | x))
For the first dvae_disentangle_steps (T1) steps the phases cycle disentangle_u, then
dvae_zu_inner_steps (T2) pose_invariance steps; afterwards embed. T2 = 0 is the ablation
without the inner loop.

"labels" encodes [z_p from the pose, z_u from the image]; "rgb" the image encoder's z.
transfer, factor walks (factors "pose" and "content"), predict: as in dvae_synthesis.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.losses.elbo import kl_to_standard_normal, reparameterize
from jaxhands.losses.reconstruction import squared_error
from jaxhands.methods.base import Phase, init_module
from jaxhands.methods.dvae_synthesis import DisentangledSynthesisVAE, with_latent_dim
from jaxhands.methods.modalities import Invariances
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.phase_schedule import staged
from jaxhands.models.mlp import MLPDecoder, MLPEncoder

DISENTANGLE_GROUPS = ("enc_kp3d", "enc_u", "dec_rgb", "dec_kp3d")
INVARIANCE_GROUPS = ("enc_kp3d", "dec_kp3d")


def rolled_by_other(rng, x):
    """x [B, ...] rolled along the batch by a shift drawn from 1 .. B-1: row i gets row
    (i - shift) mod B, never itself (B >= 2)."""
    shift = jax.random.randint(rng, (), 1, x.shape[0])
    return jnp.roll(x, shift, axis=0)


class DisentangledSynthesisZuVAE(DisentangledSynthesisVAE):
    """Fig. 2b's dVAE (module docstring): pose and unlabelled content, RGB embedded."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        if config.latent_dim % 2:
            raise ValueError(f"the dVAE splits z into two equal factors: latent_dim must be even, got "
                             f"{config.latent_dim}")
        if config.dvae_disentangle_steps < 1:
            raise ValueError(f"config.dvae_disentangle_steps must be >= 1, got {config.dvae_disentangle_steps}")
        if config.dvae_zu_inner_steps < 0:
            raise ValueError(f"config.dvae_zu_inner_steps (Alg. 2's T2) must be >= 0, got "
                             f"{config.dvae_zu_inner_steps}")
        self.factor_dim = k = config.latent_dim // 2
        self.invariances = Invariances.from_config(config)
        self.predict_from = "rgb"
        self.pose, self.rgb = get_modality("kp3d"), get_modality("rgb")
        width, layers, init = config.mlp_width, config.mlp_layers, config.mlp_kernel_init
        self.modules = {
            "enc_kp3d": MLPEncoder(latent_dim=k, width=width, num_layers=layers, kernel_init=init),
            "enc_u": self.rgb.make_encoder(with_latent_dim(config, k)),
            "dec_rgb": self.rgb.make_decoder(config),
            "dec_kp3d": MLPDecoder(output_shape=(21, 3), width=width, num_layers=layers, kernel_init=init),
            "enc_rgb": self.rgb.make_encoder(config)}
        self.groups = tuple(self.modules)
        self.batch_fields = ("image", "keypoints_3d", "hand_side")
        stream = "labelled" if config.labelled_fraction < 1.0 else "train"
        self.phases = (Phase("disentangle_u", DISENTANGLE_GROUPS, self.disentangle_loss, stream=stream),
                       Phase("pose_invariance", INVARIANCE_GROUPS, self.invariance_loss, stream=stream),
                       Phase("embed", ("enc_rgb",), self.embed_loss, stream=stream))
        cycle = (0,) + (1,) * config.dvae_zu_inner_steps
        self.phase_schedule = staged([(cycle, config.dvae_disentangle_steps), ((2,), None)])

    # -- data ----------------------------------------------------------------------
    def data(self, batch):
        """(image x [B, S, S, 3], pose p [B, 21, 3])."""
        return self.rgb.data(batch, self.invariances), self.pose.data(batch, self.invariances)

    def init(self, rng, batch):
        x, p = self.data(batch)
        z = jnp.zeros((x.shape[0], self.config.latent_dim), jnp.float32)
        side = batch["hand_side"]
        inputs = {"enc_kp3d": (p, side), "enc_u": (x, side), "dec_rgb": (z,), "dec_kp3d": (z,), "enc_rgb": (x, side)}
        params, state = {}, {}
        for group, key in zip(self.groups, jax.random.split(rng, len(self.groups))):
            params[group], state[group] = init_module(key, self.modules[group], *inputs[group])
        return params, state

    # -- encoders and decoders -------------------------------------------------------
    def encode(self, params, model_state, modality: str, batch, *, train: bool = False):
        """q(z | .): "labels" -> [z_p from the pose, z_u from the image]; "rgb" -> the image
        encoder's. ((mu, logvar) [B, latent_dim], the new state of enc_u or enc_rgb)."""
        x, p = self.data(batch)
        side = batch["hand_side"]
        if modality == "labels":
            (mu_p, lv_p), _ = self._apply("enc_kp3d", params, model_state, p, side, train=train)
            (mu_u, lv_u), u_state = self._apply("enc_u", params, model_state, x, side, train=train)
            return (jnp.concatenate([mu_p, mu_u], -1), jnp.concatenate([lv_p, lv_u], -1)), u_state
        if modality == "rgb":
            return self._apply("enc_rgb", params, model_state, x, side, train=train)
        raise ValueError(f"the z_u dVAE encodes 'labels' (pose + image content) or 'rgb', not {modality!r}")

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """"rgb": the image, "kp3d": the pose, both from all of z (Eq. 6). (output, that
        decoder's new state)."""
        groups = {"rgb": "dec_rgb", "kp3d": "dec_kp3d"}
        if modality not in groups:
            raise ValueError(f"the z_u dVAE decodes {sorted(groups)}, not {modality!r}")
        return self._apply(groups[modality], params, model_state, z, train=train)

    # -- losses --------------------------------------------------------------------
    def _reconstruction(self, params, state, batch, z, *, train: bool):
        c = self.config
        x, p = self.data(batch)
        x_hat, rgb_state = self.decode(params, state, "rgb", z, train=train)
        p_hat, pose_state = self.decode(params, state, "kp3d", z, train=train)
        image, pose = squared_error(x_hat, x), squared_error(p_hat, p)
        loss = c.dvae_lambda_x * image + c.dvae_lambda_y * pose
        return loss, {"image": image, "pose": pose}, {"dec_rgb": rgb_state, "dec_kp3d": pose_state}

    def disentangle_loss(self, params, state, batch, rng, step):
        x, p = self.data(batch)
        side = batch["hand_side"]
        (mu_p, lv_p), pose_enc_state = self._apply("enc_kp3d", params, state, p, side, train=True)
        (mu_u, lv_u), u_state = self._apply("enc_u", params, state, x, side, train=True)
        rng_p, rng_u = jax.random.split(rng)
        z = jnp.concatenate([reparameterize(rng_p, mu_p, lv_p), reparameterize(rng_u, mu_u, lv_u)], -1)
        recon, metrics, decoder_states = self._reconstruction(params, state, batch, z, train=True)
        kl_pose, kl_content = kl_to_standard_normal(mu_p, lv_p).mean(), kl_to_standard_normal(mu_u, lv_u).mean()
        loss = recon + self.beta_pose * kl_pose + self.config.dvae_beta_disentangle * kl_content
        new_state = {**state, "enc_kp3d": pose_enc_state, "enc_u": u_state, **decoder_states}
        return loss, ({"loss": loss, "kl": kl_pose + kl_content, "kl_pose": kl_pose, "kl_content": kl_content,
                       **metrics}, new_state)

    def invariance_loss(self, params, state, batch, rng, step):
        x, p = self.data(batch)
        side = batch["hand_side"]
        (mu_p, lv_p), pose_enc_state = self._apply("enc_kp3d", params, state, p, side, train=True)
        # q(z_u | x) as the main step sees it (batch statistics), but neither trained nor
        # its statistics moved: this phase owns only the pose path.
        (mu_u, lv_u), _ = self._apply("enc_u", params, state, x, side, train=True)
        mu_u, lv_u = jax.lax.stop_gradient(mu_u), jax.lax.stop_gradient(lv_u)
        rng_roll, rng_p, rng_u = jax.random.split(rng, 3)
        mu_u, lv_u = rolled_by_other(rng_roll, mu_u), rolled_by_other(rng_roll, lv_u)
        z = jnp.concatenate([reparameterize(rng_p, mu_p, lv_p), reparameterize(rng_u, mu_u, lv_u)], -1)
        p_hat, pose_dec_state = self.decode(params, state, "kp3d", z, train=True)
        pose = squared_error(p_hat, p)
        kl = kl_to_standard_normal(mu_p, lv_p).mean()
        loss = self.config.dvae_lambda_y * pose + self.beta_pose * kl
        new_state = {**state, "enc_kp3d": pose_enc_state, "dec_kp3d": pose_dec_state}
        return loss, ({"loss": loss, "kl": kl, "pose": pose}, new_state)

    # embed_loss and predict are the tag variant's: they read Dp through self.decode, which
    # here decodes the pose from all of z.
