"""Fully connected encoders and decoders for keypoint modalities (Spurr et al., Table 3).

Table 3 of Spurr et al. uses the same stack for the 2D-keypoint and 3D-joint encoders
and decoders: Linear(512)+ReLU layers followed by a final Linear. Here `num_layers`
hidden Linear(width)+ReLU layers are followed by the output layer: the encoder's
output is the latent Gaussian's (mu, logvar) head, the decoder's is the modality.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

# Initialisers of the hidden ReLU layers. Flax's default, LeCun normal (variance 1 / fan_in),
# halves the signal's variance at every ReLU layer: through the default six hidden layers the
# output starts 8x smaller than the input and an image -> 3D decoder stays near the mean pose for
# ~1500 steps (issue 25). He normal (variance 2 / fan_in) keeps the variance through ReLUs.
HIDDEN_INITS = {"lecun_normal": nn.initializers.lecun_normal, "he_normal": nn.initializers.he_normal}


def hidden_init(name: str):
    """The initialiser named `name` (one of HIDDEN_INITS); ValueError naming the choices."""
    if name not in HIDDEN_INITS:
        raise ValueError(f"mlp_kernel_init: expected one of {sorted(HIDDEN_INITS)}, got {name!r}")
    return HIDDEN_INITS[name]()


class MLP(nn.Module):
    """`num_layers` x (Dense(width) + ReLU)."""

    width: int = 512
    num_layers: int = 6
    kernel_init: str = "lecun_normal"  # a HIDDEN_INITS name

    @nn.compact
    def __call__(self, x):
        init = hidden_init(self.kernel_init)
        for i in range(self.num_layers):
            x = nn.relu(nn.Dense(self.width, kernel_init=init, name=f"dense_{i}")(x))
        return x


class GaussianHead(nn.Module):
    """Linear heads for the latent posterior q(z|x): returns (mu, logvar), [batch, latent_dim].

    logvar_init: initial bias of the logvar head. 0 starts every posterior at the prior's
    unit variance; a deep image encoder's initial means barely differ between images
    (spread ~0.3), so z would start as almost pure noise and the decoder learns only the
    mean pose. A negative value (the image configs use -6, sigma ~0.05) starts from
    informative samples; beta's KL term still pulls the variances to where they belong.
    """

    latent_dim: int
    logvar_init: float = 0.0

    @nn.compact
    def __call__(self, h):
        mu = nn.Dense(self.latent_dim, name="mu")(h)
        logvar = nn.Dense(self.latent_dim, name="logvar",
                          bias_init=nn.initializers.constant(self.logvar_init))(h)
        return mu, logvar


class MLPEncoder(nn.Module):
    """q(z | x) for a vector-like modality: flattens x [batch, ...] and returns (mu, logvar).

    `hand_side` ([batch] ints, 0 left / 1 right), when given, is appended as a flag to
    the input: the papers' H invariance ("handedness provided via a boolean flag").
    """

    latent_dim: int = 64
    width: int = 512
    num_layers: int = 6
    logvar_init: float = 0.0  # GaussianHead's: the posterior's initial log-variance
    kernel_init: str = "lecun_normal"  # hidden layers' initialiser, a HIDDEN_INITS name

    @nn.compact
    def __call__(self, x, hand_side=None, *, train: bool = False):
        del train  # no batch statistics here; the argument keeps one encoder interface
        h = x.reshape(x.shape[0], -1)
        if hand_side is not None:
            h = jnp.concatenate([h, jnp.asarray(hand_side, h.dtype).reshape(-1, 1)], axis=-1)
        h = MLP(self.width, self.num_layers, self.kernel_init, name="body")(h)
        return GaussianHead(self.latent_dim, self.logvar_init, name="head")(h)


class MLPDecoder(nn.Module):
    """p(x | z) for a vector-like modality: z [batch, latent] -> [batch, *output_shape]."""

    output_shape: Sequence[int]
    width: int = 512
    num_layers: int = 6
    kernel_init: str = "lecun_normal"  # hidden layers' initialiser, a HIDDEN_INITS name

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        del train
        h = MLP(self.width, self.num_layers, self.kernel_init, name="body")(z)
        size = 1
        for d in self.output_shape:
            size *= d
        out = nn.Dense(size, name="out")(h)
        return out.reshape((z.shape[0],) + tuple(self.output_shape))
