"""Point-cloud modalities of Yang et al. ICCV 2019 and the view-corrected 3D pose.

Looked up by name through jaxhands.methods.modality_registry:

cloud: the sample's `points` [batch, N, 3] (visible hand surface, camera frame, metres)
  view-corrected, centred and scale-normalised, all without labels, so that samples
  whose 3D labels are withheld keep their cloud (Yang et al.'s weak supervision):
    c = mean of the points (the hand centre; Li & Lee centre the view on the cloud),
    R = view_correction_rotation(c) (jaxhands.geometry.frames: the minimal rotation
        taking the ray through c onto the optical axis),
    cloud = R (p - c) / r,  r = RMS distance of the points from c.
  Encoder: ResPEL (jaxhands.models.point_cloud); decoder: FoldingNet with
  config.num_points points; loss: chamfer_weight * Chamfer (Eq. 8) + emd_weight * EMD
  (Eq. 9, the auction `approx_emd`), both per sample in the normalised unit. Needs no
  label.
cloud_uncorrected: the same without R (for the paper's "no view correction" ablation).
kp3d_vc: the 3D joints in the SAME rotated frame as "cloud": R (X - root) / scale, with
  root and scale from the invariances exactly as "kp3d" (jaxhands.methods.modalities),
  so a pose decoded from a cloud's latent is in the cloud's orientation. `pose_to_camera`
  undoes it with the batch's points (label-free) and ground-truth root/scale (the
  evaluation protocol of Yang et al. Sec. 5.1). Decoder: Yang et al.'s 4 fully connected
  layers of 128 units (MLPDecoder(width=config.pose_decoder_width=128,
  num_layers=config.pose_decoder_layers=4)) + the output layer; loss Eq. 10.

Point resampling: Yang et al. draw a fresh set of 256 points from the depth map at
every step. Our records carry `points` drawn once at generation (exact ray hits), so
the clouds here are the stored ones; the view correction and normalisation do not
depend on their order or on which points were drawn beyond their mean and spread.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxhands.geometry import layouts
from jaxhands.geometry.frames import view_correction_rotation
from jaxhands.losses.emd import approx_emd
from jaxhands.losses.point_cloud import chamfer_distance
from jaxhands.losses.reductions import masked_mean
from jaxhands.methods.modalities import Invariances, Modality, mlp_encoder, pose_3d_target, pose_frame
from jaxhands.models.mlp import MLPDecoder
from jaxhands.models.point_cloud import FoldingNetDecoder, ResPELEncoder


def _check_points(points) -> jax.Array:
    points = jnp.asarray(points, jnp.float32)
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"cloud modality: batch['points'] must be [batch, N, 3] metres, got shape {points.shape}")
    return points


def cloud_centre(batch) -> jax.Array:
    """Hand centre [B, 3]: the mean of the sample's surface points (camera frame, metres)."""
    return jnp.mean(_check_points(batch["points"]), axis=1)


def view_rotation(batch) -> jax.Array:
    """R [B, 3, 3] of the view correction towards `cloud_centre` (shared by cloud and kp3d_vc)."""
    return view_correction_rotation(cloud_centre(batch))


def _normalised_cloud(batch, corrected: bool) -> jax.Array:
    points = _check_points(batch["points"])
    centred = points - jnp.mean(points, axis=1, keepdims=True)
    if corrected:
        centred = jnp.einsum("bij,bnj->bni", view_rotation(batch), centred)
    radius = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(centred), axis=-1), axis=1))[:, None, None]
    return centred / jnp.maximum(radius, 1e-6)


def cloud_input(batch, inv: Invariances | None = None) -> jax.Array:
    """View-corrected, centred, RMS-normalised cloud [B, N, 3] (module doc)."""
    del inv  # label-free: centre and scale come from the cloud itself
    return _normalised_cloud(batch, corrected=True)


def cloud_uncorrected_input(batch, inv: Invariances | None = None) -> jax.Array:
    del inv
    return _normalised_cloud(batch, corrected=False)


def pose_vc_target(batch, inv: Invariances) -> jax.Array:
    """R (X - root) / scale: [B, 21, 3] joints in the view-corrected frame of the cloud."""
    return jnp.einsum("bij,bkj->bki", view_rotation(batch), pose_3d_target(batch, inv))


def pose_to_camera(modality: str, pred, batch, inv: Invariances) -> jax.Array:
    """Model-space pose of `modality` ("kp3d" or "kp3d_vc") -> [B, 21, 3] metres, camera frame."""
    if modality == "kp3d_vc":
        pred = jnp.einsum("bki,bij->bkj", pred, view_rotation(batch))  # R^T applied to each joint
    elif modality != "kp3d":
        raise ValueError(f"pose_to_camera: expected 'kp3d' or 'kp3d_vc', got {modality!r}")
    root, scale = pose_frame(batch, inv)
    return pred * scale + root


def cloud_loss(pred, target, *, mask=None, chamfer_weight: float = 1.0, emd_weight: float = 1.0,
               emd_rel_tol: float = 0.05) -> jax.Array:
    """chamfer_weight * Chamfer (Eq. 8) + emd_weight * approx EMD (Eq. 9), mean over (masked-in) samples.

    pred, target: [B, N, 3] with equal N (the EMD is a bijection); mask: optional [B];
    emd_rel_tol: the auction's tolerance (approx_emd's rel_tol).
    """
    if pred.shape != target.shape:
        raise ValueError(f"cloud_loss: pred {pred.shape} and target {target.shape} must match "
                         "(FoldingNet decodes config.num_points points)")
    per_sample = 0.0
    if chamfer_weight:
        per_sample = per_sample + chamfer_weight * chamfer_distance(pred, target, batch_reduction="none")
    if emd_weight:
        per_sample = per_sample + emd_weight * approx_emd(pred, target, batch_reduction="none", rel_tol=emd_rel_tol)
    per_sample = jnp.broadcast_to(jnp.asarray(per_sample, pred.dtype), pred.shape[:1])
    return masked_mean(per_sample, mask)


def _respel_encoder(config):
    return ResPELEncoder(latent_dim=config.latent_dim, width=config.respel_width,
                         num_blocks=config.respel_blocks)


def _folding_decoder(config):
    return FoldingNetDecoder(num_points=config.num_points, width=config.folding_width)


def _pose_decoder(config):
    return MLPDecoder(output_shape=(layouts.NUM_JOINTS, 3), width=config.pose_decoder_width,
                      num_layers=config.pose_decoder_layers, kernel_init=config.mlp_kernel_init)


def _cloud_loss_options(config):
    return dict(chamfer_weight=config.cloud_chamfer_weight, emd_weight=config.cloud_emd_weight,
                emd_rel_tol=config.cloud_emd_rel_tol)


POINT_MODALITIES = (
    Modality("cloud", cloud_input, _respel_encoder, _folding_decoder, reconstruction_loss=cloud_loss,
             needs_label=False, fields=("points",), loss_options=_cloud_loss_options),
    Modality("cloud_uncorrected", cloud_uncorrected_input, _respel_encoder, _folding_decoder,
             reconstruction_loss=cloud_loss, needs_label=False, fields=("points",), loss_options=_cloud_loss_options),
    Modality("kp3d_vc", pose_vc_target, mlp_encoder, _pose_decoder, fields=("keypoints_3d", "points")),
)
