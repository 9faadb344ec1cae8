"""Root/scale normalisation: round trips, unit reference bone, configurable joints, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.geometry import (BONES, JOINT_INDEX, bone_length, bone_lengths, denormalize_pose, normalize_pose,
                               resolve_joint, root_relative)


def _poses(batch=(3,), seed=0):
    return np.random.default_rng(seed).normal(0.0, 0.05, batch + (21, 3)) + [0.0, 0.0, 0.5]


def test_normalize_round_trip_and_unit_reference_bone_numpy():
    joints = _poses((2, 3))
    normalized, root, scale = normalize_pose(joints)
    assert normalized.shape == (2, 3, 21, 3) and root.shape == (2, 3, 3) and scale.shape == (2, 3)
    np.testing.assert_allclose(bone_length(normalized), 1.0, rtol=1e-12)
    np.testing.assert_allclose(normalized[..., 0, :], 0.0)
    np.testing.assert_allclose(scale, np.linalg.norm(joints[..., 9, :] - joints[..., 0, :], axis=-1))
    np.testing.assert_allclose(root, joints[..., 0, :])
    np.testing.assert_allclose(denormalize_pose(normalized, root, scale), joints, rtol=1e-12)


def test_normalize_round_trip_jitted_jax():
    joints = jnp.asarray(_poses((4,)), jnp.float32)
    normalized, root, scale = jax.jit(normalize_pose)(joints)
    assert isinstance(normalized, jax.Array)
    np.testing.assert_allclose(np.asarray(bone_length(normalized)), 1.0, rtol=1e-5)
    back = jax.jit(denormalize_pose)(normalized, root, scale)
    np.testing.assert_allclose(np.asarray(back), np.asarray(joints), atol=1e-6)


def test_root_and_reference_bone_by_name_or_index():
    joints = _poses()
    by_name = normalize_pose(joints, root="middle_mcp", reference_bone=("middle_mcp", "middle_pip"))
    by_index = normalize_pose(joints, root=9, reference_bone=(9, 10))
    for a, b in zip(by_name, by_index):
        np.testing.assert_array_equal(a, b)
    normalized = by_name[0]
    np.testing.assert_allclose(normalized[:, 9], 0.0)  # Yang et al. 2019's root: middle-finger base
    np.testing.assert_allclose(np.linalg.norm(normalized[:, 10] - normalized[:, 9], axis=-1), 1.0)
    np.testing.assert_allclose(root_relative(joints, "index_tip")[:, 8], 0.0)


def test_bone_lengths_match_a_loop_over_the_skeleton():
    joints = _poses((2,))
    expected = np.array([[np.linalg.norm(j[c] - j[p]) for p, c in BONES] for j in joints])
    np.testing.assert_allclose(bone_lengths(joints), expected, rtol=1e-12)


def test_other_layouts_by_their_own_joint_names():
    joints = np.random.default_rng(1).normal(size=(2, 14, 3))
    normalized, root, scale = normalize_pose(joints, root="palm_centre",
                                             reference_bone=("palm_centre", "middle_pip"), layout="nyu14")
    np.testing.assert_allclose(normalized[:, 13], 0.0)
    np.testing.assert_allclose(np.linalg.norm(normalized[:, 5], axis=-1), 1.0)
    assert resolve_joint("palm_centre", "nyu14") == 13


def test_zero_length_reference_bone_raises_and_stays_finite_under_jit():
    joints = _poses((2,))
    joints[1, JOINT_INDEX["middle_mcp"]] = joints[1, 0]
    with pytest.raises(ValueError, match=r"wrist -> middle_mcp.*zero length.*1 of 2"):
        normalize_pose(joints)
    normalized, root, scale = jax.jit(normalize_pose)(jnp.asarray(joints))
    assert np.all(np.isfinite(np.asarray(normalized)))
    np.testing.assert_allclose(np.asarray(denormalize_pose(normalized, root, scale)), joints, atol=1e-6)


def test_normalization_input_errors():
    with pytest.raises(ValueError, match=r"expected 21 joints.*got 14"):
        normalize_pose(np.zeros((14, 3)))
    with pytest.raises(ValueError, match="NaN"):
        normalize_pose(np.full((21, 3), np.nan))
    with pytest.raises(ValueError, match="unknown joint 'knuckle'"):
        normalize_pose(_poses(), root="knuckle")
    with pytest.raises(ValueError, match="out of range"):
        root_relative(_poses(), root=21)
    with pytest.raises(ValueError, match="unknown joint layout"):
        normalize_pose(_poses(), layout="hands")
