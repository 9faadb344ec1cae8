"""Crossing Nets (Wan et al. 2017) networks: pose VAE, depth generator, multi-task
discriminator (shared trunk; GAN, posterior and smoothness heads) and the latent map Ali.

Sizes follow the released code and weights (spec ../shared/specs/dvae_crossing_nets.md,
B2). Depth maps are NHWC [B, S, S, 1] in [-1, 1] (background +1). Every convolution is
6x6, stride 2, padding 2 (exactly halves the side); every transposed convolution is 6x6,
stride 2, padding (3, 3) on the dilated input (exactly doubles it). The number of stride-2
stages follows the image size S = 4 * 2^n: n = 5 at the paper's 128 px, 4 at 64 px; the
discriminator trunk keeps 2 of them and each head the rest, so every head flattens a
4 x 4 x 32 map to 512 features.

Weight counts (kernels only, the released weights' convention) at 128 px: generator
160,384; trunk + GAN top 149,120; posterior head 122,897; smoothness head 384,512; Ali
529; pose VAE encoder 3J*40 + 1,600, decoder 800 + 40*3J (tests/models/test_models_depth_gan.py).
Initialisation as in the code: weights N(0, 0.05) (Ali 0.02), batch-norm scale N(1, 0.02),
the generator's last bias 0.8 (a mostly-background start); pose VAE weights N(0, 0.01).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxhands.models.image_decoder import PHASE_TAPS_6X6, subpixel_conv_transpose

CHANNELS = 32
LATENT_POSE = 20  # the pose VAE's latent; the shared latent adds the 3-d hand origin
LATENT = 23
HIDDEN_POSE = 40  # the pose VAE's hidden units (the code's 40 PCA components)
BN_MOMENTUM = 0.9  # Lasagne's alpha 0.1

_weights = nn.initializers.normal(0.05)


def _bn_scale(key, shape, dtype=jnp.float32):
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def num_stages(image_size: int) -> int:
    """Stride-2 stages between 4 x 4 and image_size (5 at 128 px, 4 at 64 px)."""
    n = math.log2(image_size / 4)
    if image_size < 16 or n != int(n):
        raise ValueError(f"Crossing Nets needs an image side of 4 * 2^n >= 16 (64 or the paper's 128), got {image_size}")
    return int(n)


def _bn(train: bool, name=None):
    return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, scale_init=_bn_scale, name=name)


class ConvStack(nn.Module):
    """`layers` x [Conv 6x6 stride 2 (no bias) + BN + LeakyReLU(0.2)], `channels` each."""

    layers: int
    channels: int = CHANNELS

    @nn.compact
    def __call__(self, x, *, train: bool):
        for _ in range(self.layers):
            x = nn.Conv(self.channels, (6, 6), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False,
                        kernel_init=_weights)(x)
            x = nn.leaky_relu(_bn(train)(x), 0.2)
        return x


class ConvTranspose6x6(nn.Module):
    """A 6x6, stride-2 transposed convolution with padding (3, 3) on the dilated input (the
    side exactly doubles), NHWC: the same function and [6, 6, cin, cout] kernel as
    `nn.ConvTranspose(features, (6, 6), (2, 2), padding=((3, 3), (3, 3)))`, computed in its
    sub-pixel form (jaxhands.models.image_decoder.subpixel_conv_transpose: every output
    phase uses 3 x 3 of the taps), which XLA:CPU runs several times faster than the
    input-dilated convolution, gradient included (benchmarks/crossing_nets_fps.py)."""

    features: int
    use_bias: bool = False
    kernel_init: nn.initializers.Initializer = _weights
    bias_init: nn.initializers.Initializer = nn.initializers.zeros

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, (6, 6, x.shape[-1], self.features))
        y = subpixel_conv_transpose(x, kernel, PHASE_TAPS_6X6)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,))
        return y


class DepthGenerator(nn.Module):
    """Gen: z [B, 23] -> depth [B, S, S] in [-1, 1]: tanh(z) -> Dense(512) + BN + ReLU ->
    4 x 4 x 32 -> (stages - 1) x [ConvT 32 + BN + ReLU] -> ConvT 1 -> tanh."""

    image_size: int = 128
    channels: int = CHANNELS

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        h = nn.Dense(16 * self.channels, use_bias=False, kernel_init=_weights)(jnp.tanh(z))
        h = nn.relu(_bn(train)(h)).reshape(z.shape[0], 4, 4, self.channels)
        stages = num_stages(self.image_size)
        for i in range(stages - 1):  # named as nn.ConvTranspose layers were: checkpoints unchanged
            h = ConvTranspose6x6(self.channels, name=f"ConvTranspose_{i}")(h)
            h = nn.relu(_bn(train)(h))
        h = ConvTranspose6x6(1, use_bias=True, bias_init=nn.initializers.constant(0.8),
                             name=f"ConvTranspose_{stages - 1}")(h)
        return jnp.tanh(h[..., 0])


def _as_image(depth):
    return depth[..., None] if depth.ndim == 3 else depth


class DiscTrunk(nn.Module):
    """The discriminator's shared first two stages (conv1-2, BN on the first too)."""

    @nn.compact
    def __call__(self, depth, *, train: bool = False):
        return ConvStack(2)(_as_image(depth), train=train)


class DiscTop(nn.Module):
    """GAN head on trunk features: the remaining stages (the last is the feature-matching
    layer, 512 features) -> Dense(1): (real/fake logit [B], features [B, 512])."""

    image_size: int = 128

    @nn.compact
    def __call__(self, h, *, train: bool = False):
        features = ConvStack(num_stages(self.image_size) - 2)(h, train=train).reshape(h.shape[0], -1)
        logit = nn.Dense(1, kernel_init=_weights)(features)[:, 0]
        return logit, features


class PosteriorHead(nn.Module):
    """pos: trunk features -> the shared latent [B, 23] (20 pose + 3 origin): remaining
    stages -> Dense(23) + BN + LeakyReLU(0.2) -> Dense(23)."""

    image_size: int = 128

    @nn.compact
    def __call__(self, h, *, train: bool = False):
        h = ConvStack(num_stages(self.image_size) - 2)(h, train=train).reshape(h.shape[0], -1)
        h = nn.leaky_relu(_bn(train)(nn.Dense(LATENT, use_bias=False, kernel_init=_weights)(h)), 0.2)
        return nn.Dense(LATENT, kernel_init=_weights)(h)


class SmoothHead(nn.Module):
    """The smoothness embedding m(x) [B, 23] (smo(x1, x2) = m(x1) - m(x2)): remaining stages
    -> Dense(512) + BN + LeakyReLU(0.2) -> Dense(23)."""

    image_size: int = 128

    @nn.compact
    def __call__(self, h, *, train: bool = False):
        h = ConvStack(num_stages(self.image_size) - 2)(h, train=train).reshape(h.shape[0], -1)
        h = nn.leaky_relu(_bn(train)(nn.Dense(512, use_bias=False, kernel_init=_weights)(h)), 0.2)
        return nn.Dense(LATENT, kernel_init=_weights)(h)


class Align(nn.Module):
    """Ali: the pose latent [B, 23] -> the GAN latent [B, 23], linear + BN (no nonlinearity:
    the generator's input tanh follows)."""

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        h = nn.Dense(LATENT, use_bias=False, kernel_init=nn.initializers.normal(0.02))(z)
        return _bn(train)(h)


class PoseEncoder(nn.Module):
    """q(z_y | y): y [B, 3J] (root-relative joints / 50 mm) -> Dense(40) + ReLU -> (mu, logvar) [B, 20]."""

    @nn.compact
    def __call__(self, y, *, train: bool = False):
        init = nn.initializers.normal(0.01)
        h = nn.relu(nn.Dense(HIDDEN_POSE, kernel_init=init, name="hidden")(y.reshape(y.shape[0], -1)))
        return nn.Dense(LATENT_POSE, kernel_init=init, name="mu")(h), nn.Dense(LATENT_POSE, kernel_init=init,
                                                                                 name="logvar")(h)


def pca_pose_init(enc_params: dict, dec_params: dict, y) -> tuple[dict, dict]:
    """The released code's pose-VAE initialisation from the training poses y [N, 3J]: the
    encoder's hidden layer projects onto the first 40 principal components (kernel
    [3J, 40] = components, bias = -mean . components, so its pre-activations are the PCA
    coordinates) and the decoder's output layer maps them back (kernel [40, 3J], bias =
    the mean pose). With fewer than 40 components (N or 3J < 40) the remaining units keep
    their random initialisation."""
    import numpy as np

    y = np.asarray(y, np.float64).reshape(len(y), -1)
    mean = y.mean(0)
    _, _, vt = np.linalg.svd(y - mean, full_matrices=False)
    k = min(HIDDEN_POSE, vt.shape[0])
    components = vt[:k]  # [k, 3J], orthonormal rows

    enc_hidden = dict(enc_params["hidden"])
    kernel = np.array(enc_hidden["kernel"], np.float64)
    bias = np.array(enc_hidden["bias"], np.float64)
    kernel[:, :k] = components.T
    bias[:k] = -mean @ components.T
    enc_hidden.update(kernel=jnp.asarray(kernel, jnp.float32), bias=jnp.asarray(bias, jnp.float32))

    dec_out = dict(dec_params["out"])
    kernel = np.array(dec_out["kernel"], np.float64)
    kernel[:k] = components
    dec_out.update(kernel=jnp.asarray(kernel, jnp.float32), bias=jnp.asarray(mean, jnp.float32))
    return {**enc_params, "hidden": enc_hidden}, {**dec_params, "out": dec_out}


class PoseDecoder(nn.Module):
    """p(y | z_y): z [B, 20] -> Dense(40) + LeakyReLU(0.01) -> Dense(3J), linear."""

    num_outputs: int

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        init = nn.initializers.normal(0.01)
        h = nn.leaky_relu(nn.Dense(HIDDEN_POSE, kernel_init=init, name="hidden")(z), 0.01)
        return nn.Dense(self.num_outputs, kernel_init=init, name="out")(h)
