"""Transposed-convolution decoders: Spurr et al. Table 4 (images) and the shared upsampling stack.

Spurr et al. (Table 4 / supplementary Table 2) decode an RGB image from z with

    Linear(4096) + BN + ReLU, Reshape(256, 4, 4),
    ConvT(128) + BN + ReLU, ConvT(64), ConvT(32), ConvT(16), ConvT(8) (each + BN + ReLU), ConvT(3)

every ConvT a 4x4 kernel, stride 2, padding 1 (PyTorch), i.e. it exactly doubles the
side. Six ConvTs take 4x4 to 256x256; in general an output side of 4 * 2^n needs n
ConvTs, so here the number of layers follows the configured image size (64 -> 4
ConvTs with 128, 64, 32 hidden channels; 128 -> 5; 256 -> the paper's 6), halving the
channels from 256 at each layer like the paper. The last ConvT has no BN/ReLU: the
output is the normalised image itself (RGB in [-0.5, 0.5], depth as documented in
jaxhands.methods.image_modalities), compared to the target with a squared error.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxhands.models.resnet import BN_MOMENTUM

# Which kernel tap output phase a (output index 2m + a) takes from input offset
# d = i - m in {-1, 0, +1} (None: no tap), for the un-flipped kernel of
# `lax.conv_transpose(x, w, (2, 2), padding ((p, p), (p, p)))`: out[o] = sum_t x_dilated[o - p + t] w[t].
# 4 x 4 kernel, p = 2 (Spurr et al.'s ConvT(4, 2, 1)): 2 taps per phase.
PHASE_TAPS_4X4 = ((0, 2, None), (None, 1, 3))
# 6 x 6 kernel, p = 3 (Wan et al.'s ConvT(6, 2, crop 2)): all 3 offsets in both phases.
PHASE_TAPS_6X6 = ((1, 3, 5), (0, 2, 4))


def subpixel_kernel(kernel, phase_taps=PHASE_TAPS_4X4):
    """[k, k, cin, cout] stride-2 transposed-conv kernel -> the [3, 3, cin, 4 * cout] stride-1
    kernel of its sub-pixel form (output phases (a, b) in the last axis, a-major)."""
    cin, cout = kernel.shape[2:]
    zero = jnp.zeros((cin, cout), kernel.dtype)
    rows = []
    for dy in range(3):
        cols = []
        for dx in range(3):
            phases = []
            for a in range(2):
                for b in range(2):
                    ty, tx = phase_taps[a][dy], phase_taps[b][dx]
                    phases.append(zero if ty is None or tx is None else kernel[ty, tx])
            cols.append(jnp.concatenate(phases, axis=-1))
        rows.append(jnp.stack(cols))
    return jnp.stack(rows)


def subpixel_conv_transpose(x, kernel, phase_taps):
    """x [B, H, W, cin] -> [B, 2H, 2W, cout]: the stride-2 transposed convolution of `kernel`
    as one stride-1 3 x 3 convolution to 4 x cout channels and a depth-to-space."""
    cout = kernel.shape[-1]
    y = jax.lax.conv_general_dilated(x, subpixel_kernel(kernel, phase_taps).astype(x.dtype), (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    b, h, w = x.shape[:3]
    return y.reshape(b, h, w, 2, 2, cout).transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, cout)


def phase_conv_transpose(x, kernel, phase_taps):
    """The same function as `subpixel_conv_transpose`, one stride-1 convolution per output
    phase with only that phase's taps (2 x 2 of a 4 x 4 kernel), then the interleave.

    For the 4 x 4 kernel the sub-pixel kernel is 3 x 3 with 5 of 9 taps zero in every phase,
    so this form does 16 / 36 of its multiply-adds; on XLA:CPU its gradient runs 1.0-2.0 x
    faster per layer (benchmarks/conv_transpose_forms.py). A kernel whose phases use every
    offset (6 x 6) gains nothing from it.
    """
    b, h, w, _ = x.shape
    cout = kernel.shape[-1]
    phases = []
    for a in range(2):
        rows = [d for d in range(3) if phase_taps[a][d] is not None]
        for c in range(2):
            cols = [d for d in range(3) if phase_taps[c][d] is not None]
            k = kernel[jnp.asarray([phase_taps[a][d] for d in rows])][:, jnp.asarray([phase_taps[c][d] for d in cols])]
            # Offsets d - 1 in {-1, 0, +1}: pad so output (i, j) reads inputs i + rows[0] - 1 ...
            padding = ((1 - rows[0], rows[-1] - 1), (1 - cols[0], cols[-1] - 1))
            phases.append(jax.lax.conv_general_dilated(x, k.astype(x.dtype), (1, 1), padding,
                                                       dimension_numbers=("NHWC", "HWIO", "NHWC")))
    y = jnp.stack(phases, axis=3).reshape(b, h, w, 2, 2, cout)  # phases (a, c), a-major
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, cout)


class ConvTranspose4x4(nn.Module):
    """A 4x4, stride-2, padding-1 transposed convolution (doubles H and W), NHWC.

    The same function as `nn.ConvTranspose(features, (4, 4), (2, 2), padding=((2, 2), (2, 2)))`
    with the same [4, 4, cin, cout] kernel (PyTorch's ConvTranspose2d(4, 2, 1) with the
    kernel flipped), computed per output phase: four stride-1 2x2 convolutions (each
    phase's taps, `phase_conv_transpose`) interleaved into the doubled image. XLA:CPU
    runs the input-dilated convolution of `conv_transpose` (and its gradient) many times
    slower than a plain convolution, and the one-convolution sub-pixel form
    (`subpixel_conv_transpose`) multiplies 20 of its 36 taps by zero; the results agree
    to float rounding.
    """

    features: int
    use_bias: bool = True

    @nn.compact
    def __call__(self, x):
        cin = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (4, 4, cin, self.features))
        y = phase_conv_transpose(x, kernel, PHASE_TAPS_4X4)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y


def num_upsampling_layers(output_size: int, start_size: int = 4) -> int:
    """n such that start_size * 2^n == output_size; a clear ValueError otherwise."""
    size = int(output_size)
    n = 0
    while size > start_size and size % 2 == 0:
        size //= 2
        n += 1
    if size != start_size or n < 1:
        raise ValueError(
            f"the transposed-convolution decoders start from {start_size}x{start_size} and double the side per "
            f"layer, so the output size must be {start_size} * 2^n (e.g. 64, 128 or 256); got {output_size}")
    return n


class UpsamplingDecoder(nn.Module):
    """z [batch, latent] -> [batch, size, size, out_channels] through 4x4 stride-2 ConvTs.

    Dense(start_channels * 16) + BN + ReLU, reshape to 4x4, then n - 1 ConvT + BN + ReLU
    layers halving the channels (at least `min_channels`), and a final ConvT to
    `out_channels` without normalisation or activation.
    """

    output_size: int
    out_channels: int
    start_channels: int = 256
    min_channels: int = 8

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        n = num_upsampling_layers(self.output_size)
        h = nn.Dense(self.start_channels * 16, name="fc")(z)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, name="fc_bn")(h))
        h = h.reshape(z.shape[0], 4, 4, self.start_channels)  # NHWC; the paper's (256, 4, 4) in NCHW
        channels = self.start_channels
        for i in range(n - 1):
            channels = max(channels // 2, self.min_channels)
            h = ConvTranspose4x4(channels, use_bias=False, name=f"convt{i + 1}")(h)
            h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, name=f"bn{i + 1}")(h))
        return ConvTranspose4x4(self.out_channels, name="out")(h)


class ImageDecoder(nn.Module):
    """p(image | z), Spurr Table 4: [batch, size, size, 3] (RGB) or [batch, size, size] (depth, channels=1)."""

    image_size: int = 64
    channels: int = 3
    start_channels: int = 256  # the paper's; smaller only for tests and tiny CPU runs

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        out = UpsamplingDecoder(self.image_size, self.channels, self.start_channels, name="body")(z, train=train)
        return jnp.squeeze(out, -1) if self.channels == 1 else out
