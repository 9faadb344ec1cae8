"""Rotations, the canonical hand frame (viewpoint) and the view correction.

Conventions: rotation matrices act on column vectors (p' = R p); joint arrays are
rows, so a rotation is applied as `joints @ R^T` (broadcast over leading dims). All
functions are batched over leading dimensions, take numpy or jax arrays (same type
out) and are jit-able; degenerate inputs raise for concrete values and stay finite
under jit.

Canonical frame (Zimmermann & Brox 2017, hand3d `canonical_trafo` + `flip_right_hand`;
the "canonical pose" and "viewpoint" of Yang & Yao 2019):
    with a = middle_mcp - wrist and b = little_mcp - wrist, the rotation R puts a on
    the NEGATIVE y axis (hand3d: "Node that will be at 0/-D/0") and b in the x-y
    plane with x > 0 ("Node that will be at z=0, x>0"); then right hands are mirrored
    to left ones by negating z in the canonical frame (hand3d "mirror along y axis").
        canonical = flip(joints @ R^T),   joints = flip(canonical) @ R.
    R is unique, so it equals hand3d's three atan2 rotations (checked in the tests)
    and is exactly hand3d's `rot_mat` / the dVAE viewpoint: the rotation taking the
    canonical pose to the (root-relative) camera-frame pose, joints = canonical @ R.
    hand3d regresses it as 3 axis-angle numbers: `matrix_to_axis_angle(R)` and
    `axis_angle_to_matrix` are that viewpoint parametrisation.

View correction (Yang et al. 2019, following Li & Lee 2019): rotate the camera about
its centre so the optical axis passes through the hand centre; see
`view_correction_rotation`.
"""

from __future__ import annotations

import numpy as np

from jaxhands.geometry.array_namespace import (check_finite, check_joints, check_last_dims, is_concrete,
                                               namespace, require_at_least)
from jaxhands.geometry.layouts import JOINT_INDEX, NUM_JOINTS, WRIST, Layout, get_layout
from jaxhands.geometry.normalization import resolve_joint

EPS = 1e-12
# Canonical-frame anchors (hand3d: ALIGN_NODE_ID 12 and ROT_NODE_ID 20 in RHD order).
ALIGN_JOINT = JOINT_INDEX["middle_mcp"]
PLANE_JOINT = JOINT_INDEX["little_mcp"]


# --- elementary rotations ------------------------------------------------------------

def _stack_matrix(xp, rows):
    return xp.stack([xp.stack(row, -1) for row in rows], -2)


def _angle_terms(angle):
    xp = namespace(angle)
    angle = xp.asarray(angle)
    if not xp.issubdtype(angle.dtype, xp.floating):
        angle = angle.astype(xp.float32)
    check_finite(angle, "angle")
    return xp, xp.cos(angle), xp.sin(angle), xp.zeros_like(angle), xp.ones_like(angle)


def rotation_about_x(angle):
    """[...] angles (radians) -> [..., 3, 3] right-handed rotation about the x axis."""
    xp, c, s, zero, one = _angle_terms(angle)
    return _stack_matrix(xp, [[one, zero, zero], [zero, c, -s], [zero, s, c]])


def rotation_about_y(angle):
    """[...] angles (radians) -> [..., 3, 3] right-handed rotation about the y axis."""
    xp, c, s, zero, one = _angle_terms(angle)
    return _stack_matrix(xp, [[c, zero, s], [zero, one, zero], [-s, zero, c]])


def rotation_about_z(angle):
    """[...] angles (radians) -> [..., 3, 3] right-handed rotation about the z axis."""
    xp, c, s, zero, one = _angle_terms(angle)
    return _stack_matrix(xp, [[c, -s, zero], [s, c, zero], [zero, zero, one]])


def _skew(xp, v):
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = xp.zeros_like(x)
    return _stack_matrix(xp, [[zero, -z, y], [z, zero, -x], [-y, x, zero]])


def axis_angle_to_matrix(axis_angle):
    """[..., 3] rotation vectors (axis * angle, radians) -> [..., 3, 3] (Rodrigues).

    R = I + A K + B K^2 with K = [v]_x, A = sin(t)/t, B = (1 - cos t)/t^2 written as
    2 sin^2(t/2)/t^2 (no cancellation in float32); below t^2 = 1e-4 both use their
    Taylor series, so the value and gradient are exact and finite at t = 0.
    """
    check_last_dims(axis_angle, (3,), "axis_angle", "rotation vector")
    check_finite(axis_angle, "axis_angle")
    xp = namespace(axis_angle)
    v = xp.asarray(axis_angle)
    theta2 = xp.sum(v * v, axis=-1)
    small = theta2 < 1e-4
    theta = xp.sqrt(xp.where(small, 1.0, theta2))
    half_sin = xp.sin(0.5 * theta)
    a = xp.where(small, 1.0 - theta2 / 6.0 + theta2 ** 2 / 120.0, xp.sin(theta) / theta)
    b = xp.where(small, 0.5 - theta2 / 24.0 + theta2 ** 2 / 720.0, 2.0 * half_sin ** 2 / (theta * theta))
    k = _skew(xp, v)
    eye = xp.eye(3, dtype=k.dtype)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def _matrix_to_quaternion(xp, r):
    """Shepperd's method: (w, x, y, z) with w >= 0 from the best-conditioned branch."""
    r00, r01, r02 = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
    r10, r11, r12 = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
    r20, r21, r22 = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
    t = xp.stack([1 + r00 + r11 + r22, 1 + r00 - r11 - r22, 1 - r00 + r11 - r22, 1 - r00 - r11 + r22], -1)
    candidates = xp.stack([
        xp.stack([t[..., 0], r21 - r12, r02 - r20, r10 - r01], -1),
        xp.stack([r21 - r12, t[..., 1], r10 + r01, r02 + r20], -1),
        xp.stack([r02 - r20, r10 + r01, t[..., 2], r21 + r12], -1),
        xp.stack([r10 - r01, r02 + r20, r21 + r12, t[..., 3]], -1),
    ], -2) / (2.0 * xp.sqrt(xp.maximum(t, EPS)))[..., None]
    best = xp.argmax(t, axis=-1)
    q = xp.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    return xp.where(q[..., :1] < 0, -q, q)


def matrix_to_axis_angle(rotation):
    """[..., 3, 3] rotation matrices -> [..., 3] rotation vectors, angle in [0, pi].

    Inverse of `axis_angle_to_matrix` for angles below pi (at exactly pi the axis
    sign is ambiguous). Goes through a unit quaternion, so it is accurate for all
    angles, including near 0 and near pi.
    """
    check_last_dims(rotation, (3, 3), "rotation", "3x3 rotation matrix")
    check_finite(rotation, "rotation")
    xp = namespace(rotation)
    q = _matrix_to_quaternion(xp, xp.asarray(rotation))
    w, v = q[..., 0], q[..., 1:]
    n = xp.linalg.norm(v, axis=-1)
    tiny = n < 1e-7
    angle = 2.0 * xp.arctan2(n, w)
    # 2 atan2(n, w) / n -> 2 / w as n -> 0 (w -> 1 there since w >= 0).
    factor = xp.where(tiny, 2.0 / xp.maximum(w, 0.5), angle / xp.where(tiny, 1.0, n))
    return v * factor[..., None]


# --- canonical frame (hand3d) --------------------------------------------------------

def _hand_side_sign(xp, hand_side, dtype):
    """-1 for right hands (hand_side == 1), +1 for left (0); ValueError for other values."""
    side = xp.asarray(hand_side)
    if is_concrete(side):
        values = np.unique(np.asarray(side))
        if not set(values.tolist()) <= {0, 1}:
            raise ValueError(f"hand_side: expected 0 (left) or 1 (right), got values {values.tolist()}")
    return xp.where(side == 1, -1.0, 1.0).astype(dtype)


def _mirror_z(xp, points, hand_side):
    sign = _hand_side_sign(xp, hand_side, points.dtype)
    ones = xp.ones_like(sign)
    factors = xp.stack([ones, ones, sign], -1)
    return points * factors[..., None, :]


def _as_float(xp, values):
    values = xp.asarray(values)
    return values if xp.issubdtype(values.dtype, xp.floating) else values.astype(xp.float32)


def canonical_rotation(joints):
    """[..., 21, 3] canonical-layout joints -> [..., 3, 3] rotation R of the canonical frame.

    Rows of R: r2 = -a/|a| (a = middle_mcp - wrist), r1 = the part of b = little_mcp
    - wrist orthogonal to r2, normalised, r3 = r1 x r2 (det R = +1). So R a = (0, -|a|,
    0) and R b = (|b_perp|, b.r2, 0). Raises for concrete hands with a zero a or with
    the little MCP on the wrist -> middle MCP line.
    """
    check_joints(joints, NUM_JOINTS, "joints", "canonical layout", dims=(3,))
    check_finite(joints, "joints")
    xp = namespace(joints)
    joints = _as_float(xp, joints)
    a = joints[..., ALIGN_JOINT, :] - joints[..., WRIST, :]
    b = joints[..., PLANE_JOINT, :] - joints[..., WRIST, :]
    a_len = xp.linalg.norm(a, axis=-1)
    require_at_least(a_len, 1e-9, "canonical_frame: wrist and middle MCP coincide")
    r2 = -a / xp.maximum(a_len, EPS)[..., None]
    b_perp = b - xp.sum(b * r2, axis=-1, keepdims=True) * r2
    b_len = xp.linalg.norm(b_perp, axis=-1)
    require_at_least(b_len / xp.maximum(a_len, EPS), 1e-9,
                     "canonical_frame: little MCP lies on the wrist -> middle MCP line")
    r1 = b_perp / xp.maximum(b_len, EPS)[..., None]
    r3 = xp.cross(r1, r2)
    return xp.stack([r1, r2, r3], -2)


def canonical_frame(joints, hand_side):
    """Canonical pose and viewpoint: [..., 21, 3], hand_side [...] -> (canonical, rotation).

    canonical = flip(joints @ R^T): middle MCP on the negative y axis, little MCP in
    the x-y plane at x > 0, right hands (hand_side 1) mirrored to left by z -> -z.
    `rotation` is R [..., 3, 3] (see the module docstring: the dVAE viewpoint, hand3d's
    `rot_mat`). The rotation is about the origin: pass root-relative (and, for the
    papers' canonical pose, scale-normalised) joints to get the wrist at the origin.
    `from_canonical_frame(canonical, rotation, hand_side)` recomposes `joints`.
    """
    rotation = canonical_rotation(joints)
    xp = namespace(joints, hand_side)
    joints = _as_float(xp, joints)
    rotation = xp.asarray(rotation)
    canonical = xp.einsum("...ij,...kj->...ki", rotation, joints)
    return _mirror_z(xp, canonical, hand_side), rotation


def from_canonical_frame(canonical, rotation, hand_side):
    """Inverse of `canonical_frame`: joints = flip(canonical) @ R, [..., J, 3] out."""
    check_last_dims(canonical, (3,), "canonical", "x, y, z")
    check_last_dims(rotation, (3, 3), "rotation", "3x3 rotation matrix")
    check_finite(canonical, "canonical")
    check_finite(rotation, "rotation")
    xp = namespace(canonical, rotation, hand_side)
    unflipped = _mirror_z(xp, _as_float(xp, canonical), hand_side)
    return xp.einsum("...ki,...ij->...kj", unflipped, xp.asarray(rotation))


# --- view correction (Yang et al. 2019 / Li & Lee 2019) ------------------------------

def hand_center(joints, joint: int | str | None = None, *, layout: str | Layout = "canonical"):
    """[..., J, 3] -> [..., 3]: the mean of all joints (joint=None) or one joint (index or name)."""
    layout = get_layout(layout)
    check_joints(joints, layout.num_joints, "joints", f"{layout.name} layout", dims=(3,))
    check_finite(joints, "joints")
    xp = namespace(joints)
    if joint is None:
        return xp.mean(joints, axis=-2)
    return joints[..., resolve_joint(joint, layout), :]


def view_correction_rotation(center):
    """[..., 3] hand centre (camera frame) -> [..., 3, 3] R with R @ center = (0, 0, |center|).

    R is the MINIMAL rotation taking the viewing ray through the centre onto the
    optical axis: a rotation by the angle between c = center/|center| and z about the
    axis c x z, which lies in the x-y plane. Hence there is no twist about the optical
    axis: the direction orthogonal to both c and z is left unchanged, and a centre
    already on the axis gives R = I. Closed form (Rodrigues for c -> z):
        R = I + [v]_x + [v]_x^2 / (1 + c_z),  v = c x z = (c_y, -c_x, 0),
    i.e. rows (1 - cx^2/(1+cz), -cx cy/(1+cz), -cx), (-cx cy/(1+cz), 1 - cy^2/(1+cz),
    -cy), (cx, cy, cz). A Euler y-then-x decomposition (used in some code) maps c to
    the axis as well but differs from this R by a rotation about z. The centre must
    be in front of the camera (z > 0): ValueError for concrete inputs.
    """
    check_last_dims(center, (3,), "center", "hand centre x, y, z")
    check_finite(center, "center")
    xp = namespace(center)
    center = _as_float(xp, center)
    require_at_least(center[..., 2], 1e-12, "view_correction_rotation: hand centre must be in front "
                                            "of the camera (z > 0)")
    c = center / xp.maximum(xp.linalg.norm(center, axis=-1), EPS)[..., None]
    cx, cy, cz = c[..., 0], c[..., 1], c[..., 2]
    d = 1.0 / xp.maximum(1.0 + cz, EPS)
    return _stack_matrix(xp, [[1 - cx * cx * d, -cx * cy * d, -cx],
                              [-cx * cy * d, 1 - cy * cy * d, -cy],
                              [cx, cy, cz]])


def apply_view_correction(points, center):
    """[..., N, 3] camera-frame points (joints or a cloud) -> [..., N, 3] in the corrected frame."""
    check_last_dims(points, (3,), "points", "x, y, z")
    check_finite(points, "points")
    rotation = view_correction_rotation(center)
    xp = namespace(points, rotation)
    return xp.einsum("...ij,...nj->...ni", xp.asarray(rotation), _as_float(xp, points))


def undo_view_correction(points, center):
    """Inverse of `apply_view_correction` (same `center`, the one in the ORIGINAL camera frame)."""
    check_last_dims(points, (3,), "points", "x, y, z")
    check_finite(points, "points")
    rotation = view_correction_rotation(center)
    xp = namespace(points, rotation)
    return xp.einsum("...ni,...ij->...nj", _as_float(xp, points), xp.asarray(rotation))


def view_correction_homography(center, intrinsics):
    """[..., 3] centre, [..., 3, 3] K -> H = K R K^-1 [..., 3, 3], the image warp of the correction.

    H maps homogeneous pixel coordinates of the original image to those of the
    virtual, rotated camera (same K): the projected hand centre goes to the principal
    point. To resample an image with it, look up each output pixel at H^-1 p.
    """
    check_last_dims(intrinsics, (3, 3), "intrinsics", "pinhole K")
    check_finite(intrinsics, "intrinsics")
    rotation = view_correction_rotation(center)
    xp = namespace(rotation, intrinsics)
    k = _as_float(xp, intrinsics)
    return k @ xp.asarray(rotation, dtype=k.dtype) @ xp.linalg.inv(k)


def apply_homography(homography, uv):
    """[..., 3, 3] H, [..., N, 2] pixels -> [..., N, 2] pixels (H [u, v, 1]^T, dehomogenised)."""
    check_last_dims(homography, (3, 3), "homography", "3x3 matrix")
    check_last_dims(uv, (2,), "uv", "u, v")
    check_finite(uv, "uv")
    xp = namespace(homography, uv)
    uv = _as_float(xp, uv)
    ones = xp.ones(uv.shape[:-1] + (1,), dtype=uv.dtype)
    mapped = xp.einsum("...ij,...nj->...ni", xp.asarray(homography), xp.concatenate([uv, ones], -1))
    return mapped[..., :2] / mapped[..., 2:3]
