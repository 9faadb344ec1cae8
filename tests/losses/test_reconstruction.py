import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxhands.losses import reconstruction as rec


def test_squared_error_hand_computed_and_reductions():
    pred = jnp.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 3.0]]])
    target = jnp.zeros_like(pred)
    np.testing.assert_allclose(rec.squared_error(pred, target, reduction="none"), [1.0, 9.0])
    assert float(rec.squared_error(pred, target)) == 5.0
    assert float(rec.squared_error(pred, target, reduction="sum")) == 10.0
    # Sample mask: the masked sample neither counts nor dilutes the mean.
    assert float(rec.squared_error(pred, target, mask=jnp.array([0.0, 1.0]))) == 9.0
    # Joint mask [batch, joints].
    np.testing.assert_allclose(rec.squared_error(pred, target, mask=jnp.array([[0, 1], [1, 1]]), reduction="none"),
                               [0.0, 9.0])


def test_mean_joint_error_hand_computed():
    pred = jnp.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]])
    target = jnp.zeros_like(pred)
    np.testing.assert_allclose(rec.mean_joint_error(pred, target), 2.5)
    np.testing.assert_allclose(rec.mean_joint_error(pred, target, mask=jnp.array([[1, 0]])), 5.0)
    check_grads(lambda p: rec.mean_joint_error(p, target), (pred + 0.1,), order=1, modes=["rev"], eps=1e-3)


def test_bce_matches_formula():
    logits = jnp.array([[2.0, -1.0]])
    target = jnp.array([[1.0, 0.0]])
    expected = -np.log(1 / (1 + np.exp(-2.0))) - np.log(1 - 1 / (1 + np.exp(1.0)))
    np.testing.assert_allclose(rec.binary_cross_entropy_with_logits(logits, target), expected, rtol=1e-6)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ"):
        rec.squared_error(jnp.zeros((2, 21, 3)), jnp.zeros((2, 20, 3)))
    with pytest.raises(ValueError, match="mask shape"):
        rec.squared_error(jnp.zeros((2, 21, 3)), jnp.zeros((2, 21, 3)), mask=jnp.zeros((3,)))
