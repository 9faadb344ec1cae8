"""The dVAE's two pose factors (Yang & Yao 2019): the canonical pose and the viewpoint.

Zimmermann & Brox's canonical frame (jaxhands.geometry.frames) mirrors right hands to
left, so a hand's 3D pose is not a function of (canonical pose, rotation) alone: for a
right hand, y = M(c) R with M the z -> -z mirror. Here both the pose and the viewpoint
are side-normalised (spec A1, option (a)):

    pose_sn = M(y) for right hands, y for left        [..., 21, 3]
    view_sn = M R M for right hands, R for left       [..., 3, 3], a proper rotation
    pose_sn = c @ view_sn                              for both sides, exactly

so the pose decoder p(pose_sn | z_c, z_v) is a pure function of the two factors and the
known hand side un-mirrors its output. The viewpoint enters the networks as 6 numbers
(the first two rows of the matrix, Zhou et al.'s continuous 6-D representation) and
its error is the geodesic angle.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxhands.geometry.frames import canonical_frame

MIRROR = jnp.array([1.0, 1.0, -1.0])


def _side_sign(hand_side):
    """[...] -> [..., 1, 1]: -1 for right hands (1), +1 for left (0)."""
    return jnp.where(jnp.asarray(hand_side) == 1, -1.0, 1.0)[..., None, None]


def mirror_right_hands(points, hand_side):
    """[..., J, 3]: z -> -z for right hands (its own inverse)."""
    sign = _side_sign(hand_side)
    return points * jnp.concatenate([jnp.ones_like(sign), jnp.ones_like(sign), sign], -1)


def side_normalised_factors(joints, hand_side):
    """Root-relative joints [..., 21, 3] and hand_side [...] -> (canonical pose [..., 21, 3],
    side-normalised viewpoint [..., 3, 3], side-normalised pose [..., 21, 3]); pose_sn =
    canonical @ view_sn exactly."""
    canonical, rotation = canonical_frame(joints, hand_side)
    sign = _side_sign(hand_side)
    # M R M flips the sign of the entries (i, j) with exactly one of i, j == z.
    flips = jnp.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    view = rotation * (flips + (1.0 - flips) * sign)
    return canonical, view, mirror_right_hands(joints, hand_side)


def matrix_to_rot6d(rotation):
    """[..., 3, 3] -> [..., 6]: the first two rows."""
    return rotation[..., :2, :].reshape(*rotation.shape[:-2], 6)


def rot6d_to_matrix(rot6d, eps: float = 1e-8):
    """[..., 6] -> [..., 3, 3] proper rotation by Gram-Schmidt on the two rows (any 6
    numbers with independent halves map to a rotation; matrix_to_rot6d inverts it)."""
    a, b = rot6d[..., :3], rot6d[..., 3:]
    r1 = a / jnp.maximum(jnp.linalg.norm(a, axis=-1, keepdims=True), eps)
    b = b - jnp.sum(r1 * b, axis=-1, keepdims=True) * r1
    r2 = b / jnp.maximum(jnp.linalg.norm(b, axis=-1, keepdims=True), eps)
    return jnp.stack([r1, r2, jnp.cross(r1, r2)], -2)


def geodesic_angle(r1, r2):
    """[..., 3, 3] x2 -> [...] radians in [0, pi]: the angle of r1^T r2."""
    trace = jnp.einsum("...ij,...ij->...", r1, r2)
    return jnp.arccos(jnp.clip((trace - 1.0) / 2.0, -1.0, 1.0))
