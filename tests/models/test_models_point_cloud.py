"""ResPEL encoder and FoldingNet decoder (Yang et al. 2019, Sec. 4.2)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxhands.losses.point_cloud import chamfer_distance
from jaxhands.models.point_cloud import FoldingNetDecoder, ResPELEncoder, folding_grid


def random_clouds(batch, n, seed=0):
    rng = np.random.default_rng(seed)
    # Anisotropic blobs of different shapes, so the clouds differ from each other.
    scales = rng.uniform(0.2, 1.0, (batch, 1, 3))
    return jnp.asarray(rng.normal(0, 1, (batch, n, 3)) * scales, jnp.float32)


def test_respel_latent_is_permutation_invariant():
    clouds = random_clouds(3, 20)
    encoder = ResPELEncoder(latent_dim=8, width=16, num_blocks=2)
    params = encoder.init(jax.random.key(0), clouds, jnp.array([0, 1, 0]))
    mu, logvar = encoder.apply(params, clouds, jnp.array([0, 1, 0]))
    perm = np.random.default_rng(1).permutation(20)
    mu_p, logvar_p = encoder.apply(params, clouds[:, perm], jnp.array([0, 1, 0]))
    np.testing.assert_allclose(mu_p, mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar_p, logvar, rtol=1e-5, atol=1e-6)
    # ... but not blind to the points: another cloud (or a moved point) changes the latent.
    moved = clouds.at[:, 0].add(0.5)
    assert float(jnp.max(jnp.abs(encoder.apply(params, moved, jnp.array([0, 1, 0]))[0] - mu))) > 1e-3
    # and the hand-side flag enters the head
    assert float(jnp.max(jnp.abs(encoder.apply(params, clouds, jnp.array([1, 0, 1]))[0] - mu))) > 1e-4


def test_respel_rejects_non_clouds():
    encoder = ResPELEncoder(latent_dim=4, width=8, num_blocks=1)
    with pytest.raises(ValueError, match=r"\[batch, N, 3\]"):
        encoder.init(jax.random.key(0), jnp.zeros((2, 5, 2)))


def test_folding_grid_values():
    grid = folding_grid(256)
    assert grid.shape == (256, 2)
    assert len(np.unique(grid[:, 0])) == 16 and len(np.unique(grid[:, 1])) == 16
    np.testing.assert_allclose(grid.min(0), [-1, -1])
    np.testing.assert_allclose(grid.max(0), [1, 1])
    assert folding_grid(12).shape == (12, 2) and len(np.unique(folding_grid(12)[:, 1])) == 3  # 3 x 4
    with pytest.raises(ValueError):
        folding_grid(0)


def test_foldingnet_output_shape_and_dependence_on_z():
    decoder = FoldingNetDecoder(num_points=24, width=16)
    z = jax.random.normal(jax.random.key(0), (2, 8))
    params = decoder.init(jax.random.key(1), z)
    out = decoder.apply(params, z)
    assert out.shape == (2, 24, 3)
    assert float(jnp.max(jnp.abs(out[0] - out[1]))) > 1e-4  # the codeword shapes the fold
    assert float(jnp.min(jnp.std(out, axis=1))) > 0  # grid points fold to distinct places


def test_cloud_autoencoding_lowers_chamfer():
    """C -> C: 150 Adam steps of ResPEL -> FoldingNet (posterior mean) halve the Chamfer distance."""
    clouds = random_clouds(8, 32, seed=2)
    encoder = ResPELEncoder(latent_dim=8, width=32, num_blocks=1)
    decoder = FoldingNetDecoder(num_points=32, width=32)
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"enc": encoder.init(k1, clouds), "dec": decoder.init(k2, jnp.zeros((8, 8)))}

    def loss_fn(p):
        mu, _ = encoder.apply(p["enc"], clouds)
        return chamfer_distance(decoder.apply(p["dec"], mu), clouds)

    tx = optax.adam(5e-3)

    @jax.jit
    def step(p, opt):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, opt = tx.update(grads, opt, p)
        return optax.apply_updates(p, updates), opt, loss

    opt = tx.init(params)
    first = float(loss_fn(params))
    for _ in range(150):
        params, opt, _ = step(params, opt)
    last = float(loss_fn(params))
    assert last < 0.5 * first, (first, last)
