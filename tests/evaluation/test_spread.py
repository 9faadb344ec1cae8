"""Prediction spread (the collapse detector) against hand-computed values."""

import jax
import numpy as np
import pytest

from jaxhands.evaluation.spread import batch_spread, spread_ratio


def test_spread_by_hand():
    # Two samples, one joint, 3 units apart: each is 1.5 from the mean.
    x = np.array([[[0.0, 0.0, 0.0]], [[3.0, 0.0, 0.0]]])
    assert float(batch_spread(x)) == pytest.approx(1.5)
    # A third sample masked out does not move the mean or count.
    x3 = np.concatenate([x, [[[100.0, 0.0, 0.0]]]])
    assert float(batch_spread(x3, mask=np.array([1, 1, 0]))) == pytest.approx(1.5)


def test_constant_predictions_have_zero_ratio_and_the_target_has_one():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(16, 21, 3))
    constant = np.broadcast_to(target.mean(0), target.shape)
    assert float(spread_ratio(constant, target)) == pytest.approx(0.0, abs=1e-6)
    assert float(spread_ratio(target, target)) == pytest.approx(1.0)
    # Shrinking every prediction towards the mean by 10x shrinks the ratio 10x.
    shrunk = target.mean(0) + 0.1 * (target - target.mean(0))
    assert float(jax.jit(spread_ratio)(shrunk, target)) == pytest.approx(0.1, rel=1e-5)


def test_spread_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\[batch, joints, dims\]"):
        batch_spread(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="mask must be"):
        batch_spread(np.zeros((4, 21, 3)), mask=np.ones(3))
