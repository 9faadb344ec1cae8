"""Yang & Yao, CVPR 2019, "Disentangling Latent Hands": the 3DPose dVAE for pose
estimation (Fig. 2c, Alg. 1 with the embedding of Eq. 7-8).

Spec: ../shared/specs/dvae_crossing_nets.md, Part A. One Gaussian latent z (latent_dim,
64) split into two named factors of latent_dim / 2: z_c, the canonical pose, and z_v,
the viewpoint. Poses are the library's T/S-normalised joints (root-relative, divided by
the reference bone), side-normalised with their viewpoint (jaxhands.geometry.viewpoint:
pose_sn = canonical @ view_sn exactly, so the pose decoder is a function of z alone).

Groups and the two stages of Alg. 1 (staged by dvae_disentangle_steps):
    disentangle  enc_cpose, enc_view, dec_pose, dec_cpose, dec_view          poses stream
        L = lx ||pose_sn - Dp([z_c, z_v])||^2 + ly (||c - Dc(z_c)||^2 + ||v - Dv(z_v)||^2)
            + beta_dis (KL(q(z_c | c)) + KL(q(z_v | v)))                        (Eq. 2)
    embed        enc_<input> only; every decoder frozen                        labelled stream
        L = lx ||pose_sn - Dp(z)||^2 + ly (||c - Dc(z[:k])||^2 + ||v - Dv(z[k:])||^2)
            + beta_emb KL(q(z | input))                                         (Eq. 8)
Dc reads only z[:k] and Dv only z[k:] (k = latent_dim / 2): the factors' routing is by
construction, and the cross-factor gradients are exact zeros (tests/methods/test_disentangled_vae.py).
Squared errors are summed over coordinates, averaged over the batch (the paper leaves
the likelihoods open; spec A3). The viewpoint is the rotation's first two rows (6 numbers).

Semi- and weakly supervised (Sec. 4.4; labelled_fraction < 1): dvae_pose_stream
"all_poses" lets the disentangling stage read every record's pose, unpaired with the
images ("poses": the labelled records' only, the supervised baseline); with
dvae_weak_viewpoint the embedding also reads the unlabelled images, with their viewpoint
term alone (the 3D pose and canonical pose terms masked by `labelled`): from the train
stream, or from "labelled_mix" batches of stream_labelled_rows labelled rows when that is > 0.

predict: pose = un-mirror(Dp(mean of q(z | input))) * scale + root, the ground-truth root,
scale and hand side given (the paper: "handedness and scale are given at test time");
predict_composed: the same from Dc(z_c) @ R(Dv(z_v)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.geometry.viewpoint import matrix_to_rot6d, mirror_right_hands, rot6d_to_matrix, side_normalised_factors
from jaxhands.losses.elbo import kl_to_standard_normal, reparameterize
from jaxhands.losses.reconstruction import squared_error
from jaxhands.methods.base import Phase, apply_module, init_module
from jaxhands.methods.modalities import Invariances, pose_3d_target, pose_3d_to_camera
from jaxhands.methods.modality_registry import get_modality
from jaxhands.methods.phase_schedule import staged
from jaxhands.methods.vae_parts import decode_factor_walk, decode_latent_walk
from jaxhands.models.mlp import MLPDecoder, MLPEncoder

FACTOR_GROUPS = ("enc_cpose", "enc_view", "dec_pose", "dec_cpose", "dec_view")
VIEW_SIZE = 6


class DisentangledVAE:
    """The 3DPose dVAE (module docstring); `config.input_modality` is the embedded input x̂."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        if config.latent_dim % 2:
            raise ValueError(f"the dVAE splits z into two equal factors: latent_dim must be even, got "
                             f"{config.latent_dim}")
        self.factor_dim = config.latent_dim // 2
        self.invariances = Invariances.from_config(config)
        self.predict_from = config.input_modality
        self.input = get_modality(config.input_modality)
        width, layers, init = config.mlp_width, config.mlp_layers, config.mlp_kernel_init
        # The factor posteriors start narrow (config.encoder_logvar_init, as the image
        # encoders do): from sigma 1, seed 1 of the disentangling stage encoded only one
        # row of the viewpoint and stayed there (issue 16; docs/results/dvae_disentangle_probes.json).
        logvar = config.encoder_logvar_init
        self.modules = {
            "enc_cpose": MLPEncoder(latent_dim=self.factor_dim, width=width, num_layers=layers, kernel_init=init,
                                    logvar_init=logvar),
            "enc_view": MLPEncoder(latent_dim=self.factor_dim, width=width, num_layers=layers, kernel_init=init,
                                   logvar_init=logvar),
            "dec_pose": MLPDecoder(output_shape=(21, 3), width=width, num_layers=layers, kernel_init=init),
            "dec_cpose": MLPDecoder(output_shape=(21, 3), width=width, num_layers=layers, kernel_init=init),
            "dec_view": MLPDecoder(output_shape=(VIEW_SIZE,), width=width, num_layers=layers, kernel_init=init),
            f"enc_{self.predict_from}": self.input.make_encoder(config)}
        self.groups = tuple(self.modules)
        self.batch_fields = tuple(dict.fromkeys(("keypoints_3d", "hand_side") + self.input.fields))
        if config.dvae_pose_stream not in ("poses", "all_poses"):
            raise ValueError(f"config.dvae_pose_stream must be 'poses' (the labelled records' poses) or 'all_poses' "
                             f"(every record's, unpaired: semi-supervised), got {config.dvae_pose_stream!r}")
        semi = config.labelled_fraction < 1.0
        # Weak supervision (Sec. 4.4): the images without 3D labels keep their viewpoint, so
        # the embedding reads every image and masks only the pose and canonical-pose terms.
        self.weak_viewpoint = bool(config.dvae_weak_viewpoint) and semi
        # With config.stream_labelled_rows = k > 0, the weak embedding reads "labelled_mix"
        # batches (k labelled rows among batch_size) instead of the train stream, whose
        # batches hold labelled_fraction of labelled rows (3 of 32 at 10 %) for the pose terms.
        if self.weak_viewpoint:
            embed_stream = "labelled_mix" if config.stream_labelled_rows else "train"
        else:
            embed_stream = "labelled" if semi else "train"
        self.phases = (Phase("disentangle", FACTOR_GROUPS, self.disentangle_loss, stream=config.dvae_pose_stream),
                       Phase("embed", (f"enc_{self.predict_from}",), self.embed_loss, stream=embed_stream))
        if config.dvae_disentangle_steps < 1:
            raise ValueError(f"config.dvae_disentangle_steps must be >= 1, got {config.dvae_disentangle_steps}")
        self.phase_schedule = staged([((0,), config.dvae_disentangle_steps), ((1,), None)])

    # -- data ----------------------------------------------------------------------
    def factors(self, batch):
        """(side-normalised pose [B, 21, 3], canonical pose [B, 21, 3], viewpoint [B, 6])."""
        canonical, view, pose = side_normalised_factors(pose_3d_target(batch, self.invariances), batch["hand_side"])
        return pose, canonical, matrix_to_rot6d(view)

    def _apply(self, group, params, state, *args, train=False):
        return apply_module(self.modules[group], params, state, group, *args, train=train)

    def init(self, rng, batch):
        pose, canonical, view = self.factors(batch)
        z = jnp.zeros((pose.shape[0], self.config.latent_dim), jnp.float32)
        inputs = {"enc_cpose": (canonical,), "enc_view": (view,), "dec_pose": (z,),
                  "dec_cpose": (z[:, :self.factor_dim],), "dec_view": (z[:, self.factor_dim:],),
                  f"enc_{self.predict_from}": (self.input.data(batch, self.invariances), batch["hand_side"])}
        params, state = {}, {}
        for group, key in zip(self.groups, jax.random.split(rng, len(self.groups))):
            params[group], state[group] = init_module(key, self.modules[group], *inputs[group])
        return params, state

    # -- the factors' routes ---------------------------------------------------------
    def encode(self, params, model_state, modality: str, batch, *, train: bool = False):
        """q(z | .): "kp3d" -> the factor encoders' [z_c, z_v] from the pose; the input
        modality -> its encoder. ((mu, logvar) [B, latent_dim], the encoder's new state)."""
        if modality == "kp3d":
            _, canonical, view = self.factors(batch)
            (mu_c, lv_c), _ = self._apply("enc_cpose", params, model_state, canonical)
            (mu_v, lv_v), _ = self._apply("enc_view", params, model_state, view)
            return (jnp.concatenate([mu_c, mu_v], -1), jnp.concatenate([lv_c, lv_v], -1)), model_state["enc_cpose"]
        if modality == self.predict_from:
            group = f"enc_{modality}"
            return self._apply(group, params, model_state, self.input.data(batch, self.invariances),
                               batch["hand_side"], train=train)
        raise ValueError(f"the dVAE encodes 'kp3d' or {self.predict_from!r}, not {modality!r}")

    def decode(self, params, model_state, modality: str, z, *, train: bool = False):
        """"kp3d": the side-normalised pose from all of z; "cpose": the canonical pose from
        z[:k]; "view": the viewpoint's 6 numbers from z[k:]."""
        k = self.factor_dim
        routes = {"kp3d": ("dec_pose", z), "cpose": ("dec_cpose", z[:, :k]), "view": ("dec_view", z[:, k:])}
        if modality not in routes:
            raise ValueError(f"the dVAE decodes {sorted(routes)}, not {modality!r}")
        group, latent = routes[modality]
        return self._apply(group, params, model_state, latent, train=train)

    def swap_viewpoint(self, params, model_state, batch_pose, batch_view):
        """Side-normalised poses [B, 21, 3] decoded from [z_c of batch_pose, z_v of batch_view]
        (posterior means; spec D2/D4: the composed ground truth is c_pose @ view_view)."""
        (za, _), _ = self.encode(params, model_state, "kp3d", batch_pose)
        (zb, _), _ = self.encode(params, model_state, "kp3d", batch_view)
        k = self.factor_dim
        return self.decode(params, model_state, "kp3d", jnp.concatenate([za[:, :k], zb[:, k:]], -1))[0]

    factor_names = ("cpose", "view")

    def factor_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, factor: str,
                    source: str = "kp3d"):
        """Side-normalised poses [B, num_steps, 21, 3] decoded along a walk of one factor
        (spec D5, the paper's Fig. 6): z starts at A's posterior mean (of `source`, the
        factor encoders by default) and only `factor`'s half ("cpose": z[:k], "view":
        z[k:]) moves on the line to B's, both ends included; the other half stays A's."""
        if factor not in self.factor_names:
            raise ValueError(f"the dVAE's factors are {self.factor_names}, not {factor!r}")
        moving = (jnp.arange(self.config.latent_dim) < self.factor_dim) == (factor == "cpose")
        return decode_factor_walk(self, params, model_state, batch_a, batch_b, num_steps, moving=moving,
                                  source=source, modality="kp3d")

    def sample_prior(self, params, model_state, rng, num_samples: int, modality: str = "kp3d"):
        z = jax.random.normal(rng, (num_samples, self.config.latent_dim))
        return self.decode(params, model_state, modality, z)[0]

    def latent_walk(self, params, model_state, batch_a, batch_b, num_steps: int, *, source: str | None = None,
                    modality: str = "kp3d"):
        return decode_latent_walk(self, params, model_state, batch_a, batch_b, num_steps,
                                  source=source or self.predict_from, modality=modality)

    # -- losses --------------------------------------------------------------------
    def _reconstruction_terms(self, params, state, batch, z, *, pose_mask=None):
        """(lx-weighted pose term + ly-weighted factor terms, metrics) for latent z [B, latent_dim].
        pose_mask [B]: the rows whose 3D pose (and so canonical pose) may be used; the
        viewpoint term reads every row (weak supervision's viewpoint labels)."""
        c = self.config
        pose, canonical, view = self.factors(batch)
        pose_hat = self.decode(params, state, "kp3d", z)[0]
        canonical_hat = self.decode(params, state, "cpose", z)[0]
        view_hat = self.decode(params, state, "view", z)[0]
        pose_term = squared_error(pose_hat, pose, mask=pose_mask)
        canonical_term = squared_error(canonical_hat, canonical, mask=pose_mask)
        view_term = squared_error(view_hat, view)
        loss = c.dvae_lambda_x * pose_term + c.dvae_lambda_y * (canonical_term + view_term)
        return loss, {"pose": pose_term, "cpose": canonical_term, "view": view_term}

    def disentangle_loss(self, params, state, batch, rng, step):
        _, canonical, view = self.factors(batch)
        (mu_c, lv_c), _ = self._apply("enc_cpose", params, state, canonical, train=True)
        (mu_v, lv_v), _ = self._apply("enc_view", params, state, view, train=True)
        rng_c, rng_v = jax.random.split(rng)
        z = jnp.concatenate([reparameterize(rng_c, mu_c, lv_c), reparameterize(rng_v, mu_v, lv_v)], -1)
        recon, metrics = self._reconstruction_terms(params, state, batch, z)
        kl = kl_to_standard_normal(mu_c, lv_c).mean() + kl_to_standard_normal(mu_v, lv_v).mean()
        loss = recon + self.config.dvae_beta_disentangle * kl
        return loss, ({"loss": loss, "kl": kl, **metrics}, state)

    def embed_loss(self, params, state, batch, rng, step):
        (mu, logvar), enc_state = self.encode(params, state, self.predict_from, batch, train=True)
        pose_mask = batch["labelled"] if self.weak_viewpoint else None
        recon, metrics = self._reconstruction_terms(params, state, batch, reparameterize(rng, mu, logvar),
                                                    pose_mask=pose_mask)
        kl = kl_to_standard_normal(mu, logvar).mean()
        loss = recon + self.config.dvae_beta_embed * kl
        return loss, ({"loss": loss, "kl": kl, **metrics}, {**state, f"enc_{self.predict_from}": enc_state})

    # -- inference -----------------------------------------------------------------
    def predict(self, params, model_state, batch):
        """Camera-frame joints [B, 21, 3] metres from the input's posterior mean, with the
        ground-truth root, scale and hand side."""
        (mu, _), _ = self.encode(params, model_state, self.predict_from, batch)
        pose_sn = self.decode(params, model_state, "kp3d", mu)[0]
        return pose_3d_to_camera(mirror_right_hands(pose_sn, batch["hand_side"]), batch, self.invariances)

    def predict_composed(self, params, model_state, batch):
        """The second prediction path (spec D6): the canonical pose Dc(z_c) turned by the
        viewpoint Dv(z_v), canonical @ R(view), from the input's posterior mean; the
        same frame and units as `predict`. Agreeing with it says the embedding landed
        where both factor decoders read it."""
        (mu, _), _ = self.encode(params, model_state, self.predict_from, batch)
        canonical = self.decode(params, model_state, "cpose", mu)[0]
        view = rot6d_to_matrix(self.decode(params, model_state, "view", mu)[0])
        pose_sn = jnp.einsum("bkj,bji->bki", canonical, view)
        return pose_3d_to_camera(mirror_right_hands(pose_sn, batch["hand_side"]), batch, self.invariances)
