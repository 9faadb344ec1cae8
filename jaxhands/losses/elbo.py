"""ELBO pieces for diagonal-Gaussian latents: sampling, KL terms, product of experts.

A diagonal Gaussian is given by (mu, logvar), each [..., latent_dim], with
logvar = log(sigma^2). Functions return per-sample values ([...]: summed over the
latent dimension, since the KL of a factorised Gaussian is the sum of the per-
dimension KLs) unless a `reduction` is given: "none" keeps [...], "mean" averages
and "sum" sums over all leading dims. Units: nats.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxhands.losses.reductions import reduce_samples


def _reduce(value: jax.Array, reduction: str) -> jax.Array:
    return reduce_samples(value, reduction)


def _check_pair(mu, logvar, name: str) -> None:
    if jnp.shape(mu) != jnp.shape(logvar):
        raise ValueError(f"{name}: mu {jnp.shape(mu)} and logvar {jnp.shape(logvar)} must have the same shape")


def reparameterize(rng: jax.Array, mu: jax.Array, logvar: jax.Array, *, sample_ids=None) -> jax.Array:
    """z = mu + sigma * eps, eps ~ N(0, I): a differentiable sample of N(mu, sigma^2).

    With `sample_ids` ([batch] ints, e.g. the records' indices), sample i draws its
    noise from fold_in(rng, sample_ids[i]): the draw then depends on which samples are
    in the batch, not on how the batch is split over devices or processes, so data-
    parallel runs (jit over a mesh, pmap, several hosts) see identical noise.
    """
    _check_pair(mu, logvar, "reparameterize")
    if sample_ids is None:
        eps = jax.random.normal(rng, jnp.shape(mu), dtype=jnp.result_type(mu))
    else:
        shape = jnp.shape(mu)[1:]
        eps = jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(rng, i), shape, dtype=jnp.result_type(mu)))(
            jnp.asarray(sample_ids).reshape(-1))
    return mu + jnp.exp(0.5 * logvar) * eps


def kl_to_standard_normal(mu: jax.Array, logvar: jax.Array, *, reduction: str = "none") -> jax.Array:
    """KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum_d (1 + logvar - mu^2 - sigma^2).

    Spurr et al. Alg. 1's L_KL. Shapes: [..., D] -> [...] (then `reduction`).
    """
    _check_pair(mu, logvar, "kl_to_standard_normal")
    kl = -0.5 * jnp.sum(1.0 + logvar - jnp.square(mu) - jnp.exp(logvar), axis=-1)
    return _reduce(kl, reduction)


def kl_diagonal_gaussians(mu_q, logvar_q, mu_p, logvar_p, *, reduction: str = "none") -> jax.Array:
    """KL(q || p) between diagonal Gaussians q = N(mu_q, s_q^2), p = N(mu_p, s_p^2).

    = 1/2 sum_d [logvar_p - logvar_q + (s_q^2 + (mu_q - mu_p)^2) / s_p^2 - 1].
    Used by Yang et al.'s KL alignment (Eq. 3). Shapes: [..., D] -> [...].
    """
    _check_pair(mu_q, logvar_q, "kl_diagonal_gaussians (q)")
    _check_pair(mu_p, logvar_p, "kl_diagonal_gaussians (p)")
    var_ratio = jnp.exp(logvar_q - logvar_p)
    mean_term = jnp.square(mu_q - mu_p) * jnp.exp(-logvar_p)
    kl = 0.5 * jnp.sum(logvar_p - logvar_q + var_ratio + mean_term - 1.0, axis=-1)
    return _reduce(kl, reduction)


def product_of_gaussian_experts(mus, logvars, *, masks=None, include_prior: bool = True):
    """Product of diagonal Gaussian experts (Yang et al. Eq. 4-6; Wu & Goodman's MVAE).

    The product of N(mu_i, s_i^2) is Gaussian with precision T = sum_i 1/s_i^2 and
    mean (sum_i mu_i / s_i^2) / T. With `include_prior`, the prior expert N(0, I) joins
    the product (as in the MVAE). `mus`, `logvars`: sequences of [..., D] arrays (or
    stacked [E, ..., D]); `masks`: optional [E, ...] booleans (1 = expert present for
    that sample) so samples with a missing modality drop that expert.
    Returns (mu, logvar) of the product, [..., D].
    """
    mus = jnp.stack(list(mus)) if not isinstance(mus, jax.Array) else mus
    logvars = jnp.stack(list(logvars)) if not isinstance(logvars, jax.Array) else logvars
    _check_pair(mus, logvars, "product_of_gaussian_experts")
    precision = jnp.exp(-logvars)
    if masks is not None:
        masks = jnp.asarray(masks, dtype=precision.dtype)
        if masks.shape != mus.shape[:-1]:
            raise ValueError(
                f"product_of_gaussian_experts: masks shape {masks.shape} must be the experts' leading shape {mus.shape[:-1]}")
        precision = precision * masks[..., None]
    total_precision = jnp.sum(precision, axis=0)
    weighted_mean = jnp.sum(mus * precision, axis=0)
    if include_prior:
        total_precision = total_precision + 1.0
    mu = weighted_mean / total_precision
    return mu, -jnp.log(total_precision)


def gaussian_nll(x, mu, logvar, *, reduction: str = "none") -> jax.Array:
    """-log N(x | mu, sigma^2), summed over the last dim: [..., D] -> [...] nats."""
    _check_pair(mu, logvar, "gaussian_nll")
    nll = 0.5 * jnp.sum(jnp.log(2 * jnp.pi) + logvar + jnp.square(x - mu) * jnp.exp(-logvar), axis=-1)
    return _reduce(nll, reduction)
