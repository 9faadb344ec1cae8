"""Keypoint heatmaps: the DCGAN-style decoder, Gaussian targets, argmax and soft-argmax.

Yang et al. 2019 decode one heatmap per keypoint with "the decoder architecture of
the DC-GAN" (Radford et al.: Dense -> 4x4 feature map -> 4x4 stride-2 transposed
convolutions with BN + ReLU, halving the channels) and train it with the pixel-wise
L2 loss sum_j ||H_j - H^_j||^2 against Gaussian target maps rendered at the 2D keypoints.

Coordinates: heatmap pixel (row i, column j) has its centre at (u, v) = (j + 0.5, i + 0.5)
(the schema's convention), so a keypoint at (u, v) in an image of W x H pixels sits
at (u * w / W, v * h / H) in a heatmap of w x h pixels. Heatmaps are NHWC,
[batch, h, w, joints].
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxhands.geometry.layouts import NUM_JOINTS
from jaxhands.losses.reconstruction import squared_error
from jaxhands.models.image_decoder import UpsamplingDecoder

# Gaussian std of the target maps as a fraction of the heatmap side (1 px at 32, 2 px at 64).
DEFAULT_SIGMA_FRACTION = 1.0 / 32.0


class HeatmapDecoder(nn.Module):
    """p(heatmaps | z): z [batch, latent] -> [batch, size, size, num_joints] (DCGAN generator)."""

    heatmap_size: int = 32
    num_joints: int = NUM_JOINTS
    start_channels: int = 256

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        return UpsamplingDecoder(self.heatmap_size, self.num_joints, self.start_channels, name="body")(z, train=train)


def gaussian_heatmaps(keypoints_uv, height: int, width: int, sigma: float) -> jax.Array:
    """Unnormalised Gaussians exp(-|p - k|^2 / (2 sigma^2)) at every pixel centre p.

    keypoints_uv: [..., J, 2] heatmap-pixel coordinates (u right, v down); sigma in
    heatmap pixels. Returns [..., height, width, J] with peak value 1 at the keypoint.
    """
    keypoints_uv = jnp.asarray(keypoints_uv, jnp.float32)
    if keypoints_uv.shape[-1] != 2:
        raise ValueError(f"gaussian_heatmaps: keypoints must be [..., J, 2], got {keypoints_uv.shape}")
    if not sigma > 0:
        raise ValueError(f"gaussian_heatmaps: sigma must be positive, got {sigma}")
    u = jnp.arange(width, dtype=jnp.float32) + 0.5
    v = jnp.arange(height, dtype=jnp.float32) + 0.5
    ku = keypoints_uv[..., None, None, :, 0]  # [..., 1, 1, J]
    kv = keypoints_uv[..., None, None, :, 1]
    d2 = jnp.square(u[None, :, None] - ku) + jnp.square(v[:, None, None] - kv)
    return jnp.exp(-d2 / (2.0 * sigma**2))


def heatmap_argmax(heatmaps) -> jax.Array:
    """[..., h, w, J] -> [..., J, 2]: (u, v) of the centre of each map's largest pixel."""
    heatmaps = jnp.asarray(heatmaps)
    h, w, j = heatmaps.shape[-3:]
    flat = heatmaps.reshape(heatmaps.shape[:-3] + (h * w, j))
    index = jnp.argmax(flat, axis=-2)
    return jnp.stack([(index % w).astype(jnp.float32) + 0.5, (index // w).astype(jnp.float32) + 0.5], -1)


def heatmap_soft_argmax(heatmaps, temperature: float | None = None) -> jax.Array:
    """[..., h, w, J] -> [..., J, 2]: the expected (u, v) under each map taken as a distribution.

    temperature=None: weights are the maps clipped at 0 and normalised (sub-pixel exact
    for a Gaussian lying well inside the map); otherwise softmax(map / temperature)
    (differentiable everywhere, as in integral pose regression).
    """
    heatmaps = jnp.asarray(heatmaps, jnp.float32)
    h, w, _ = heatmaps.shape[-3:]
    if temperature is None:
        weights = jnp.maximum(heatmaps, 0.0)
        weights = weights / jnp.maximum(jnp.sum(weights, axis=(-3, -2), keepdims=True), 1e-12)
    else:
        flat = heatmaps.reshape(heatmaps.shape[:-3] + (h * w, -1)) / temperature
        weights = jax.nn.softmax(flat, axis=-2).reshape(heatmaps.shape)
    u = jnp.arange(w, dtype=jnp.float32) + 0.5
    v = jnp.arange(h, dtype=jnp.float32) + 0.5
    eu = jnp.sum(weights * u[None, :, None], axis=(-3, -2))
    ev = jnp.sum(weights * v[:, None, None], axis=(-3, -2))
    return jnp.stack([eu, ev], -1)


def image_to_heatmap_coords(keypoints_uv, image_hw: tuple[int, int], heatmap_hw: tuple[int, int]) -> jax.Array:
    """[..., 2] image pixels -> heatmap pixels (the pixel-centre convention keeps this a pure scale)."""
    (ih, iw), (hh, hw) = image_hw, heatmap_hw
    scale = jnp.asarray([hw / iw, hh / ih], jnp.float32)
    return jnp.asarray(keypoints_uv, jnp.float32) * scale


def heatmap_loss(pred, keypoints_unit, *, mask=None, sigma_fraction: float = DEFAULT_SIGMA_FRACTION) -> jax.Array:
    """Yang et al.'s pixel-wise L2 loss against Gaussian targets rendered at pred's resolution.

    pred: [batch, h, w, J] decoded heatmaps; keypoints_unit: [batch, J, 2] keypoints as
    fractions of the image width/height ((u / W, v / H)); mask: optional [batch] sample
    mask. Sum over pixels and joints, mean over (masked-in) samples.
    """
    if pred.ndim != 4 or keypoints_unit.shape != (pred.shape[0], pred.shape[-1], 2):
        raise ValueError(f"heatmap_loss: expected pred [batch, h, w, J] and keypoints [batch, J, 2], got "
                         f"{pred.shape} and {keypoints_unit.shape}")
    h, w = pred.shape[1:3]
    target = gaussian_heatmaps(keypoints_unit * jnp.asarray([w, h], jnp.float32), h, w, sigma_fraction * max(h, w))
    return squared_error(pred, jax.lax.stop_gradient(target), mask=mask)
