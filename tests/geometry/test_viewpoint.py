"""The dVAE's side-normalised factors (jaxhands.geometry.viewpoint): the pose recomposes
exactly from (canonical pose, viewpoint) for both hand sides, the 6-D viewpoint round
trip, and the geodesic angle against hand-computed rotations."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.geometry.frames import axis_angle_to_matrix, rotation_about_z
from jaxhands.geometry.viewpoint import (geodesic_angle, matrix_to_rot6d, mirror_right_hands, rot6d_to_matrix,
                                         side_normalised_factors)


def _hands(n=8, seed=0):
    rng = np.random.default_rng(seed)
    joints = rng.normal(0, 0.04, (n, 21, 3)).astype(np.float32)
    joints[:, 0] = 0.0  # root-relative
    return jnp.asarray(joints), jnp.asarray(np.arange(n) % 2)


def test_side_normalised_pose_is_canonical_times_viewpoint_for_both_sides():
    joints, side = _hands()
    canonical, view, pose = side_normalised_factors(joints, side)
    np.testing.assert_allclose(pose, jnp.einsum("bkj,bji->bki", canonical, view), atol=1e-5)
    np.testing.assert_allclose(mirror_right_hands(pose, side), joints, atol=1e-7)  # un-mirroring recovers the hand
    np.testing.assert_allclose(np.linalg.det(np.asarray(view)), 1.0, atol=1e-5)  # proper rotations
    np.testing.assert_allclose(jnp.einsum("bij,bkj->bik", view, view), np.broadcast_to(np.eye(3), view.shape), atol=1e-5)
    # The canonical pose does not depend on how the hand is turned, nor (mirrored) on its side.
    turn = np.asarray(axis_angle_to_matrix(np.array([0.3, -1.1, 0.7])), np.float32)
    canonical_turned, _, _ = side_normalised_factors(joints @ turn.T, side)
    np.testing.assert_allclose(canonical_turned, canonical, atol=1e-5)
    mirrored, _, _ = side_normalised_factors(joints * jnp.array([1.0, 1.0, -1.0]), 1 - side)
    np.testing.assert_allclose(mirrored, canonical, atol=1e-5)


def test_rot6d_round_trip_and_gram_schmidt():
    r = np.asarray(axis_angle_to_matrix(np.random.default_rng(1).normal(size=(5, 3))), np.float32)
    np.testing.assert_allclose(rot6d_to_matrix(matrix_to_rot6d(jnp.asarray(r))), r, atol=1e-5)
    # Any 6 numbers with independent halves give a rotation; scaling a row changes nothing.
    six = jnp.asarray(np.random.default_rng(2).normal(size=(4, 6)), jnp.float32)
    m = np.asarray(rot6d_to_matrix(six))
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-5)
    np.testing.assert_allclose(rot6d_to_matrix(six.at[:, :3].multiply(3.0)), m, atol=1e-5)


@pytest.mark.parametrize("angle", [0.0, 0.4, 1.5, 3.0])
def test_geodesic_angle_of_a_known_turn(angle):
    r = np.asarray(axis_angle_to_matrix(np.array([0.2, -0.5, 0.8])), np.float32)
    turned = r @ np.asarray(rotation_about_z(angle), np.float32)
    assert float(geodesic_angle(jnp.asarray(r), jnp.asarray(turned))) == pytest.approx(angle, abs=2e-3)
