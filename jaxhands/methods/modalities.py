"""Modalities: how a batch of schema samples becomes encoder inputs and decoder targets.

Each `Modality` knows how to build its tensor from a batch (applying the papers'
invariances), which encoder/decoder modules fit it and its reconstruction loss. This
module holds the keypoint modalities; image and point-cloud ones live in
image_modalities.py / point_modalities.py, and methods look every one up by name in
jaxhands.methods.modality_registry.

Invariances (Spurr et al. Sec. 4.5, from Zimmermann & Brox):
- T (translation): 3D joints relative to the root joint; at test time the
  ground-truth root is added back.
- S (scale): 3D joints divided by the reference bone length (wrist -> middle MCP);
  at test time multiplied by the ground-truth length.
- H (handedness): the hand side is given to the encoders as a flag.
The 2D keypoint input is made intrinsics-free (normalised image coordinates
((u - cx)/fx, (v - cy)/fy)); with T it is made relative to the root keypoint and
with S divided by the RMS distance of the 2D keypoints from their mean (robust to
foreshortening, unlike the 2D length of one bone).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections

from jaxhands.geometry import layouts
from jaxhands.geometry.normalization import normalize_pose
from jaxhands.losses.reconstruction import squared_error
from jaxhands.models.mlp import MLPDecoder, MLPEncoder


@dataclasses.dataclass(frozen=True)
class Invariances:
    translation: bool = True
    scale: bool = True
    handedness: bool = True
    root: int = layouts.WRIST
    reference_bone: tuple[int, int] = layouts.REFERENCE_BONE

    @classmethod
    def from_config(cls, config: ml_collections.ConfigDict) -> "Invariances":
        inv = config.invariances
        return cls(
            translation=bool(inv.translation),
            scale=bool(inv.scale),
            handedness=bool(inv.handedness),
            root=layouts.JOINT_INDEX[inv.root] if isinstance(inv.root, str) else int(inv.root),
            reference_bone=tuple(layouts.JOINT_INDEX[j] if isinstance(j, str) else int(j) for j in inv.reference_bone),
        )


def pose_frame(batch, inv: Invariances):
    """Root position [B, 1, 3] and scale [B, 1, 1] that the invariances remove from 3D joints."""
    joints = batch["keypoints_3d"]
    _, root, scale = normalize_pose(joints, root=inv.root, reference_bone=inv.reference_bone)
    root, scale = root[..., None, :], scale[..., None, None]
    if not inv.translation:
        root = jnp.zeros_like(root)
    if not inv.scale:
        scale = jnp.ones_like(scale)
    return root, scale


def pose_3d_target(batch, inv: Invariances) -> jax.Array:
    """3D joints as the model sees them: [B, 21, 3] (root-relative / scale-free per T, S)."""
    root, scale = pose_frame(batch, inv)
    return (batch["keypoints_3d"] - root) / scale


def pose_3d_to_camera(pred, batch, inv: Invariances) -> jax.Array:
    """Inverse of `pose_3d_target` with the batch's ground-truth root and scale: metres, camera frame."""
    root, scale = pose_frame(batch, inv)
    return pred * scale + root


def keypoints_2d_input(batch, inv: Invariances) -> jax.Array:
    """2D keypoints as the model sees them: [B, 21, 2] normalised image coordinates."""
    k = batch["intrinsics"]
    fx, fy = k[:, 0, 0][:, None], k[:, 1, 1][:, None]
    cx, cy = k[:, 0, 2][:, None], k[:, 1, 2][:, None]
    uv = batch["keypoints_2d"]
    xy = jnp.stack([(uv[..., 0] - cx) / fx, (uv[..., 1] - cy) / fy], -1)
    if inv.translation:
        xy = xy - xy[:, inv.root : inv.root + 1]
    if inv.scale:
        # The RMS distance of the keypoints from their centre, not the 2D reference bone:
        # a bone pointing at the camera projects to ~0 length and would blow the input up.
        centred = xy - jnp.mean(xy, axis=1, keepdims=True)
        radius = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(centred), axis=-1), axis=1))[:, None, None]
        xy = xy / jnp.maximum(radius, 1e-6)
    return xy


@dataclasses.dataclass(frozen=True)
class Modality:
    """A data modality: its tensor, encoder, decoder and reconstruction loss.

    `needs_label`: the tensor comes from annotations (2D/3D joints), so samples whose
    labels are withheld (semi-supervised training) are masked out of its terms.
    `fields`: the batch fields `data` reads (the experiment sends only these, plus the
    label fields, to the device).
    `loss_options(config) -> dict`: keyword arguments of `reconstruction_loss` read from
    the config (e.g. the cloud loss's Chamfer / EMD weights).
    """

    name: str
    data: Callable[[dict, Invariances], jax.Array]
    make_encoder: Callable[[ml_collections.ConfigDict], object]
    make_decoder: Callable[[ml_collections.ConfigDict], object]
    reconstruction_loss: Callable[..., jax.Array] = squared_error
    needs_label: bool = True
    fields: tuple[str, ...] = ()
    loss_options: Callable[[ml_collections.ConfigDict], dict] = lambda config: {}

    def loss(self, pred, target, config, *, mask=None):
        """reconstruction_loss(pred, target, mask=mask, **loss_options(config))."""
        return self.reconstruction_loss(pred, target, mask=mask, **self.loss_options(config))


# Modalities whose data are joints [batch, joints, dims]: their predictions' spread
# across a batch is logged as the collapse check (jaxhands.evaluation.spread).
POSE_MODALITIES = ("kp2d", "kp3d", "kp3d_vc")


def mlp_encoder(config):
    """Spurr et al.'s fully connected encoder for vector inputs (2D / 3D keypoints):
    `mlp_layers` x `mlp_width` ReLU layers to (mu, logvar) of size `latent_dim`."""
    return MLPEncoder(latent_dim=config.latent_dim, width=config.mlp_width,
                      num_layers=config.mlp_layers, kernel_init=config.mlp_kernel_init)


def _mlp_decoder(shape):
    def make(config):
        return MLPDecoder(output_shape=shape, width=config.mlp_width,
                          num_layers=config.mlp_layers, kernel_init=config.mlp_kernel_init)
    return make


KEYPOINT_MODALITIES = (
    Modality("kp2d", keypoints_2d_input, mlp_encoder, _mlp_decoder((layouts.NUM_JOINTS, 2)),
             fields=("keypoints_2d", "intrinsics")),
    Modality("kp3d", pose_3d_target, mlp_encoder, _mlp_decoder((layouts.NUM_JOINTS, 3)), fields=("keypoints_3d",)),
)
