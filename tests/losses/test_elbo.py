import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxhands.losses import elbo

jax.config.update("jax_enable_x64", False)


def test_kl_to_standard_normal_hand_computed():
    mu = jnp.array([[0.5, -1.0]])
    logvar = jnp.array([[0.2, -0.3]])
    expected = sum(-0.5 * (1 + lv - m**2 - np.exp(lv)) for m, lv in [(0.5, 0.2), (-1.0, -0.3)])
    np.testing.assert_allclose(elbo.kl_to_standard_normal(mu, logvar), [expected], rtol=1e-6)
    assert float(elbo.kl_to_standard_normal(jnp.zeros((3, 4)), jnp.zeros((3, 4)), reduction="sum")) == 0.0


def test_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu_q, lv_q, mu_p, lv_p = (jnp.asarray(rng.normal(size=3) * 0.5, jnp.float32) for _ in range(4))
    z = mu_q + jnp.exp(0.5 * lv_q) * jax.random.normal(jax.random.key(0), (400000, 3))
    log_q = -elbo.gaussian_nll(z, mu_q, lv_q)
    log_p = -elbo.gaussian_nll(z, mu_p, lv_p)
    mc = float(jnp.mean(log_q - log_p))
    np.testing.assert_allclose(float(elbo.kl_diagonal_gaussians(mu_q, lv_q, mu_p, lv_p)), mc, atol=0.01)


def test_kl_between_gaussians_reduces_to_standard_normal_and_is_zero_for_equal():
    mu = jnp.array([[0.3, -0.7, 1.2]])
    lv = jnp.array([[0.1, 0.5, -1.0]])
    np.testing.assert_allclose(elbo.kl_diagonal_gaussians(mu, lv, jnp.zeros_like(mu), jnp.zeros_like(lv)),
                               elbo.kl_to_standard_normal(mu, lv), rtol=1e-6)
    np.testing.assert_allclose(elbo.kl_diagonal_gaussians(mu, lv, mu, lv), [0.0], atol=1e-7)


def test_product_of_experts_closed_form():
    # Two 1-D experts N(1, 1) and N(3, 1/2) with the N(0, 1) prior: precisions 1 + 2 + 1 = 4,
    # mean (1*1 + 3*2 + 0*1) / 4 = 7/4, variance 1/4.
    mus = [jnp.array([[1.0]]), jnp.array([[3.0]])]
    logvars = [jnp.array([[0.0]]), jnp.log(jnp.array([[0.5]]))]
    mu, logvar = elbo.product_of_gaussian_experts(mus, logvars)
    np.testing.assert_allclose(mu, [[1.75]], rtol=1e-6)
    np.testing.assert_allclose(jnp.exp(logvar), [[0.25]], rtol=1e-6)
    mu, logvar = elbo.product_of_gaussian_experts(mus, logvars, include_prior=False)
    np.testing.assert_allclose(mu, [[7.0 / 3.0]], rtol=1e-6)
    np.testing.assert_allclose(jnp.exp(logvar), [[1.0 / 3.0]], rtol=1e-6)


def test_product_of_experts_mask_drops_missing_expert():
    mus = jnp.array([[[1.0], [1.0]], [[3.0], [3.0]]])  # [experts=2, batch=2, D=1]
    logvars = jnp.zeros_like(mus)
    masks = jnp.array([[True, True], [True, False]])
    mu, logvar = elbo.product_of_gaussian_experts(mus, logvars, masks=masks)
    np.testing.assert_allclose(mu[:, 0], [4.0 / 3.0, 0.5], rtol=1e-6)  # sample 1: prior + expert 1 only
    np.testing.assert_allclose(jnp.exp(-logvar[:, 0]), [3.0, 2.0], rtol=1e-6)


def test_reparameterize_moments_and_gradients():
    mu = jnp.array([1.0, -2.0])
    logvar = jnp.log(jnp.array([0.25, 4.0]))
    z = jax.vmap(lambda k: elbo.reparameterize(k, mu, logvar))(jax.random.split(jax.random.key(1), 200000))
    np.testing.assert_allclose(z.mean(0), mu, atol=0.02)
    np.testing.assert_allclose(z.var(0), [0.25, 4.0], rtol=0.02)
    g = jax.grad(lambda m: elbo.reparameterize(jax.random.key(2), m, logvar).sum())(mu)
    np.testing.assert_allclose(g, [1.0, 1.0])


def test_gradients_numerically():
    mu = jnp.array([[0.3, -0.2]], jnp.float32)
    lv = jnp.array([[0.1, -0.4]], jnp.float32)
    check_grads(lambda m, v: elbo.kl_to_standard_normal(m, v, reduction="sum"), (mu, lv), order=1,
                modes=["rev"], eps=1e-2, atol=1e-2, rtol=1e-2)
    check_grads(lambda m, v: elbo.kl_diagonal_gaussians(m, v, m * 0.5 + 0.1, v - 0.2, reduction="sum"),
                (mu, lv), order=1, modes=["rev"], eps=1e-2, atol=1e-2, rtol=1e-2)
    check_grads(lambda m, v: sum(jnp.sum(x) for x in elbo.product_of_gaussian_experts([m, m + 1], [v, v * 2])),
                (mu, lv), order=1, modes=["rev"], eps=1e-2, atol=1e-2, rtol=1e-2)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="same shape"):
        elbo.kl_to_standard_normal(jnp.zeros((2, 3)), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="reduction"):
        elbo.kl_to_standard_normal(jnp.zeros((2, 3)), jnp.zeros((2, 3)), reduction="avg")


def test_per_sample_noise_does_not_depend_on_the_batch_split():
    mu = jnp.zeros((6, 3))
    lv = jnp.zeros((6, 3))
    ids = jnp.arange(100, 106)
    full = elbo.reparameterize(jax.random.key(0), mu, lv, sample_ids=ids)
    halves = jnp.concatenate([elbo.reparameterize(jax.random.key(0), mu[:3], lv[:3], sample_ids=ids[:3]),
                              elbo.reparameterize(jax.random.key(0), mu[3:], lv[3:], sample_ids=ids[3:])])
    np.testing.assert_array_equal(full, halves)
    assert len(np.unique(np.asarray(full[:, 0]))) == 6  # different samples, different noise
