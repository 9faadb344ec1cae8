"""The image modalities: "rgb", "tag", "depth" and "heatmap".

Looked up by name through jaxhands.methods.modality_registry. The stored images are already crops around
the hand (synthetic samples, converted datasets); their side must equal
`config.image_size`, which the decoders reconstruct.

rgb: the uint8 image as float32 in [-0.5, 0.5] (x / 255 - 0.5; Spurr et al. supp.),
  [batch, H, W, 3]. Encoder: ResNet-18 (config.resnet_depth 18/34/50, resnet_width);
  decoder: Spurr Table 4 (jaxhands.models.image_decoder). Needs no label.

tag: a synthetic dataset's tag image (its content's background alone; records of
  datasets with shared contents, SyntheticConfig.num_backgrounds > 0) as rgb is: the
  content factor y2 of Yang & Yao's synthesis dVAE. Needs no label.

depth: made translation-free and bounded, label-free (DeepPrior-style): the centre
  depth c is the mean of the sample's measured (non-zero) depths, i.e. the hand's
  centre of mass in the crop; each measured depth d within the metric cube
  |d - c| <= DEPTH_CUBE_SIZE_M / 2 becomes (d - c) / DEPTH_CUBE_SIZE_M in
  [-0.5, 0.5], and every other pixel (no depth, or outside the cube) becomes +0.5,
  the cube's far face. [batch, H, W]. Same encoder (1 input channel) and decoder
  (1 output channel) as rgb. Needs no label.

heatmap: decoder-only (Yang et al.). Its data is the 2D keypoints as fractions of
  the stored image's width/height ([batch, 21, 2]); the loss renders the Gaussian
  target maps at the decoder's resolution (config.heatmap_size) and takes the
  pixel-wise L2 (jaxhands.models.heatmap.heatmap_loss). Needs labels (2D keypoints).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxhands.methods.modalities import Invariances, Modality
from jaxhands.models.heatmap import HeatmapDecoder, heatmap_loss
from jaxhands.models.image_decoder import ImageDecoder
from jaxhands.models.resnet import ResNetEncoder

# Side of the metric cube around the hand's centre of mass kept by the depth input
# (DeepPrior / Crossing Nets use 300 mm on NYU and MSRA).
DEPTH_CUBE_SIZE_M = 0.3
# Value of pixels without depth (or outside the cube) in the normalised depth input.
DEPTH_BACKGROUND = 0.5


def rgb_input(batch, inv: Invariances | None = None):
    """uint8 [B, H, W, 3] -> float32 [B, H, W, 3] in [-0.5, 0.5]."""
    del inv  # the crop is the image; T/S/H act on the joints and the encoder's flag
    image = batch["image"]
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(f"rgb modality: batch['image'] must be [batch, H, W, 3], got shape {image.shape}")
    return jnp.asarray(image, jnp.float32) / 255.0 - 0.5


def tag_input(batch, inv: Invariances | None = None):
    """The tag image (a synthetic dataset's content alone, uint8 [B, H, W, 3]) as float32
    [B, H, W, 3] in [-0.5, 0.5], like rgb: y2 of Yang & Yao's synthesis dVAE."""
    del inv
    if "tag_image" not in batch:
        raise ValueError("tag modality: the batch has no 'tag_image'; build the synthetic dataset with shared "
                         "contents (config synthetic_num_backgrounds > 0, data_prep --num-backgrounds)")
    tag = batch["tag_image"]
    if tag.ndim != 4 or tag.shape[-1] != 3:
        raise ValueError(f"tag modality: batch['tag_image'] must be [batch, H, W, 3], got shape {tag.shape}")
    return jnp.asarray(tag, jnp.float32) / 255.0 - 0.5


def normalize_depth(depth, cube_size: float = DEPTH_CUBE_SIZE_M):
    """Metres [B, H, W] (0 = none) -> translation-free [B, H, W] in [-0.5, 0.5] (module doc)."""
    depth = jnp.asarray(depth, jnp.float32)
    if depth.ndim != 3:
        raise ValueError(f"depth modality: depth must be [batch, H, W] metres, got shape {depth.shape}")
    measured = depth > 0
    count = jnp.sum(measured, axis=(1, 2), keepdims=True)
    centre = jnp.sum(jnp.where(measured, depth, 0.0), axis=(1, 2), keepdims=True) / jnp.maximum(count, 1)
    relative = (depth - centre) / cube_size
    inside = measured & (jnp.abs(relative) <= 0.5)
    return jnp.where(inside, relative, DEPTH_BACKGROUND)


def depth_input(batch, inv: Invariances | None = None):
    del inv
    return normalize_depth(batch["depth"])


def heatmap_keypoints(batch, inv: Invariances | None = None):
    """2D keypoints as fractions of the stored image's (width, height): [B, 21, 2]."""
    del inv
    height, width = batch["mask"].shape[1:3]
    return jnp.asarray(batch["keypoints_2d"], jnp.float32) / jnp.asarray([width, height], jnp.float32)


def _resnet_encoder(channels: int):
    def make(config):
        return ResNetEncoder(latent_dim=config.latent_dim, depth=config.resnet_depth,
                             width=config.resnet_width, in_channels=channels,
                             stem=config.resnet_stem,
                             logvar_init=config.encoder_logvar_init,
                             pooling=config.resnet_pooling, lowering=config.resnet_lowering)
    return make


def _image_decoder(channels: int):
    def make(config):
        return ImageDecoder(image_size=config.image_size, channels=channels,
                            start_channels=config.image_decoder_channels)
    return make


def _heatmap_decoder(config):
    return HeatmapDecoder(heatmap_size=config.heatmap_size,
                          start_channels=config.heatmap_decoder_channels)


def _no_heatmap_encoder(config):
    raise ValueError("the 'heatmap' modality is decoder-only (Yang et al. decode heatmaps from z); "
                     "use it as a pair's target, e.g. 'rgb->heatmap'")


IMAGE_MODALITIES = (
    Modality("rgb", rgb_input, _resnet_encoder(3), _image_decoder(3), needs_label=False, fields=("image",)),
    Modality("tag", tag_input, _resnet_encoder(3), _image_decoder(3), needs_label=False, fields=("tag_image",)),
    Modality("depth", depth_input, _resnet_encoder(1), _image_decoder(1), needs_label=False, fields=("depth",)),
    Modality("heatmap", heatmap_keypoints, _no_heatmap_encoder, _heatmap_decoder, reconstruction_loss=heatmap_loss,
             needs_label=True, fields=("keypoints_2d", "mask")),
)
