"""Crossing Nets networks (spec B2 / check C2): the released weight counts per network at
128 px, and every stride-2 stage exactly halving or doubling the side."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.models import depth_gan as dg


def _kernel_count(variables) -> int:
    """Weights the way the released counts count them: kernels only (no biases, no BN)."""
    return sum(int(np.prod(leaf.shape)) for path, leaf in jax.tree_util.tree_leaves_with_path(variables["params"])
               if jax.tree_util.keystr(path).endswith("['kernel']"))


def _init(module, *args):
    return module.init(jax.random.key(0), *args, train=False)


def test_weight_counts_equal_the_released_networks_at_128_px():
    z = jnp.zeros((2, dg.LATENT))
    x = jnp.zeros((2, 128, 128))
    trunk = dg.DiscTrunk()
    h = trunk.apply(_init(trunk, x), x)
    counts = {
        "generator": _kernel_count(_init(dg.DepthGenerator(128), z)),
        "discriminator": _kernel_count(_init(trunk, x)) + _kernel_count(_init(dg.DiscTop(128), h)),
        "posterior": _kernel_count(_init(dg.PosteriorHead(128), h)),
        "smoothness": _kernel_count(_init(dg.SmoothHead(128), h)),
        "align": _kernel_count(_init(dg.Align(), z)),
    }
    assert counts == {"generator": 160_384, "discriminator": 149_120, "posterior": 122_897, "smoothness": 384_512,
                      "align": 529}
    assert _kernel_count(_init(trunk, x)) == 38_016
    j3 = 63  # 21 joints
    assert _kernel_count(_init(dg.PoseEncoder(), jnp.zeros((2, j3)))) == j3 * 40 + 1600
    assert _kernel_count(_init(dg.PoseDecoder(j3), jnp.zeros((2, dg.LATENT_POSE)))) == 800 + 40 * j3


@pytest.mark.parametrize("size", [64, 128])
def test_every_stage_halves_or_doubles_the_side(size):
    z = jnp.zeros((2, dg.LATENT))
    gen = dg.DepthGenerator(size)
    out, state = gen.apply(_init(gen, z), z, capture_intermediates=True, mutable=["intermediates"])
    # Walk the generator's transposed convolutions in order: 4 -> 8 -> ... -> size.
    inter = state["intermediates"]
    convts = sorted((k for k in inter if k.startswith("ConvTranspose_")), key=lambda k: int(k.split("_")[1]))
    assert [inter[k]["__call__"][0].shape[1] for k in convts] == [8 * 2 ** i for i in range(dg.num_stages(size))]
    assert out.shape == (2, size, size) and float(jnp.abs(out).max()) <= 1.0
    x = jnp.zeros((2, size, size))
    trunk = dg.DiscTrunk()
    h, tstate = trunk.apply(_init(trunk, x), x, capture_intermediates=True, mutable=["intermediates"])
    convs = tstate["intermediates"]["ConvStack_0"]
    assert [convs[f"Conv_{i}"]["__call__"][0].shape[1] for i in range(2)] == [size // 2, size // 4]
    top = dg.DiscTop(size)
    logit, features = top.apply(_init(top, h), h)
    assert logit.shape == (2,) and features.shape == (2, 512)


def test_generator_starts_mostly_background_and_sizes_are_checked():
    z = jax.random.uniform(jax.random.key(1), (8, dg.LATENT), minval=-1, maxval=1)
    gen = dg.DepthGenerator(64)
    out = gen.apply(_init(gen, z), z)
    assert float(out.mean()) > 0.4  # last bias 0.8 -> tanh ~0.66 before any training
    with pytest.raises(ValueError, match="4 \\* 2\\^n"):
        dg.num_stages(96)


def test_pca_init_projects_onto_the_principal_components_and_back():
    """The code's PCA initialisation: the encoder's hidden pre-activations are the poses'
    coordinates along orthonormal principal axes, and the decoder's output layer maps
    them back, so poses inside a <= 40-d subspace round-trip exactly."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(63, 30)))[0].T  # 30 orthonormal directions in R^63
    mean = rng.normal(size=63)
    y = (mean + rng.normal(size=(200, 30)) * np.linspace(3.0, 0.1, 30) @ basis).astype(np.float32)
    enc, dec = dg.PoseEncoder(), dg.PoseDecoder(63)
    enc_params = enc.init(jax.random.key(0), y[:2])["params"]
    dec_params = dec.init(jax.random.key(1), jnp.zeros((2, 20)))["params"]
    enc_params, dec_params = dg.pca_pose_init(enc_params, dec_params, y)

    hidden = y @ np.asarray(enc_params["hidden"]["kernel"]) + np.asarray(enc_params["hidden"]["bias"])
    coords = hidden[:, :30]
    np.testing.assert_allclose(np.linalg.norm(coords, axis=1), np.linalg.norm(y - y.mean(0), axis=1), rtol=1e-4)
    variances = coords.var(0)
    assert np.all(np.diff(variances) <= 1e-4)  # in order of explained variance
    np.testing.assert_allclose(hidden[:, 30:40], 0.0, atol=1e-3)  # no variance left outside the subspace
    out = hidden @ np.asarray(dec_params["out"]["kernel"]) + np.asarray(dec_params["out"]["bias"])
    np.testing.assert_allclose(out, y, atol=1e-4)
    # Only those layers change: the latent heads keep their random N(0, 0.01) start.
    fresh = enc.init(jax.random.key(0), y[:2])["params"]
    np.testing.assert_array_equal(np.asarray(enc_params["mu"]["kernel"]), np.asarray(fresh["mu"]["kernel"]))


def test_subpixel_6x6_conv_transpose_equals_flax_conv_transpose_and_its_definition():
    """The sub-pixel 6x6 layer computes nn.ConvTranspose(6x6, stride 2, padding 3) with the
    same kernel, outputs and gradients, and the transposed convolution's definition
    (Lasagne's crop-2 TransposedConv2DLayer with the kernel flipped): out[2i + k - 2] += x[i] w[5 - k]."""
    x = jax.random.normal(jax.random.key(0), (2, 3, 4, 5))
    layer = dg.ConvTranspose6x6(7, use_bias=True, bias_init=jax.nn.initializers.normal(1.0))
    variables = layer.init(jax.random.key(1), x)
    reference = nn.ConvTranspose(7, (6, 6), strides=(2, 2), padding=((3, 3), (3, 3)))
    ours, theirs = layer.apply(variables, x), reference.apply(variables, x)
    assert ours.shape == (2, 6, 8, 7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)

    kernel, bias = np.asarray(variables["params"]["kernel"], np.float64), np.asarray(variables["params"]["bias"])
    xs = np.asarray(x, np.float64)
    full = np.zeros((2, 2 * 3 + 4, 2 * 4 + 4, 7))
    for i in range(3):
        for j in range(4):
            for ky in range(6):
                for kx in range(6):
                    full[:, 2 * i + ky, 2 * j + kx] += xs[:, i, j] @ kernel[5 - ky, 5 - kx]
    np.testing.assert_allclose(ours, full[:, 2:-2, 2:-2] + bias, rtol=1e-5, atol=1e-5)

    def loss(params, module):
        return jnp.sum(jnp.sin(module.apply({"params": params}, x)))
    g_ours = jax.grad(loss)(variables["params"], layer)
    g_theirs = jax.grad(loss)(variables["params"], reference)
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(g_ours[name], g_theirs[name], rtol=1e-4, atol=1e-4)
