"""The keypoint MLPs' hidden-layer initialisers (issue 25: a deep decoder's slow start)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.models.mlp import MLP, MLPDecoder


def _output_rms(kernel_init: str, num_layers: int = 6, width: int = 512) -> float:
    x = jax.random.normal(jax.random.PRNGKey(0), (256, width))
    model = MLP(width=width, num_layers=num_layers, kernel_init=kernel_init)
    params = model.init(jax.random.PRNGKey(1), x)
    return float(jnp.sqrt(jnp.mean(model.apply(params, x) ** 2)))


def test_he_init_keeps_the_signal_through_six_relu_layers_lecun_shrinks_it():
    # After a ReLU the second moment is half the pre-activation's variance. With
    # Var(W) = g / fan_in, each layer multiplies the mean square by g / 2: He (g = 2) keeps
    # the unit input's at 1, LeCun (g = 1) halves it six times.
    he, lecun = _output_rms("he_normal"), _output_rms("lecun_normal")
    assert he == pytest.approx(1.0, rel=0.1)
    assert lecun == pytest.approx(np.sqrt(0.5 ** 6), rel=0.15)
    assert he / lecun == pytest.approx(8.0, rel=0.2)


def test_decoder_output_layer_is_untouched_by_the_hidden_init():
    z = jnp.zeros((2, 8))
    params = MLPDecoder(output_shape=(21, 3), width=16, num_layers=2, kernel_init="he_normal").init(
        jax.random.PRNGKey(0), z)
    lecun = MLPDecoder(output_shape=(21, 3), width=16, num_layers=2).init(jax.random.PRNGKey(0), z)
    # Same keys: the hidden kernels differ by exactly sqrt(2), the output layer is identical.
    hidden, hidden_lecun = params["params"]["body"]["dense_0"]["kernel"], lecun["params"]["body"]["dense_0"]["kernel"]
    np.testing.assert_allclose(hidden, np.sqrt(2.0) * hidden_lecun, rtol=1e-5)
    np.testing.assert_array_equal(params["params"]["out"]["kernel"], lecun["params"]["out"]["kernel"])


def test_unknown_init_name_is_a_clear_error():
    with pytest.raises(ValueError, match="mlp_kernel_init: expected one of .*he_normal.*got 'xavier'"):
        MLP(width=4, num_layers=1, kernel_init="xavier").init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))
