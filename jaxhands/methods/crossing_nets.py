"""Wan et al. CVPR 2017, Crossing Nets: a pose VAE and a depth GAN sharing one latent space.

Spec: ../shared/specs/dvae_crossing_nets.md, Part B (networks in jaxhands.models.depth_gan).

Representations (label-free where the paper's test time is):
    x   the depth crop, 2 * normalize_depth(depth, cn_cube_size_m): [-1, 1], background +1
    c   the crop's 3D centre: the mean measured pixel back-projected at the mean depth
    y   root-relative joints / 50 mm, [B, 63]; origin = (root - c) / 50 mm, [B, 3]
    Z_l = [Enc(y) with 0.05-std noise (20), origin (3)]: the shared 23-d latent
    Z_r = convex combinations of cn_mix_weights rows of Z_l (random weights)

Phases on a staged schedule (cn_*_steps), each with its own stream and learning rate:
    0 vae    enc_pose, dec_pose: 0.5 ||y - Dec(z)||^2 + KL                  poses
    1 gan    disc_trunk, disc_top, gen: D's BCE + G's feature matching       train (every depth map)
    2 warm   align, post_head, smo_head: clipped render MSE (Ali), L_pos + L_smo (heads; trunk frozen)
    3 joint  trunk, top, heads, align, gen: L_D + L_G + L_smo                 labelled
The baselines (cn_variant) replace stages 2-3 by one `posterior` stage, trunk + posterior
head on L_pos alone: `gan_pretrained` after the GAN stage, `scratch` straight after the
VAE (the paper's Fig. 3 curves). The ablations weight L_smo (cn_lambda_smo) and the GAN
terms of the joint stage (cn_lambda_gan) by 0.
The two players of phases 1 and 3 update simultaneously: each side's terms stop the
gradient into the other side (jaxhands.methods.base), so d(L_G)/d(theta_D) = 0 and
d(L_D)/d(theta_G) = 0; L_smo trains both, as in Alg. 1.

predict: pose = (Dec(pos(x)[:20]) + pos(x)[20:]) * 50 mm + c, camera frame, without the
ground-truth root or scale (the depth papers' protocol).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxhands.geometry import layouts
from jaxhands.losses.elbo import kl_to_standard_normal
from jaxhands.methods.base import Phase, apply_module, init_module
from jaxhands.methods.image_modalities import normalize_depth
from jaxhands.methods.phase_schedule import staged
from jaxhands.methods.vae_parts import decode_latent_walk
from jaxhands.models import depth_gan
from jaxhands.training.optimizer import adam

GROUPS = ("enc_pose", "dec_pose", "gen", "align", "disc_trunk", "disc_top", "post_head", "smo_head")
D_GROUPS = ("disc_trunk", "disc_top", "post_head", "smo_head")
G_GROUPS = ("align", "gen")


def depth_centre(depth, intrinsics):
    """[B, 3] metres: the mean measured pixel of `depth` [B, H, W] back-projected at the mean depth."""
    measured = (depth > 0).astype(jnp.float32)
    count = jnp.maximum(measured.sum(axis=(1, 2)), 1.0)
    h, w = depth.shape[1:]
    v, u = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32) + 0.5, jnp.arange(w, dtype=jnp.float32) + 0.5, indexing="ij")
    mean_u = (measured * u).sum(axis=(1, 2)) / count
    mean_v = (measured * v).sum(axis=(1, 2)) / count
    mean_d = (measured * depth).sum(axis=(1, 2)) / count
    pixel = jnp.stack([mean_u, mean_v, jnp.ones_like(mean_u)], axis=-1)
    return mean_d[:, None] * jnp.einsum("bij,bj->bi", jnp.linalg.inv(intrinsics), pixel)


def _bce(logits, label: float):
    return optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, label)).mean()


class CrossingNets:
    groups = GROUPS
    batch_fields = ("depth", "keypoints_3d", "intrinsics")
    predict_from = "depth"
    rendered_modalities = ("depth",)

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        size = config.image_size
        depth_gan.num_stages(size)  # a clear error for an unusable size
        self.num_joints = layouts.NUM_JOINTS
        self.modules = {
            "enc_pose": depth_gan.PoseEncoder(), "dec_pose": depth_gan.PoseDecoder(3 * self.num_joints),
            "gen": depth_gan.DepthGenerator(size), "align": depth_gan.Align(), "disc_trunk": depth_gan.DiscTrunk(),
            "disc_top": depth_gan.DiscTop(size), "post_head": depth_gan.PosteriorHead(size),
            "smo_head": depth_gan.SmoothHead(size)}
        self.phases = (Phase("vae", ("enc_pose", "dec_pose"), self.vae_loss, stream="poses"),
                       Phase("gan", ("disc_trunk", "disc_top", "gen"), self.gan_loss, stream="train"),
                       Phase("warm", ("align", "post_head", "smo_head"), self.warm_loss, stream="labelled"),
                       Phase("joint", D_GROUPS + G_GROUPS, self.joint_loss, stream="labelled"),
                       Phase("posterior", ("disc_trunk", "post_head"), self.posterior_loss, stream="labelled"))
        # (phase, steps, learning rate) per stage of the variant; the last runs to the end.
        stages = {"full": [(0, config.cn_vae_steps, config.cn_lr_vae), (1, config.cn_gan_steps, config.cn_lr_gan),
                           (2, config.cn_warm_steps, config.cn_lr_warm), (3, None, config.cn_lr_joint)],
                  "gan_pretrained": [(0, config.cn_vae_steps, config.cn_lr_vae),
                                     (1, config.cn_gan_steps, config.cn_lr_gan), (4, None, config.cn_lr_joint)],
                  "scratch": [(0, config.cn_vae_steps, config.cn_lr_vae), (4, None, config.cn_lr_joint)]}
        if config.cn_variant not in stages:
            raise ValueError(f"config.cn_variant: expected one of {sorted(stages)}, got {config.cn_variant!r}")
        self.stages = [stage for stage in stages[config.cn_variant] if stage[1] != 0]
        self.stage_ends = tuple(int(x) for x in np.cumsum([n for _, n, _ in self.stages[:-1]]))
        self.phase_schedule = staged([((k,), n) for k, n, _ in self.stages])

    # -- optimisation --------------------------------------------------------------
    def optimizers(self, config):
        """Adam (beta1 cn_adam_b1) for every group, its rate the stage's (spec B4) on the global step."""
        rates = jnp.asarray([lr for _, _, lr in self.stages], jnp.float32)
        boundaries = jnp.asarray(self.stage_ends, jnp.int32)

        def rate(step):
            return rates[jnp.searchsorted(boundaries, step, side="right")]
        return {g: adam(rate, b1=config.cn_adam_b1) for g in self.groups}

    # -- data ----------------------------------------------------------------------
    def depth_input(self, batch):
        """[B, S, S] in [-1, 1], background +1."""
        return 2.0 * normalize_depth(batch["depth"], self.config.cn_cube_size_m)

    def pose_vector(self, batch):
        """y [B, 3J]: root-relative joints / unit (poses only: the VAE stage reads no depth)."""
        joints = batch["keypoints_3d"]
        return ((joints - joints[:, layouts.WRIST][:, None]) / self.config.cn_pose_unit_m).reshape(joints.shape[0], -1)

    def pose_target(self, batch):
        """(y [B, 3J], origin [B, 3] = (root - c) / unit, c [B, 3] metres from the depth map)."""
        centre = depth_centre(batch["depth"], batch["intrinsics"])
        origin = (batch["keypoints_3d"][:, layouts.WRIST] - centre) / self.config.cn_pose_unit_m
        return self.pose_vector(batch), origin, centre

    def init_from_poses(self, params, poses):
        """The pose VAE from the labelled poses' principal components (the released code's
        initialisation, depth_gan.pca_pose_init); cn_pca_init=False keeps the random one."""
        if not self.config.cn_pca_init:
            return params
        y = np.asarray(self.pose_vector({"keypoints_3d": jnp.asarray(poses)}))
        enc, dec = depth_gan.pca_pose_init(params["enc_pose"], params["dec_pose"], y)
        return {**params, "enc_pose": enc, "dec_pose": dec}

    # -- the model's pieces --------------------------------------------------------
    def _apply(self, group, params, state, *args, train):
        return apply_module(self.modules[group], params, state, group, *args, train=train)

    def init(self, rng, batch):
        x = self.depth_input(batch)
        y = self.pose_vector(batch)
        z = jnp.zeros((x.shape[0], depth_gan.LATENT), jnp.float32)
        keys = dict(zip(self.groups, jax.random.split(rng, len(self.groups))))
        params, state = {}, {}
        params["enc_pose"], state["enc_pose"] = init_module(keys["enc_pose"], self.modules["enc_pose"], y)
        params["dec_pose"], state["dec_pose"] = init_module(keys["dec_pose"], self.modules["dec_pose"],
                                                            z[:, :depth_gan.LATENT_POSE])
        params["gen"], state["gen"] = init_module(keys["gen"], self.modules["gen"], z)
        params["align"], state["align"] = init_module(keys["align"], self.modules["align"], z)
        params["disc_trunk"], state["disc_trunk"] = init_module(keys["disc_trunk"], self.modules["disc_trunk"], x)
        h = self.modules["disc_trunk"].apply({"params": params["disc_trunk"], **state["disc_trunk"]}, x)
        for head in ("disc_top", "post_head", "smo_head"):
            params[head], state[head] = init_module(keys[head], self.modules[head], h)
        return params, state

    def labelled_latent(self, params, state, batch, rng):
        """Z_l [B, 23] from the (frozen) pose encoder with its 0.05-std noise, and the origin."""
        y, origin, _ = self.pose_target(batch)
        (mu, logvar), _ = self._apply("enc_pose", params, state, y, train=False)
        eps = jax.random.normal(rng, mu.shape)
        z_pose = mu + self.config.cn_latent_noise * jnp.exp(0.5 * logvar) * eps
        return jax.lax.stop_gradient(jnp.concatenate([z_pose, origin], axis=-1))

    def mixed_latent(self, z_l, rng):
        """Z_r: each row a convex combination of cn_mix_weights random rows of Z_l."""
        n, k = z_l.shape[0], self.config.cn_mix_weights
        pick_rng, weight_rng = jax.random.split(rng)
        rows = jax.random.randint(pick_rng, (n, k), 0, n)
        weights = jax.random.uniform(weight_rng, (n, k))
        weights = weights / weights.sum(axis=1, keepdims=True)
        return jnp.einsum("nk,nkd->nd", weights, z_l[rows])

    def render(self, params, state, z, *, train):
        """Gen(Ali(z)): ([B, S, S], new state of align, new state of gen)."""
        a, align_state = self._apply("align", params, state, z, train=train)
        x, gen_state = self._apply("gen", params, state, a, train=train)
        return x, align_state, gen_state

    # -- losses --------------------------------------------------------------------
    def vae_loss(self, params, state, batch, rng, step):
        y = self.pose_vector(batch)
        (mu, logvar), enc_state = self._apply("enc_pose", params, state, y, train=True)
        z = mu + self.config.cn_latent_noise * jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape)
        y_hat, dec_state = self._apply("dec_pose", params, state, z, train=True)
        recon = 0.5 * jnp.sum(jnp.square(y - y_hat), axis=-1).mean()
        kl = kl_to_standard_normal(mu, logvar).mean()
        loss = recon + kl
        joint_error_mm = jnp.linalg.norm((y - y_hat).reshape(y.shape[0], -1, 3), axis=-1).mean() * (
            1000.0 * self.config.cn_pose_unit_m)
        return loss, ({"loss": loss, "recon": recon, "kl": kl, "epe_mm": joint_error_mm},
                      {**state, "enc_pose": enc_state, "dec_pose": dec_state})

    def _discriminate(self, params, state, x, *, train):
        h, trunk_state = self._apply("disc_trunk", params, state, x, train=train)
        (logit, features), top_state = self._apply("disc_top", params, state, h, train=train)
        return logit, features, h, trunk_state, top_state

    def _gan_terms(self, params, state, x_real, x_fake):
        """(L_D on real vs stop-gradient fakes, L_G feature matching with D held fixed, D's new states, metrics)."""
        logit_real, f_real, h_real, trunk_state, top_state = self._discriminate(params, state, x_real, train=True)
        logit_fake, _, _, _, _ = self._discriminate(params, state, jax.lax.stop_gradient(x_fake), train=True)
        loss_d = _bce(logit_real, 1.0) + _bce(logit_fake, 0.0)
        frozen_d = {g: jax.lax.stop_gradient(params[g]) for g in ("disc_trunk", "disc_top")}
        _, f_fake, _, _, _ = self._discriminate({**params, **frozen_d}, state, x_fake, train=True)
        loss_g = jnp.abs(jax.lax.stop_gradient(f_real).mean(0) - f_fake.mean(0)).mean()
        accuracy = 0.5 * ((logit_real > 0).mean() + (logit_fake < 0).mean())
        return loss_d, loss_g, trunk_state, top_state, h_real, {"d_accuracy": accuracy}

    def gan_loss(self, params, state, batch, rng, step):
        x = self.depth_input(batch)
        z = jax.random.uniform(rng, (x.shape[0], depth_gan.LATENT), minval=-1.0, maxval=1.0)
        fake, gen_state = self._apply("gen", params, state, z, train=True)
        loss_d, loss_g, trunk_state, top_state, _, metrics = self._gan_terms(params, state, x, fake)
        loss = loss_d + loss_g
        new_state = {**state, "gen": gen_state, "disc_trunk": trunk_state, "disc_top": top_state}
        return loss, ({"loss": loss, "loss_d": loss_d, "loss_g": loss_g, **metrics}, new_state)

    def _head_terms(self, params, state, x, h, z_l, x_fake_l, x_fake_r, z_r, *, train):
        """(L_pos, L_smo, new post/smo states): posterior regression and Eq. 9's smoothness."""
        z_hat, post_state = self._apply("post_head", params, state, h, train=train)
        loss_pos = jnp.square(z_hat - z_l).mean()
        m_real, smo_state = self._apply("smo_head", params, state, h, train=train)
        trunk = lambda img: self._apply("disc_trunk", params, state, img, train=False)[0]  # noqa: E731
        m_fake_r, _ = self._apply("smo_head", params, state, trunk(x_fake_r), train=train)
        m_fake_l, _ = self._apply("smo_head", params, state, trunk(x_fake_l), train=train)
        loss_smo = (jnp.square((z_l - z_r) - (m_real - m_fake_r)) + jnp.square(m_real - m_fake_l)).mean()
        return loss_pos, loss_smo, post_state, smo_state

    def warm_loss(self, params, state, batch, rng, step):
        x = self.depth_input(batch)
        latent_rng, mix_rng = jax.random.split(rng)
        z_l = self.labelled_latent(params, state, batch, latent_rng)
        z_r = self.mixed_latent(z_l, mix_rng)
        # (a) Ali alone, through the frozen generator (running statistics): the clipped render loss.
        a, align_state = self._apply("align", params, state, z_l, train=True)
        x_render, _ = self._apply("gen", params, state, a, train=False)
        loss_render = jnp.minimum(jnp.square(x - x_render), 1.0).mean()
        # (b) the heads on the frozen trunk; rendered maps held fixed.
        h, _ = self._apply("disc_trunk", params, state, x, train=False)
        x_l = jax.lax.stop_gradient(x_render)
        x_r = jax.lax.stop_gradient(self.render(params, state, z_r, train=False)[0])
        loss_pos, loss_smo, post_state, smo_state = self._head_terms(params, state, x, h, z_l, x_l, x_r, z_r,
                                                                     train=True)
        loss = loss_render + loss_pos + self.config.cn_lambda_smo * loss_smo
        new_state = {**state, "align": align_state, "post_head": post_state, "smo_head": smo_state}
        return loss, ({"loss": loss, "render": loss_render, "pos": loss_pos, "smo": loss_smo}, new_state)

    def joint_terms(self, params, state, batch, rng):
        """(L_D, L_G, L_smo, new state, metrics): L_D = GAN(D) + L_pos, L_G = feature matching
        + clipped render loss; each side's terms hold the other side fixed; L_smo trains both."""
        x = self.depth_input(batch)
        latent_rng, mix_rng = jax.random.split(rng)
        z_l = self.labelled_latent(params, state, batch, latent_rng)
        z_r = self.mixed_latent(z_l, mix_rng)
        x_l, align_state, gen_state = self.render(params, state, z_l, train=True)
        x_r, _, _ = self.render(params, state, z_r, train=True)
        fakes = jnp.concatenate([x_r, x_l])
        # Reals: the labelled maps (the release has no unlabelled stream); fakes: both renders.
        loss_gan_d, loss_fm, trunk_state, top_state, h, metrics = self._gan_terms(params, state, x, fakes)
        loss_pos, loss_smo, post_state, smo_state = self._head_terms(params, state, x, h, z_l, x_l, x_r, z_r,
                                                                     train=True)
        # L_pos reaches only D (z_l is a stop-gradient target); the render loss only G.
        loss_render = jnp.minimum(jnp.square(x - x_l), 1.0).mean()
        new_state = {**state, "align": align_state, "gen": gen_state, "disc_trunk": trunk_state,
                     "disc_top": top_state, "post_head": post_state, "smo_head": smo_state}
        metrics = dict(metrics, gan_d=loss_gan_d, feature_matching=loss_fm, pos=loss_pos, smo=loss_smo,
                       render=loss_render)
        lam_gan = self.config.cn_lambda_gan
        return (lam_gan * loss_gan_d + loss_pos, lam_gan * loss_fm + loss_render, self.config.cn_lambda_smo * loss_smo,
                new_state, metrics)

    def joint_loss(self, params, state, batch, rng, step):
        loss_d, loss_g, loss_smo, new_state, metrics = self.joint_terms(params, state, batch, rng)
        loss = loss_d + loss_g + loss_smo
        return loss, ({"loss": loss, "loss_d": loss_d, "loss_g": loss_g, **metrics}, new_state)

    def posterior_loss(self, params, state, batch, rng, step):
        """The baselines' single stage (`scratch`, `gan_pretrained`): trunk + posterior head
        regress Z_l directly, L_pos only (the paper's "direct posterior")."""
        x = self.depth_input(batch)
        z_l = self.labelled_latent(params, state, batch, rng)
        h, trunk_state = self._apply("disc_trunk", params, state, x, train=True)
        z_hat, post_state = self._apply("post_head", params, state, h, train=True)
        loss = jnp.square(z_hat - z_l).mean()
        return loss, ({"loss": loss, "pos": loss}, {**state, "disc_trunk": trunk_state, "post_head": post_state})

    # -- inference -----------------------------------------------------------------
    def predict(self, params, state, batch):
        """Camera-frame joints [B, 21, 3] metres from the depth map alone (no ground-truth root)."""
        x = self.depth_input(batch)
        h, _ = self._apply("disc_trunk", params, state, x, train=False)
        z, _ = self._apply("post_head", params, state, h, train=False)
        y, _ = self._apply("dec_pose", params, state, z[:, :depth_gan.LATENT_POSE], train=False)
        unit = self.config.cn_pose_unit_m
        centre = depth_centre(batch["depth"], batch["intrinsics"])
        root = centre + z[:, depth_gan.LATENT_POSE:] * unit
        return y.reshape(x.shape[0], self.num_joints, 3) * unit + root[:, None]

    # -- the shared latent (LatentModel, RendersImages: sample.py's pictures) ------------
    def encode(self, params, model_state, modality: str, batch, *, train: bool = False):
        """The 23-d shared latent: "depth" -> pos(trunk(x)) (the inference route, logvar 0);
        "kp3d" -> [Enc(y) mean and logvar (20), the origin from the depth map (3)]."""
        if modality == "depth":
            h, _ = self._apply("disc_trunk", params, model_state, self.depth_input(batch), train=False)
            z, post_state = self._apply("post_head", params, model_state, h, train=train)
            return (z, jnp.zeros_like(z)), post_state
        if modality == "kp3d":
            y, origin, _ = self.pose_target(batch)
            (mu, logvar), enc_state = self._apply("enc_pose", params, model_state, y, train=train)
            return (jnp.concatenate([mu, origin], -1), jnp.concatenate([logvar, jnp.zeros_like(origin)], -1)), enc_state
        raise ValueError(f"Crossing Nets encodes 'depth' or 'kp3d', not {modality!r}")

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """"kp3d": root-relative joints [B, 21, 3] metres, Dec(z[:20]); "depth": the render
        route's maps [B, S, S] in [-1, 1], Gen(Ali(z))."""
        if modality == "kp3d":
            y, dec_state = self._apply("dec_pose", params, model_state, z[:, :depth_gan.LATENT_POSE], train=train)
            return y.reshape(z.shape[0], self.num_joints, 3) * self.config.cn_pose_unit_m, dec_state
        if modality == "depth":
            x, _, gen_state = self.render(params, model_state, z, train=train)
            return x, gen_state
        raise ValueError(f"Crossing Nets decodes 'kp3d' or 'depth', not {modality!r}")

    def sample_prior(self, params, model_state, rng, num_samples: int, modality: str = "kp3d"):
        """Decodes z = [z_y ~ N(0, I) (20), origin 0 (3)]."""
        z = jnp.concatenate([jax.random.normal(rng, (num_samples, depth_gan.LATENT_POSE)),
                             jnp.zeros((num_samples, depth_gan.LATENT - depth_gan.LATENT_POSE))], -1)
        return self.decode(params, model_state, modality, z)[0]

    def latent_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, source: str | None = None,
                    modality: str = "kp3d"):
        """Decodes the line between two inputs' latents (Fig. 1's walk between two depth maps)."""
        return decode_latent_walk(self, params, model_state, batch_a, batch_b, num_steps,
                                  source=source or self.predict_from, modality=modality)

    def render_route(self, params, model_state, batch):
        """(x [B, S, S], Gen(Ali(Z_l)) [B, S, S]): each labelled map beside its render from the
        pose (Z_l without the training noise): spec C5's route."""
        (z, _), _ = self.encode(params, model_state, "kp3d", batch)
        return self.depth_input(batch), self.decode(params, model_state, "depth", z)[0]
