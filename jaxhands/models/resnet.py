"""ResNet image encoders (He et al. 2016) for the image modalities.

Spurr et al. encode RGB and depth crops with a ResNet-18 (and report a ResNet-50 on
depth in the supplementary); the latent head (mu, logvar) follows the global average
pool. Inputs are NHWC `[batch, H, W, C]` with C = 3 (RGB) or 1 (depth); any size
that survives the stem's /4 and the three stride-2 stages works (64, 128, 256, ...).

BatchNorm runs in batch-statistics mode when `train=True` (the `batch_stats`
collection is then mutable and `methods.base.apply_module` returns its update) and
uses the stored running averages when `train=False`.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxhands.models.mlp import GaussianHead

# Blocks per stage of the standard depths.
STAGE_SIZES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}
# "imagenet": 7x7 stride-2 convolution + max-pool (/4), He et al.'s stem for 224 px inputs;
# "small": 3x3 stride-1 convolution + max-pool (/2), which keeps twice the resolution for
# small crops (at 64 px a finger is ~3 px wide, below the imagenet stem's stride).
STEMS = ("imagenet", "small")
# "average": global average pooling (He et al.); "flatten": the last feature map flattened,
# which keeps where things are (DeepPrior and Crossing Nets regress pose from flattened maps).
POOLINGS = ("average", "flatten")
# BatchNorm momentum of the running averages (PyTorch's 0.1 update rate).
BN_MOMENTUM = 0.9


def _batch_norm(train: bool, name: str, zero_init: bool = False) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=1e-5, name=name,
                        scale_init=nn.initializers.zeros if zero_init else nn.initializers.ones)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut (ResNet-18/34)."""

    features: int
    strides: int = 1

    @nn.compact
    def __call__(self, x, *, train: bool):
        shortcut = x
        y = nn.Conv(self.features, (3, 3), self.strides, padding=1, use_bias=False, name="conv1")(x)
        y = nn.relu(_batch_norm(train, "bn1")(y))
        y = nn.Conv(self.features, (3, 3), 1, padding=1, use_bias=False, name="conv2")(y)
        # Zero-initialised last BN scale: each block starts as the identity (Goyal et al.).
        y = _batch_norm(train, "bn2", zero_init=True)(y)
        if shortcut.shape != y.shape:
            shortcut = nn.Conv(self.features, (1, 1), self.strides, use_bias=False, name="proj")(shortcut)
            shortcut = _batch_norm(train, "proj_bn")(shortcut)
        return nn.relu(y + shortcut)


class BottleneckBlock(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 (4x features) with a shortcut (ResNet-50)."""

    features: int
    strides: int = 1

    @nn.compact
    def __call__(self, x, *, train: bool):
        shortcut = x
        y = nn.Conv(self.features, (1, 1), use_bias=False, name="conv1")(x)
        y = nn.relu(_batch_norm(train, "bn1")(y))
        y = nn.Conv(self.features, (3, 3), self.strides, padding=1, use_bias=False, name="conv2")(y)
        y = nn.relu(_batch_norm(train, "bn2")(y))
        y = nn.Conv(4 * self.features, (1, 1), use_bias=False, name="conv3")(y)
        y = _batch_norm(train, "bn3", zero_init=True)(y)
        if shortcut.shape != y.shape:
            shortcut = nn.Conv(4 * self.features, (1, 1), self.strides, use_bias=False, name="proj")(shortcut)
            shortcut = _batch_norm(train, "proj_bn")(shortcut)
        return nn.relu(y + shortcut)


class ResNet(nn.Module):
    """ResNet trunk: [batch, H, W, C] -> [batch, features] after global average pooling.

    depth: 18, 34 (basic blocks) or 50 (bottlenecks); width: channels of the first stage
    (64 in the paper; smaller widths make CPU experiments affordable).
    """

    depth: int = 18
    width: int = 64
    stem: str = "imagenet"
    pooling: str = "average"

    @nn.compact
    def __call__(self, x, *, train: bool):
        if self.pooling not in POOLINGS:
            raise ValueError(f"ResNet pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.stem not in STEMS:
            raise ValueError(f"ResNet stem must be one of {STEMS}, got {self.stem!r}")
        if self.depth not in STAGE_SIZES:
            raise ValueError(f"ResNet depth must be one of {sorted(STAGE_SIZES)}, got {self.depth}")
        if x.ndim != 4:
            raise ValueError(f"ResNet expects NHWC images [batch, H, W, C], got shape {x.shape}")
        block = BottleneckBlock if self.depth >= 50 else BasicBlock
        if self.stem == "imagenet":
            x = nn.Conv(self.width, (7, 7), 2, padding=3, use_bias=False, name="stem_conv")(x)
        else:
            x = nn.Conv(self.width, (3, 3), 1, padding=1, use_bias=False, name="stem_conv")(x)
        x = nn.relu(_batch_norm(train, "stem_bn")(x))
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage, num_blocks in enumerate(STAGE_SIZES[self.depth]):
            for b in range(num_blocks):
                strides = 2 if stage > 0 and b == 0 else 1
                x = block(self.width * 2 ** stage, strides, name=f"stage{stage + 1}_block{b + 1}")(x, train=train)
        if self.pooling == "flatten":
            return x.reshape(x.shape[0], -1)
        return jnp.mean(x, axis=(1, 2))


class ResNetEncoder(nn.Module):
    """q(z | image): ResNet trunk + Gaussian head -> (mu, logvar), each [batch, latent_dim].

    Same call signature as MLPEncoder. `hand_side` ([batch] ints, 0 left / 1 right),
    when given, is concatenated to the pooled features before the head (the H invariance).
    """

    latent_dim: int = 64
    depth: int = 18
    width: int = 64
    in_channels: int = 3
    stem: str = "imagenet"
    logvar_init: float = 0.0  # see GaussianHead
    pooling: str = "average"

    @nn.compact
    def __call__(self, x, hand_side=None, *, train: bool = False):
        if x.ndim == 3 and self.in_channels == 1:
            x = x[..., None]  # [batch, H, W] depth maps
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"ResNetEncoder expects [batch, H, W, {self.in_channels}] inputs, got shape {x.shape}")
        h = ResNet(self.depth, self.width, self.stem, self.pooling, name="trunk")(x, train=train)
        if hand_side is not None:
            h = jnp.concatenate([h, jnp.asarray(hand_side, h.dtype).reshape(-1, 1)], axis=-1)
        return GaussianHead(self.latent_dim, self.logvar_init, name="head")(h)


def resnet_feature_dim(depth: int, width: int) -> int:
    """Size of the pooled feature vector of ResNet(depth, width)."""
    return width * 8 * (4 if depth >= 50 else 1)

