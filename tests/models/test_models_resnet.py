"""ResNet encoders: BatchNorm train/eval semantics (through methods.base.apply_module), the
hand-side flag, depths 18/50 and input checks. Tiny widths and images."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.methods.base import apply_module
from jaxhands.models.resnet import BN_MOMENTUM, ResNet, ResNetEncoder, resnet_feature_dim


@pytest.fixture(scope="module")
def encoder_and_variables():
    encoder = ResNetEncoder(latent_dim=4, depth=18, width=4, in_channels=3)
    x = jax.random.normal(jax.random.key(0), (4, 16, 16, 3))
    # jit: one compilation instead of one per primitive (eager Flax init compiles every op).
    variables = jax.jit(lambda k, x: encoder.init(k, x, jnp.array([0, 1, 0, 1]), train=False))(jax.random.key(1), x)
    return encoder, x, variables


def _apply(encoder, params, state, x, hand, train):
    return jax.jit(lambda p, s, x, h: apply_module(encoder, p, s, "enc", x, h, train=train))(params, state, x, hand)


def test_batch_stats_update_in_train_mode_and_freeze_in_eval(encoder_and_variables):
    encoder, x, variables = encoder_and_variables
    params = {"enc": variables["params"]}
    state = {"enc": {"batch_stats": variables["batch_stats"]}}
    hand = jnp.array([0, 1, 0, 1])

    _, updated = _apply(encoder, params, state, x, hand, True)
    new_state = {"enc": updated}
    # The stem BN's running mean moves by (1 - momentum) x the batch mean of the stem conv output.
    kernel = variables["params"]["trunk"]["stem_conv"]["kernel"]
    stem = jax.lax.conv_general_dilated(x, kernel, (2, 2), ((3, 3), (3, 3)),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    expected = (1 - BN_MOMENTUM) * jnp.mean(stem, axis=(0, 1, 2))
    np.testing.assert_allclose(new_state["enc"]["batch_stats"]["trunk"]["stem_bn"]["mean"], expected,
                               rtol=1e-4, atol=1e-6)
    assert not np.allclose(new_state["enc"]["batch_stats"]["trunk"]["stem_bn"]["var"],
                           variables["batch_stats"]["trunk"]["stem_bn"]["var"])

    (mu_eval, _), eval_state = _apply(encoder, params, new_state, x, hand, False)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), eval_state, updated))
    # Eval mode uses stored statistics: a sample's output does not depend on its batch...
    (mu_alone, _), _ = _apply(encoder, params, new_state, x[:1], hand[:1], False)
    np.testing.assert_allclose(mu_alone[0], mu_eval[0], rtol=1e-4, atol=1e-5)
    # ... while train mode normalises with the batch's statistics, so it does.
    (mu_train, _), _ = _apply(encoder, params, state, x, hand, True)
    (mu_train_pair, _), _ = _apply(encoder, params, state, x[:2], hand[:2], True)
    assert not np.allclose(mu_train[0], mu_train_pair[0], atol=1e-4)


def test_hand_side_flag_reaches_the_head(encoder_and_variables):
    encoder, x, variables = encoder_and_variables
    same = jnp.stack([x[0], x[0]])
    apply = jax.jit(lambda v, x, h: encoder.apply(v, x, h, train=False))
    mu, _ = apply(variables, same, jnp.array([0, 1]))
    assert not np.allclose(mu[0], mu[1])
    mu, _ = apply(variables, same, jnp.array([1, 1]))
    np.testing.assert_allclose(mu[0], mu[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("depth", [18, 50])
def test_feature_size_and_parameter_count(depth):
    x = jnp.zeros((2, 32, 32, 1))
    module = ResNet(depth=depth, width=4)
    shapes = jax.eval_shape(lambda: module.init(jax.random.key(0), x, train=False))
    out = jax.eval_shape(lambda v: module.apply(v, x, train=False), shapes)
    assert out.shape == (2, resnet_feature_dim(depth, 4)) == (2, 32 if depth == 18 else 128)
    convs = [p for p in jax.tree_util.tree_flatten_with_path(shapes["params"])[0]
             if p[0][-1].key == "kernel" and len(p[1].shape) == 4]
    # Conv layers excluding the 1x1 projections: 1 stem + 2 x 8 blocks (18) / 1 + 3 x 16 blocks (50).
    main = [p for p in convs if "proj" not in jax.tree_util.keystr(p[0])]
    assert len(main) == (17 if depth == 18 else 49)


def test_wrong_input_channels_raise():
    encoder = ResNetEncoder(latent_dim=4, width=4, in_channels=1)
    with pytest.raises(ValueError, match=r"\[batch, H, W, 1\]"):
        encoder.init(jax.random.key(0), jnp.zeros((2, 16, 16, 3)), train=False)
    with pytest.raises(ValueError, match="depth must be one of"):
        ResNet(depth=20).init(jax.random.key(0), jnp.zeros((1, 16, 16, 1)), train=False)


def test_stems_differ_only_in_the_first_convolution():
    # The stems differ only in the first convolution: 7x7 taps (stride 2) vs 3x3 (stride 1).
    x = jnp.zeros((1, 32, 32, 3))
    for stem, taps in (("imagenet", 7), ("small", 3)):
        net = ResNet(18, 4, stem)
        variables = net.init(jax.random.key(0), x, train=False)
        assert variables["params"]["stem_conv"]["kernel"].shape == (taps, taps, 3, 4)
        # Same trunk after the stem: identical parameter counts apart from the stem kernel.
        count = sum(p.size for p in jax.tree.leaves(variables["params"]))
        assert count - taps * taps * 3 * 4 == sum(
            p.size for p in jax.tree.leaves(ResNet(18, 4, "small").init(jax.random.key(0), x, train=False)["params"])
        ) - 9 * 3 * 4
    with pytest.raises(ValueError, match="stem must be one of"):
        ResNet(18, 4, "tiny").init(jax.random.key(0), x, train=False)


def test_flatten_pooling_keeps_the_map_that_average_pooling_averages():
    x = jax.random.normal(jax.random.key(1), (2, 64, 64, 3))
    average = ResNet(18, 4, pooling="average")
    variables = average.init(jax.random.key(0), x, train=False)
    pooled = average.apply(variables, x, train=False)
    flat = ResNet(18, 4, pooling="flatten").apply(variables, x, train=False)  # same parameters
    assert flat.shape == (2, 2 * 2 * 32)  # 64 px / 32 = a 2x2 map of 8 * width channels
    np.testing.assert_allclose(flat.reshape(2, 4, 32).mean(axis=1), pooled, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="pooling must be one of"):
        ResNet(18, 4, pooling="max").init(jax.random.key(0), x, train=False)


@pytest.mark.parametrize("kernel_size, stride, padding, size",
                         [(7, 2, 3, 17), (3, 1, 1, 8), (3, 2, 1, 9), (1, 2, 0, 8)])
def test_im2col_convolution_equals_xlas_in_value_and_gradient(kernel_size, stride, padding, size):
    """conv_as_matmul is lax.conv_general_dilated: exactly in float64 (values and both
    gradients, odd and even sizes), so it is a lowering, not another layer."""
    from jaxhands.models.im2col import conv_as_matmul

    rng = np.random.default_rng(kernel_size + stride + size)
    x = rng.normal(size=(2, size, size, 3))
    kernel = rng.normal(size=(kernel_size, kernel_size, 3, 5))
    cotangent = rng.normal(size=(2, (size + 2 * padding - kernel_size) // stride + 1,
                                 (size + 2 * padding - kernel_size) // stride + 1, 5))

    def xla(x, k):
        return jax.lax.conv_general_dilated(x, k, (stride, stride), [(padding, padding)] * 2,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    with jax.enable_x64(True):
        x, kernel, cotangent = (jnp.asarray(a, jnp.float64) for a in (x, kernel, cotangent))
        expected, expected_vjp = jax.vjp(xla, x, kernel)
        got, got_vjp = jax.vjp(lambda x, k: conv_as_matmul(x, k, stride, padding), x, kernel)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        for g, e in zip(got_vjp(cotangent), expected_vjp(cotangent)):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"kernel \[kh, kw, C, O\] with equal C"):
        conv_as_matmul(jnp.zeros((1, 4, 4, 2)), jnp.zeros((3, 3, 3, 1)), 1, 1)
    with pytest.raises(ValueError, match="square kernels only, got 3 x 1"):
        conv_as_matmul(jnp.zeros((1, 4, 4, 2)), jnp.zeros((3, 1, 2, 1)), 1, 1)


@pytest.mark.parametrize("depth", [18, 50])
def test_im2col_resnet_has_the_same_parameters_and_function(depth):
    """ResNet(lowering="im2col" or "im2col_body") initialises the same parameters from the
    same key as the flax.linen.Conv trunk and computes the same features from them (float32
    sums in another order), in train and eval mode; an unknown lowering is refused."""
    x = jax.random.normal(jax.random.key(0), (2, 32, 32, 3))
    # im2col_body differs from im2col only in the stem, which depth 18 covers (CI time).
    others = ("im2col", "im2col_body") if depth == 18 else ("im2col",)
    trunks = {c: ResNet(depth=depth, width=4, lowering=c) for c in ("xla", *others)}
    variables = {c: jax.jit(lambda k, x, t=t: t.init(k, x, train=False))(jax.random.key(1), x)
                 for c, t in trunks.items()}
    leaves = {c: jax.tree_util.tree_leaves_with_path(v) for c, v in variables.items()}
    for lowering in others:
        assert [p for p, _ in leaves["xla"]] == [p for p, _ in leaves[lowering]]
        for (_, a), (_, b) in zip(leaves["xla"], leaves[lowering]):
            np.testing.assert_array_equal(a, b)
    for train in (False, True):
        out = {c: jax.jit(lambda v, x, t=t: t.apply(v, x, train=train, mutable=["batch_stats"] if train else False))(
            variables["xla"], x) for c, t in trunks.items()}
        features = {c: o[0] if train else o for c, o in out.items()}
        # Batch statistics of a 2-image batch amplify float32 rounding in a few features
        # (up to 1e-3 relative, measured); the whole agrees to 1e-4 in norm.
        for lowering in others:
            error = jnp.linalg.norm(features[lowering] - features["xla"]) / jnp.linalg.norm(features["xla"])
            assert float(error) < 1e-4, (lowering, train, float(error))
    with pytest.raises(ValueError, match="lowering must be one of"):
        ResNet(depth=18, width=4, lowering="winograd").init(jax.random.key(0), x, train=False)


def test_im2col_body_leaves_only_the_stem_convolution_to_xla():
    """The lowerings differ in what they compile: XLA convolutions for ResNet-18's 20 (stem,
    16 in the blocks, 3 projections), none for im2col, the stem's alone for im2col_body."""
    x = jnp.zeros((2, 32, 32, 3))

    def xla_convolutions(lowering):
        trunk = ResNet(depth=18, width=4, lowering=lowering)
        variables = trunk.init(jax.random.key(0), x, train=False)
        jaxpr = jax.make_jaxpr(lambda v: trunk.apply(v, x, train=False))(variables)
        return str(jaxpr).count("conv_general_dilated")

    assert [xla_convolutions(c) for c in ("xla", "im2col", "im2col_body")] == [20, 0, 1]


@pytest.mark.parametrize("size", [8, 9])
def test_max_pool_over_slices_equals_flax_max_pool_in_value_and_gradient(size):
    """max_pool_as_slices is flax.linen.max_pool (3 x 3 / 2, padding 1, -inf borders) in value,
    and in gradient wherever no two inputs of a window tie (random floats), odd and even sizes."""
    import flax.linen as nn

    from jaxhands.models.im2col import max_pool_as_slices

    rng = np.random.default_rng(size)
    x = jnp.asarray(rng.normal(size=(2, size, size, 3)), jnp.float32)
    expected, expected_vjp = jax.vjp(lambda x: nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1))), x)
    got, got_vjp = jax.vjp(lambda x: max_pool_as_slices(x, 3, 2, 1), x)
    np.testing.assert_array_equal(got, expected)
    cotangent = jnp.asarray(rng.normal(size=expected.shape), jnp.float32)
    np.testing.assert_array_equal(got_vjp(cotangent)[0], expected_vjp(cotangent)[0])
    with pytest.raises(ValueError, match=rf"expected x \[B, H, W, C\], got \({size}, {size}, 3\)"):
        max_pool_as_slices(x[0], 3, 2, 1)
