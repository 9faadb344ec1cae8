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

from jaxhands.models.im2col import CONV_LOWERINGS, LOWERINGS, Im2colConv, max_pool_as_slices
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


def make_conv(lowering: str, features: int, kernel_size: int, strides: int, padding: int, name: str) -> nn.Module:
    """A bias-free square convolution with symmetric padding: flax.linen.Conv ("xla") or
    the same parameter and function as one matmul over shifted slices ("im2col", faster on
    XLA's CPU backend; jaxhands.models.im2col)."""
    if lowering == "im2col":
        return Im2colConv(features, kernel_size, strides, padding, name=name)
    if lowering != "xla":
        raise ValueError(f"a convolution's lowering must be one of {CONV_LOWERINGS}, got {lowering!r}")
    return nn.Conv(features, (kernel_size, kernel_size), strides, padding=padding, use_bias=False, name=name)


def _batch_norm(train: bool, name: str, zero_init: bool = False) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=1e-5, name=name,
                        scale_init=nn.initializers.zeros if zero_init else nn.initializers.ones)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut (ResNet-18/34)."""

    features: int
    strides: int = 1
    lowering: str = "xla"  # see ResNet

    @nn.compact
    def __call__(self, x, *, train: bool):
        shortcut = x
        y = make_conv(self.lowering, self.features, 3, self.strides, 1, "conv1")(x)
        y = nn.relu(_batch_norm(train, "bn1")(y))
        y = make_conv(self.lowering, self.features, 3, 1, 1, "conv2")(y)
        # Zero-initialised last BN scale: each block starts as the identity (Goyal et al.).
        y = _batch_norm(train, "bn2", zero_init=True)(y)
        if shortcut.shape != y.shape:
            shortcut = make_conv(self.lowering, self.features, 1, self.strides, 0, "proj")(shortcut)
            shortcut = _batch_norm(train, "proj_bn")(shortcut)
        return nn.relu(y + shortcut)


class BottleneckBlock(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 (4x features) with a shortcut (ResNet-50)."""

    features: int
    strides: int = 1
    lowering: str = "xla"  # see ResNet

    @nn.compact
    def __call__(self, x, *, train: bool):
        shortcut = x
        y = make_conv(self.lowering, self.features, 1, 1, 0, "conv1")(x)
        y = nn.relu(_batch_norm(train, "bn1")(y))
        y = make_conv(self.lowering, self.features, 3, self.strides, 1, "conv2")(y)
        y = nn.relu(_batch_norm(train, "bn2")(y))
        y = make_conv(self.lowering, 4 * self.features, 1, 1, 0, "conv3")(y)
        y = _batch_norm(train, "bn3", zero_init=True)(y)
        if shortcut.shape != y.shape:
            shortcut = make_conv(self.lowering, 4 * self.features, 1, self.strides, 0, "proj")(shortcut)
            shortcut = _batch_norm(train, "proj_bn")(shortcut)
        return nn.relu(y + shortcut)


class ResNet(nn.Module):
    """ResNet trunk: [batch, H, W, C] -> [batch, features] after global average pooling.

    depth: 18, 34 (basic blocks) or 50 (bottlenecks); width: channels of the first stage
    (64 in the paper; smaller widths make CPU experiments affordable); lowering: how the
    convolutions and the stem's max-pool are computed ("xla": flax's; "im2col": over shifted
    slices, jaxhands.models.im2col — the same function and parameters, 1.2-1.4 x faster training
    steps at 128 px width 64 on a 2-core CPU; "im2col_body": the same but the stem's
    convolution XLA's, for small crops and widths; keep "xla" on GPU / TPU).
    """

    depth: int = 18
    width: int = 64
    stem: str = "imagenet"
    pooling: str = "average"
    lowering: str = "xla"

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
        if self.lowering not in LOWERINGS:
            raise ValueError(f"ResNet lowering must be one of {LOWERINGS}, got {self.lowering!r}")
        # im2col_body: the stem's convolution by XLA, everything after it over slices.
        body = "im2col" if self.lowering == "im2col_body" else self.lowering
        stem_lowering = "xla" if self.lowering == "im2col_body" else self.lowering
        if self.stem == "imagenet":
            x = make_conv(stem_lowering, self.width, 7, 2, 3, "stem_conv")(x)
        else:
            x = make_conv(stem_lowering, self.width, 3, 1, 1, "stem_conv")(x)
        x = nn.relu(_batch_norm(train, "stem_bn")(x))
        if body == "im2col":
            x = max_pool_as_slices(x, 3, 2, 1)
        else:
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage, num_blocks in enumerate(STAGE_SIZES[self.depth]):
            for b in range(num_blocks):
                strides = 2 if stage > 0 and b == 0 else 1
                x = block(self.width * 2 ** stage, strides, body,
                          name=f"stage{stage + 1}_block{b + 1}")(x, train=train)
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
    lowering: str = "xla"  # see ResNet

    @nn.compact
    def __call__(self, x, hand_side=None, *, train: bool = False):
        if x.ndim == 3 and self.in_channels == 1:
            x = x[..., None]  # [batch, H, W] depth maps
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"ResNetEncoder expects [batch, H, W, {self.in_channels}] inputs, got shape {x.shape}")
        h = ResNet(self.depth, self.width, self.stem, self.pooling, self.lowering, name="trunk")(x, train=train)
        if hand_side is not None:
            h = jnp.concatenate([h, jnp.asarray(hand_side, h.dtype).reshape(-1, 1)], axis=-1)
        return GaussianHead(self.latent_dim, self.logvar_init, name="head")(h)


def resnet_feature_dim(depth: int, width: int) -> int:
    """Size of the pooled feature vector of ResNet(depth, width)."""
    return width * 8 * (4 if depth >= 50 else 1)

