"""Point-cloud encoder (ResPEL) and decoder (FoldingNet) of Yang et al. ICCV 2019, Sec. 4.2.

ResPEL encoder (Li & Lee, CVPR 2019): a permutation-equivariant layer (PEL, the
max-pooling form of Zaheer et al.'s Deep Sets layer) maps per-point features
h [batch, N, C] to

    PEL(h)_i = h_i Lambda + b - max_j(h_j) Gamma,

so permuting the points permutes the output rows the same way. A residual block is
h + PEL(relu(PEL(relu(h)))) (pre-activation). After the blocks a max over the points
gives a permutation-INVARIANT feature, from which a Gaussian head gives q(z | cloud)
= (mu, logvar). Widths: Yang et al. "use the same number of PEL layers as [Li & Lee]
but halve the number of hidden units". The layer count and width of Li & Lee's
network are not in the texts we have (/work/shared/papers holds only Yang et al.), so
both are fields: `num_blocks` residual blocks (2 PELs each) of `width` units. The
defaults, 3 blocks of 512 units (= half of a 1024-unit ResPEL), are our choice.

FoldingNet decoder (Yang, Feng, Shen & Tian, CVPR 2018): a fixed 2D grid of
`num_points` points in [-1, 1]^2 is concatenated with the codeword z and folded into
3D by a shared per-point MLP, and the result (concatenated with z again) is folded a
second time, giving [batch, num_points, 3]. FoldingNet uses 3-layer perceptrons with
512 hidden units per fold; `width` sets that (default 512).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxhands.models.mlp import GaussianHead


class PermutationEquivariantLayer(nn.Module):
    """PEL(h)_i = h_i Lambda + b - max_j(h_j) Gamma: [batch, N, C] -> [batch, N, features]."""

    features: int

    @nn.compact
    def __call__(self, h):
        pooled = jnp.max(h, axis=1, keepdims=True)
        return nn.Dense(self.features, name="point")(h) - nn.Dense(self.features, use_bias=False, name="pool")(pooled)


class ResidualPEL(nn.Module):
    """h + PEL(relu(PEL(relu(h)))), [batch, N, width] -> same."""

    width: int

    @nn.compact
    def __call__(self, h):
        r = PermutationEquivariantLayer(self.width, name="pel_0")(nn.relu(h))
        r = PermutationEquivariantLayer(self.width, name="pel_1")(nn.relu(r))
        return h + r


class ResPELEncoder(nn.Module):
    """q(z | cloud): [batch, N, 3] points -> (mu, logvar), each [batch, latent_dim].

    Same call signature as MLPEncoder; `hand_side` ([batch] ints), when given, is
    appended to the pooled feature (the H invariance). Invariant to the order of the
    N points (max readout).
    """

    latent_dim: int = 64
    width: int = 512
    num_blocks: int = 3

    @nn.compact
    def __call__(self, points, hand_side=None, *, train: bool = False):
        del train  # no batch statistics
        if points.ndim != 3 or points.shape[-1] != 3:
            raise ValueError(f"ResPELEncoder expects point clouds [batch, N, 3], got shape {points.shape}")
        h = PermutationEquivariantLayer(self.width, name="pel_in")(points)
        for b in range(self.num_blocks):
            h = ResidualPEL(self.width, name=f"block_{b}")(h)
        feature = jnp.max(nn.relu(h), axis=1)
        if hand_side is not None:
            feature = jnp.concatenate([feature, jnp.asarray(hand_side, feature.dtype).reshape(-1, 1)], axis=-1)
        return GaussianHead(self.latent_dim, name="head")(feature)


def folding_grid(num_points: int) -> np.ndarray:
    """[num_points, 2] regular grid in [-1, 1]^2: rows x cols = num_points with rows the
    largest divisor of num_points not above sqrt(num_points) (16 x 16 for 256)."""
    if num_points < 1:
        raise ValueError(f"folding_grid: num_points must be >= 1, got {num_points}")
    rows = max(d for d in range(1, int(math.isqrt(num_points)) + 1) if num_points % d == 0)
    cols = num_points // rows
    u = np.linspace(-1.0, 1.0, cols) if cols > 1 else np.zeros(1)
    v = np.linspace(-1.0, 1.0, rows) if rows > 1 else np.zeros(1)
    uu, vv = np.meshgrid(u, v)
    return np.stack([uu.ravel(), vv.ravel()], -1).astype(np.float32)


class _Fold(nn.Module):
    """Shared per-point MLP: [batch, N, C] -> [batch, N, 3] (two hidden ReLU layers)."""

    width: int

    @nn.compact
    def __call__(self, h):
        h = nn.relu(nn.Dense(self.width, name="dense_0")(h))
        h = nn.relu(nn.Dense(self.width, name="dense_1")(h))
        return nn.Dense(3, name="out")(h)


class FoldingNetDecoder(nn.Module):
    """p(cloud | z): z [batch, latent] -> [batch, num_points, 3] by two folds of a 2D grid."""

    num_points: int = 256
    width: int = 512

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        del train
        grid = jnp.asarray(folding_grid(self.num_points), z.dtype)
        batch = z.shape[0]
        code = jnp.broadcast_to(z[:, None, :], (batch, self.num_points, z.shape[-1]))
        grid = jnp.broadcast_to(grid[None], (batch, self.num_points, 2))
        first = _Fold(self.width, name="fold_1")(jnp.concatenate([code, grid], -1))
        return _Fold(self.width, name="fold_2")(jnp.concatenate([code, first], -1))
