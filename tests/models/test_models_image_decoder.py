"""Spurr Table 4 image decoder: layer count from the image size, the paper's channels at 256,
and the sub-pixel ConvT equal to a brute-force PyTorch ConvTranspose2d(4, 2, 1)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.models.image_decoder import (PHASE_TAPS_4X4, PHASE_TAPS_6X6, ConvTranspose4x4, ImageDecoder,
                                          num_upsampling_layers, phase_conv_transpose, subpixel_conv_transpose)


@pytest.mark.parametrize("size,layers", [(64, 4), (128, 5), (256, 6), (8, 1)])
def test_number_of_upsampling_layers(size, layers):
    assert num_upsampling_layers(size) == layers


@pytest.mark.parametrize("size", [100, 96, 4, 2, 0])
def test_sizes_that_are_not_4_times_a_power_of_two_raise(size):
    with pytest.raises(ValueError, match=r"4 \* 2\^n"):
        num_upsampling_layers(size)


@pytest.mark.parametrize("size,channels", [(64, 3), (128, 3), (256, 3), (64, 1)])
def test_decoder_output_follows_the_configured_size(size, channels):
    decoder = ImageDecoder(image_size=size, channels=channels)
    z = jnp.zeros((2, 8))
    shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), z, train=False))
    out = jax.eval_shape(lambda v: decoder.apply(v, z, train=False), shapes)
    assert out.shape == ((2, size, size, 3) if channels == 3 else (2, size, size))
    body = shapes["params"]["body"]
    assert body["fc"]["kernel"].shape == (8, 4096)  # Linear(4096), reshaped to 256 x 4 x 4
    outs = [body[f"convt{i}"]["kernel"].shape[-1] for i in range(1, num_upsampling_layers(size))]
    if size == 256:
        assert outs == [128, 64, 32, 16, 8]  # Table 4
    assert outs == [256 // 2 ** i for i in range(1, num_upsampling_layers(size))]
    assert body["out"]["kernel"].shape[-1] == channels


def _torch_conv_transpose_4x4_s2_p1(x, weight):
    """PyTorch ConvTranspose2d(k=4, s=2, p=1) by its definition, NHWC, weight [4, 4, cin, cout]:
    out[2i + ky - 1, 2j + kx - 1] += x[i, j] @ weight[ky, kx] (cropped to 2H x 2W)."""
    b, h, w, _ = x.shape
    out = np.zeros((b, 2 * h + 2, 2 * w + 2, weight.shape[-1]))
    for i in range(h):
        for j in range(w):
            for ky in range(4):
                for kx in range(4):
                    out[:, 2 * i + ky, 2 * j + kx] += x[:, i, j] @ weight[ky, kx]
    return out[:, 1:-1, 1:-1]


def test_subpixel_conv_transpose_equals_torch_definition_and_flax():
    x = np.asarray(jax.random.normal(jax.random.key(0), (2, 3, 4, 5)), np.float64)
    layer = ConvTranspose4x4(6)
    variables = layer.init(jax.random.key(1), jnp.asarray(x, jnp.float32))
    variables = {"params": {**variables["params"], "bias": jnp.linspace(-1, 1, 6)}}
    ours = np.asarray(layer.apply(variables, jnp.asarray(x, jnp.float32)))
    kernel = np.asarray(variables["params"]["kernel"], np.float64)
    # Flax/lax conv_transpose does not flip the kernel; PyTorch's weight is its flip.
    torch_like = _torch_conv_transpose_4x4_s2_p1(x, kernel[::-1, ::-1]) + np.linspace(-1, 1, 6)
    np.testing.assert_allclose(ours, torch_like, rtol=1e-5, atol=1e-5)
    flax_ref = nn.ConvTranspose(6, (4, 4), (2, 2), padding=((2, 2), (2, 2))).apply(variables, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(ours, np.asarray(flax_ref), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("taps, size", [(PHASE_TAPS_4X4, 4), (PHASE_TAPS_6X6, 6)])
def test_phase_and_subpixel_forms_agree_in_value_and_gradient(taps, size):
    """Both forms of the stride-2 transposed convolution are one function: values and both
    gradients agree to float rounding (the 4x4 layers use the phase form, the 6x6 the other)."""
    x = jax.random.normal(jax.random.key(0), (2, 3, 5, 4))
    kernel = jax.random.normal(jax.random.key(1), (size, size, 4, 3))
    probe = jax.random.normal(jax.random.key(2), (2, 6, 10, 3))

    def loss(form):
        return lambda x, k: jnp.sum(form(x, k, taps) * probe)
    np.testing.assert_allclose(phase_conv_transpose(x, kernel, taps), subpixel_conv_transpose(x, kernel, taps),
                               rtol=1e-5, atol=1e-5)
    for got, want in zip(jax.grad(loss(phase_conv_transpose), (0, 1))(x, kernel),
                         jax.grad(loss(subpixel_conv_transpose), (0, 1))(x, kernel), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_decoder_batch_norm_updates_only_in_train_mode():
    decoder = ImageDecoder(image_size=8, channels=1)
    z = jax.random.normal(jax.random.key(0), (4, 3))
    variables = decoder.init(jax.random.key(1), z, train=False)
    _, updates = decoder.apply(variables, z, train=True, mutable=["batch_stats"])
    dense = z @ variables["params"]["body"]["fc"]["kernel"] + variables["params"]["body"]["fc"]["bias"]
    np.testing.assert_allclose(updates["batch_stats"]["body"]["fc_bn"]["mean"], 0.1 * jnp.mean(dense, axis=0),
                               rtol=1e-4, atol=1e-6)
    out_a = decoder.apply(variables, z, train=False)
    out_b = decoder.apply(variables, z[:1], train=False)
    np.testing.assert_allclose(out_a[:1], out_b, rtol=1e-4, atol=1e-5)
