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
