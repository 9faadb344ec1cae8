"""Convolutions and max-pooling written over shifted slices (im2col), for XLA's CPU backend.

`conv_as_matmul(x, kernel, stride, padding)` equals `lax.conv_general_dilated` on NHWC
inputs and HWIO kernels (exactly in float64; in float32 up to the order of the sums):
the padded input's kh * kw strided slices are concatenated along the channels,
[B, H', W', kh * kw * C], and multiplied by the kernel reshaped to [kh * kw * C, O]. Its
backward pass is a matmul for each operand and a pad / add for the slices, where XLA's CPU
convolution gradients run as (slower) convolutions of their own. It costs kh * kw times
the input's memory for the patches, so it is for CPU training, where memory is plenty and
convolutions are the bottleneck (benchmarks/conv_lowering.py measures both per layer and
for a ResNet-18 trunk); on GPU / TPU keep XLA's convolution (cuDNN / the MXU).

`max_pool_as_slices(x, window, stride, padding)` is the max over the same slices, equal to
`flax.linen.max_pool` (reduce_window): its backward pass is elementwise selects and a pad /
add instead of XLA's select-and-scatter, 3.1 x faster for the ResNet stem's 3 x 3 / 2 pool at
128 px on this CPU (200 against 66 ms forward + backward, batch 32, 64 channels). Gradients
differ only where two positive inputs of a window tie (reduce_window routes the gradient to
the first, jnp.maximum splits it); after a ReLU, ties at zero carry no gradient either way.

`Im2colConv` stands in for the `flax.linen.Conv` calls of `jaxhands.models.resnet`
(square kernel, symmetric integer padding, no bias) with flax's parameter ("kernel", HWIO,
LeCun-normal): the same initial values from the same key, and checkpoints move between the
two lowerings (`ResNet.lowering`, `config.resnet_lowering`).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

# How one convolution (or pool) is computed. "xla": lax.conv_general_dilated
# (flax.linen.Conv) and reduce_window max-pooling; "im2col": conv_as_matmul and
# max_pool_as_slices.
CONV_LOWERINGS = ("xla", "im2col")
# A ResNet's choice (ResNet.lowering): one of the above for every layer, or "im2col_body":
# im2col but the stem's convolution XLA's (its patches are kh * kw * 3 wide: at 64 px and
# width 16 the im2col stem takes 2 x XLA's time, at 128 px and width 64 0.74 x;
# conv_lowering_*px.json).
LOWERINGS = CONV_LOWERINGS + ("im2col_body",)


def _shifted_slices(x: jax.Array, window: int, stride: int, out_h: int, out_w: int):
    """The window * window strided views of padded x [B, H, W, C], each [B, out_h, out_w, C],
    in (row, column) order."""
    return [x[:, i:i + stride * (out_h - 1) + 1:stride, j:j + stride * (out_w - 1) + 1:stride, :]
            for i in range(window) for j in range(window)]


def max_pool_as_slices(x: jax.Array, window: int, stride: int, padding: int) -> jax.Array:
    """window x window max-pool of NHWC x with `stride` and symmetric `padding` (padded with
    -inf, as flax.linen.max_pool): [B, H', W', C], H' = (H + 2 padding - window) // stride + 1."""
    if x.ndim != 4:
        raise ValueError(f"max_pool_as_slices: expected x [B, H, W, C], got {x.shape}")
    out_h = (x.shape[1] + 2 * padding - window) // stride + 1
    out_w = (x.shape[2] + 2 * padding - window) // stride + 1
    if padding:
        x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)), constant_values=-jnp.inf)
    slices = _shifted_slices(x, window, stride, out_h, out_w)
    out = slices[0]
    for s in slices[1:]:
        out = jnp.maximum(out, s)
    return out


def conv_as_matmul(x: jax.Array, kernel: jax.Array, stride: int, padding: int) -> jax.Array:
    """NHWC x [B, H, W, C] * HWIO kernel [kh, kw, C, O] -> [B, H', W', O], stride and
    symmetric zero padding in pixels, H' = (H + 2 padding - kh) // stride + 1."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[-1] != kernel.shape[2]:
        raise ValueError(f"conv_as_matmul: expected x [B, H, W, C] and kernel [kh, kw, C, O] with equal C, "
                         f"got {x.shape} and {kernel.shape}")
    kh, kw, cin, cout = kernel.shape
    if kh != kw:
        raise ValueError(f"conv_as_matmul: square kernels only, got {kh} x {kw}")
    b, h, w, _ = x.shape
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    if padding:
        x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    slices = _shifted_slices(x, kh, stride, out_h, out_w)
    patches = slices[0] if len(slices) == 1 else jnp.concatenate(slices, axis=-1)  # (i, j, c) order = HWIO's
    out = patches.reshape(-1, kh * kw * cin) @ kernel.reshape(kh * kw * cin, cout)
    return out.reshape(b, out_h, out_w, cout)


class Im2colConv(nn.Module):
    """features x (k, k) convolution, `strides`, symmetric `padding` pixels, no bias, as
    `conv_as_matmul`; the parameter is flax.linen.Conv's."""

    features: int
    kernel_size: int
    strides: int = 1
    padding: int = 0

    @nn.compact
    def __call__(self, x):
        k = self.kernel_size
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, x.shape[-1], self.features))
        return conv_as_matmul(x, jnp.asarray(kernel, x.dtype), self.strides, self.padding)
