"""Chamfer distance (Yang et al. Eq. 8): brute force, masks, chunking, gradients, memory."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxhands.losses.point_cloud import chamfer_distance

# One compilation per option set instead of op-by-op dispatch (much faster on a busy CPU).
jit_chamfer = jax.jit(chamfer_distance, static_argnames=(
    "squared", "point_reduction", "batch_reduction", "direction", "chunk_size"))


def brute_force_chamfer(x, y, x_mask, y_mask, squared, point_reduction, batch_reduction, direction):
    """Python loops over float64 points, straight from the definition."""
    per_pair = []
    for b in range(x.shape[0]):
        xs = [np.float64(p) for p, keep in zip(x[b], x_mask[b]) if keep]
        ys = [np.float64(p) for p, keep in zip(y[b], y_mask[b]) if keep]

        def term(queries, targets):
            nearest = []
            for q in queries:
                best = min(float(np.sum((q - t) ** 2)) for t in targets)
                nearest.append(best if squared else np.sqrt(best))
            return np.mean(nearest) if point_reduction == "mean" else np.sum(nearest)

        total = 0.0
        if direction in ("both", "x_to_y"):
            total += term(xs, ys)
        if direction in ("both", "y_to_x"):
            total += term(ys, xs)
        per_pair.append(total)
    per_pair = np.array(per_pair)
    return {"mean": per_pair.mean(), "sum": per_pair.sum(), "none": per_pair}[batch_reduction]


def random_clouds(seed, batch=3, n=7, m=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, n, 3)).astype(np.float32), rng.normal(size=(batch, m, 3)).astype(np.float32)


def test_eq8_hand_computed():
    # x = {origin}; y = {(3, 4, 0), (0, 0, 1)}: x->y = min(5, 1) = 1; y->x = mean(5, 1) = 3.
    x = np.zeros((1, 1, 3), np.float32)
    y = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]], np.float32)
    assert float(jit_chamfer(x, y)) == pytest.approx(4.0)
    assert float(jit_chamfer(x, y, squared=True)) == pytest.approx(1.0 + (25.0 + 1.0) / 2)
    assert float(jit_chamfer(x, y, point_reduction="sum")) == pytest.approx(1.0 + 6.0)
    assert float(jit_chamfer(x, y, direction="y_to_x")) == pytest.approx(3.0)


@pytest.mark.parametrize("squared,point_reduction,direction", list(itertools.product(
    [False, True], ["mean", "sum"], ["both", "x_to_y", "y_to_x"])))
def test_matches_brute_force_unmasked(squared, point_reduction, direction):
    x, y = random_clouds(0)
    ones_x, ones_y = np.ones(x.shape[:2], bool), np.ones(y.shape[:2], bool)
    got = jit_chamfer(x, y, squared=squared, point_reduction=point_reduction, batch_reduction="none",
                      direction=direction)
    want = brute_force_chamfer(x, y, ones_x, ones_y, squared, point_reduction, "none", direction)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_reduction", ["mean", "sum"])
def test_batch_reductions_match_brute_force(batch_reduction):
    x, y = random_clouds(9)
    ones_x, ones_y = np.ones(x.shape[:2], bool), np.ones(y.shape[:2], bool)
    got = jit_chamfer(x, y, batch_reduction=batch_reduction)
    want = brute_force_chamfer(x, y, ones_x, ones_y, False, "mean", batch_reduction, "both")
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


@pytest.mark.parametrize("squared,point_reduction", list(itertools.product([False, True], ["mean", "sum"])))
def test_matches_brute_force_masked(squared, point_reduction):
    x, y = random_clouds(1, batch=4, n=8, m=6)
    rng = np.random.default_rng(2)
    x_mask, y_mask = rng.random(x.shape[:2]) < 0.6, rng.random(y.shape[:2]) < 0.6
    x_mask[:, 0] = y_mask[:, -1] = True  # every cloud keeps at least one point
    x_mask[0], y_mask[1] = True, True    # and one unpadded cloud on each side
    # Padding far away: it would dominate both directions if it were not masked out.
    x_padded = np.where(x_mask[..., None], x, 100.0).astype(np.float32)
    y_padded = np.where(y_mask[..., None], y, -100.0).astype(np.float32)
    got = jit_chamfer(x_padded, y_padded, x_mask=x_mask, y_mask=y_mask, squared=squared,
                      point_reduction=point_reduction, batch_reduction="none")
    want = brute_force_chamfer(x, y, x_mask, y_mask, squared, point_reduction, "none", "both")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunk_size", [1, 4])
def test_chunked_equals_dense(chunk_size):
    x, y = random_clouds(3, batch=2, n=11, m=9)
    x_mask = np.ones(x.shape[:2], bool)
    x_mask[1, 4:] = False

    @jax.jit
    def loss_and_grads(x, y):
        def loss(x, y, chunk):
            return chamfer_distance(x, y, x_mask=x_mask, batch_reduction="none", chunk_size=chunk)

        return [(loss(x, y, chunk), jax.grad(lambda a, b: loss(a, b, chunk).sum(), argnums=(0, 1))(x, y))
                for chunk in (16, chunk_size)]

    (dense, grad_dense), (chunked, grad_chunked) = loss_and_grads(x, y)
    np.testing.assert_allclose(np.asarray(chunked), np.asarray(dense), rtol=1e-6)
    for d, c in zip(grad_dense, grad_chunked):
        np.testing.assert_allclose(np.asarray(c), np.asarray(d), rtol=1e-6, atol=1e-7)


def test_chunked_path_memory_is_linear_at_16k_points():
    """16384 x 16384 per pair: the automatic chunking keeps temporaries far below the
    1 GiB a dense float32 distance matrix needs (compiled, not run: checks XLA's buffer plan)."""
    cloud = jax.ShapeDtypeStruct((1, 16384, 3), jnp.float32)
    for fn in (chamfer_distance, jax.grad(chamfer_distance)):
        compiled = jax.jit(fn).lower(cloud, cloud).compile()
        assert compiled.memory_analysis().temp_size_in_bytes < 64 * 2**20
    dense = jax.jit(lambda a, b: chamfer_distance(a, b, chunk_size=16384)).lower(cloud, cloud).compile()
    assert dense.memory_analysis().temp_size_in_bytes > 2**30  # the same check sees a dense matrix


def test_gradient_is_the_nearest_neighbour_gradient():
    x, y = random_clouds(4, batch=1, n=4, m=3)
    grad_x = np.asarray(jax.jit(jax.grad(chamfer_distance))(x, y))[0]
    # d/dx_i: from x_i's own term (1/N) and from every y_j whose nearest x is x_i (1/M).
    want = np.zeros((4, 3))
    for i in range(4):
        j = np.argmin(np.linalg.norm(x[0, i] - y[0], axis=1))
        want[i] += (x[0, i] - y[0, j]) / np.linalg.norm(x[0, i] - y[0, j]) / 4
    for j in range(3):
        i = np.argmin(np.linalg.norm(y[0, j] - x[0], axis=1))
        want[i] += (x[0, i] - y[0, j]) / np.linalg.norm(x[0, i] - y[0, j]) / 3
    np.testing.assert_allclose(grad_x, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("squared", [False, True])
def test_check_grads_numerically(squared):
    x, y = random_clouds(5, batch=2, n=5, m=4)
    with jax.enable_x64(True):
        x64, y64 = np.float64(x), np.float64(y)
        check_grads(jax.jit(lambda a, b: chamfer_distance(a, b, squared=squared, chunk_size=2)), (x64, y64),
                    order=1, modes=("fwd", "rev"), eps=1e-6)


def test_coincident_points_give_zero_and_finite_gradient():
    x, _ = random_clouds(6)
    value, grad = jax.jit(jax.value_and_grad(chamfer_distance))(x, x[:, ::-1])
    assert float(value) == 0.0
    assert np.all(np.isfinite(np.asarray(grad)))


def test_jit_with_traced_masks_and_empty_cloud_is_nan():
    x, y = random_clouds(7, batch=2)
    x_mask = np.ones(x.shape[:2], bool)
    y_mask = np.ones(y.shape[:2], bool)
    y_mask[1] = False
    per_pair = jax.jit(lambda m, n: chamfer_distance(x, y, x_mask=m, y_mask=n, batch_reduction="none"))(
        x_mask, y_mask)
    assert np.isfinite(per_pair[0]) and np.isnan(per_pair[1])


def test_bad_input_raises():
    x, y = random_clouds(8)
    with pytest.raises(ValueError, match="batch of point clouds"):
        chamfer_distance(x[0], y[0])
    with pytest.raises(ValueError, match="batch"):
        chamfer_distance(x, y[:1])
    with pytest.raises(ValueError, match="no valid point"):
        chamfer_distance(x, y, y_mask=np.zeros(y.shape[:2], bool))
    with pytest.raises(ValueError, match="bool padding mask"):
        chamfer_distance(x, y, x_mask=np.ones(x.shape[:2], np.float32))
    with pytest.raises(ValueError, match="padding mask"):
        chamfer_distance(x, y, x_mask=np.ones(x.shape[:1], bool))
    with pytest.raises(ValueError, match="point_reduction"):
        chamfer_distance(x, y, point_reduction="max")
    with pytest.raises(ValueError, match="chunk_size"):
        chamfer_distance(x, y, chunk_size=0)
    x[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        chamfer_distance(x, y)
