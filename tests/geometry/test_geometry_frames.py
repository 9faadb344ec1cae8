"""Rotations, the hand3d canonical frame / viewpoint, and the view correction."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from jaxhands.geometry import (JOINT_INDEX, apply_homography, apply_view_correction, axis_angle_to_matrix,
                               canonical_frame, from_canonical_frame, hand_center, intrinsics_matrix,
                               matrix_to_axis_angle, project, rotation_about_x, rotation_about_y,
                               rotation_about_z, undo_view_correction, view_correction_homography,
                               view_correction_rotation)

MIDDLE_MCP, LITTLE_MCP = JOINT_INDEX["middle_mcp"], JOINT_INDEX["little_mcp"]


def _poses(n, seed=0):
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, 21, 3))


def _random_rotations(n, seed):
    return Rotation.random(n, random_state=seed).as_matrix()


def _hand3d_canonical_trafo(coords):
    """hand3d's utils/canonical_trafo.py in numpy (row vectors, `coords @ M`), RHD node ids
    translated to canonical ones: root 0, align node 12 -> middle MCP, rot node 20 -> little MCP."""
    def rot_x(a):
        return np.array([[1, 0, 0], [0, np.cos(a), np.sin(a)], [0, -np.sin(a), np.cos(a)]])

    def rot_y(a):
        return np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])

    def rot_z(a):
        return np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])

    c = coords - coords[0]
    p = c[MIDDLE_MCP]
    m1 = rot_z(np.arctan2(p[0], p[1]))
    c1 = c @ m1
    p = c1[MIDDLE_MCP]
    m2 = rot_x(-np.arctan2(p[2], p[1]) + np.pi)
    c2 = c1 @ m2
    p = c2[LITTLE_MCP]
    m3 = rot_y(np.arctan2(p[2], p[0]))
    return c2 @ m3, m1 @ m2 @ m3


def test_elementary_rotations_by_hand():
    x, y, z = np.eye(3)
    np.testing.assert_allclose(rotation_about_z(np.pi / 2) @ x, y, atol=1e-15)
    np.testing.assert_allclose(rotation_about_x(np.pi / 2) @ y, z, atol=1e-15)
    np.testing.assert_allclose(rotation_about_y(np.pi / 2) @ z, x, atol=1e-15)
    batch = rotation_about_z(np.array([0.0, np.pi]))
    np.testing.assert_allclose(batch[1], np.diag([-1.0, -1.0, 1.0]), atol=1e-15)


def test_rodrigues_against_scipy_and_back():
    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.normal(size=(6, 3)), [[0, 0, 0], [1e-9, 0, 0], [0, 3e-3, 0],
                                                        [0, 0, np.pi - 1e-4]]])
    matrices = axis_angle_to_matrix(vectors)
    np.testing.assert_allclose(matrices, Rotation.from_rotvec(vectors).as_matrix(), atol=1e-14)
    np.testing.assert_allclose(matrix_to_axis_angle(matrices), Rotation.from_matrix(matrices).as_rotvec(),
                               atol=1e-9)
    jitted = jax.jit(lambda v: matrix_to_axis_angle(axis_angle_to_matrix(v)))(jnp.asarray(vectors, jnp.float32))
    np.testing.assert_allclose(np.asarray(jitted), vectors, atol=2e-4)
    grad = jax.jit(jax.grad(lambda v: axis_angle_to_matrix(v)[0, 1]))(jnp.zeros(3))
    np.testing.assert_allclose(np.asarray(grad), [0.0, 0.0, -1.0])  # d R01 / d v_z = -1 at identity


def test_canonical_frame_equals_hand3d_three_rotations():
    joints = _poses(5, seed=1)
    joints = joints - joints[:, :1]
    canonical, rotation = canonical_frame(joints, 0)
    for j, c, r in zip(joints, canonical, rotation):
        ref_coords, ref_total = _hand3d_canonical_trafo(j)
        np.testing.assert_allclose(c, ref_coords, atol=1e-12)
        np.testing.assert_allclose(r, np.linalg.inv(ref_total), atol=1e-12)  # hand3d's rot_mat
    np.testing.assert_allclose(canonical[:, MIDDLE_MCP, [0, 2]], 0.0, atol=1e-12)
    assert np.all(canonical[:, MIDDLE_MCP, 1] < 0)
    np.testing.assert_allclose(canonical[:, LITTLE_MCP, 2], 0.0, atol=1e-12)
    assert np.all(canonical[:, LITTLE_MCP, 0] > 0)
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0)


def test_recompose_and_viewpoint_parametrisation():
    joints = _poses(6, seed=2)
    sides = np.array([0, 1, 0, 1, 1, 0])
    canonical, rotation = canonical_frame(joints, sides)
    np.testing.assert_allclose(from_canonical_frame(canonical, rotation, sides), joints, atol=1e-12)
    viewpoint = matrix_to_axis_angle(rotation)  # hand3d's 3 regressed numbers
    np.testing.assert_allclose(from_canonical_frame(canonical, axis_angle_to_matrix(viewpoint), sides), joints,
                               atol=1e-12)


def test_canonical_pose_is_invariant_to_a_global_rotation():
    joints = _poses(4, seed=3)
    q = _random_rotations(4, seed=4)
    rotated = np.einsum("bij,bkj->bki", q, joints)
    canonical, rotation = canonical_frame(joints, 1)
    canonical_rotated, rotation_rotated = canonical_frame(rotated, 1)
    np.testing.assert_allclose(canonical_rotated, canonical, atol=1e-12)
    np.testing.assert_allclose(rotation_rotated, rotation @ np.swapaxes(q, -1, -2), atol=1e-12)


def test_right_hand_is_mirrored_onto_the_left_hand():
    left = _poses(3, seed=5)
    right = left * [-1.0, 1.0, 1.0]  # mirror image of the left hands
    canonical_left, _ = canonical_frame(left, 0)
    canonical_right, _ = canonical_frame(right, 1)
    np.testing.assert_allclose(canonical_right, canonical_left, atol=1e-12)
    unflipped, _ = canonical_frame(right, 0)
    np.testing.assert_allclose(unflipped, canonical_left * [1.0, 1.0, -1.0], atol=1e-12)


def test_canonical_frame_jitted_jax_matches_numpy():
    joints = _poses(3, seed=6)
    sides = np.array([1, 0, 1], np.int32)
    expected, expected_rotation = canonical_frame(joints, sides)
    fn = jax.jit(lambda j, s: from_canonical_frame(*canonical_frame(j, s), s))
    canonical, rotation = jax.jit(canonical_frame)(jnp.asarray(joints, jnp.float32), jnp.asarray(sides))
    assert isinstance(canonical, jax.Array)
    np.testing.assert_allclose(np.asarray(canonical), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(rotation), expected_rotation, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fn(jnp.asarray(joints, jnp.float32), sides)), joints, atol=1e-5)


def test_canonical_frame_errors():
    joints = _poses(1)[0]
    degenerate = joints.copy()
    degenerate[LITTLE_MCP] = 2.0 * degenerate[MIDDLE_MCP] - degenerate[0]
    with pytest.raises(ValueError, match="little MCP lies on the wrist -> middle MCP line"):
        canonical_frame(degenerate, 0)
    with pytest.raises(ValueError, match="hand_side"):
        canonical_frame(joints, 2)
    with pytest.raises(ValueError, match=r"expected 21 joints.*got 20"):
        canonical_frame(joints[:20], 0)
    with pytest.raises(ValueError, match="NaN"):
        canonical_frame(np.where(np.eye(21, 3) > 0, np.nan, joints), 0)
    canonical, _ = jax.jit(canonical_frame)(jnp.zeros((21, 3)), 0)  # degenerate under jit: finite
    assert np.all(np.isfinite(np.asarray(canonical)))


def test_view_correction_puts_the_centre_on_the_optical_axis():
    rng = np.random.default_rng(7)
    joints = rng.normal(0.0, 0.04, (5, 21, 3)) + np.stack([rng.uniform(-0.3, 0.3, 5), rng.uniform(-0.3, 0.3, 5),
                                                           rng.uniform(0.4, 0.9, 5)], -1)[:, None]
    for center in (hand_center(joints), hand_center(joints, "wrist")):
        rotation = view_correction_rotation(center)
        np.testing.assert_allclose(np.einsum("bij,bj->bi", rotation, center),
                                   np.stack([0 * center[:, 0], 0 * center[:, 0],
                                             np.linalg.norm(center, axis=-1)], -1), atol=1e-12)
        corrected = apply_view_correction(joints, center)
        pairwise = np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)
        np.testing.assert_allclose(np.linalg.norm(corrected[:, :, None] - corrected[:, None], axis=-1), pairwise,
                                   atol=1e-12)
        np.testing.assert_allclose(undo_view_correction(corrected, center), joints, atol=1e-12)
    # minimal rotation: the angle is the one between the centre and z, about an axis in the x-y plane
    center = hand_center(joints)
    rotation = view_correction_rotation(center)
    angle = np.arccos(center[:, 2] / np.linalg.norm(center, axis=-1))
    np.testing.assert_allclose(matrix_to_axis_angle(rotation)[:, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(matrix_to_axis_angle(rotation), axis=-1), angle, atol=1e-12)
    np.testing.assert_allclose(view_correction_rotation(np.array([0.0, 0.0, 0.7])), np.eye(3), atol=1e-15)
    jitted = jax.jit(apply_view_correction)(jnp.asarray(joints, jnp.float32), jnp.asarray(center, jnp.float32))
    np.testing.assert_allclose(np.asarray(jitted), apply_view_correction(joints, center), atol=1e-5)


def test_view_correction_homography_maps_the_centre_to_the_principal_point():
    k = intrinsics_matrix(588.03, -587.07, 320.0, 240.0)  # NYU, negative fy
    rng = np.random.default_rng(8)
    center = np.array([[0.12, -0.08, 0.6], [-0.2, 0.15, 0.9]])
    points = center[:, None] + rng.normal(0.0, 0.05, (2, 30, 3))
    h = view_correction_homography(center, k)
    np.testing.assert_allclose(apply_homography(h, project(center[:, None], k)), [[[320.0, 240.0]]] * 2,
                               atol=1e-4)
    # and, generally, the warp equals projecting the rotated points with the same K
    np.testing.assert_allclose(apply_homography(h, project(points, k)),
                               project(apply_view_correction(points, center), k), atol=1e-4)
    with pytest.raises(ValueError, match="in front of the camera"):
        view_correction_rotation(np.array([0.1, 0.0, -0.5]))
