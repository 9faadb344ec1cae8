"""Crossing Nets networks (spec B2 / check C2): the released weight counts per network at
128 px, and every stride-2 stage exactly halving or doubling the side."""

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
