"""Pinhole camera: projection, back-projection, (u, v, d) <-> (x, y, z), depth -> points.

Conventions (see jaxhands.data.schema): camera frame x right, y down, z forward;
pixel (row i, col j) has its centre at (u, v) = (j + 0.5, i + 0.5). All functions are
batched over leading dimensions, work on numpy or jax arrays (same type out as in),
and are jit-able. Units follow the inputs (metres inside the library; the depth
benchmarks' text files use millimetres and go through the same functions).
"""

from __future__ import annotations

import numpy as np

from jaxhands.geometry.array_namespace import check_finite, check_last_dims, namespace


def intrinsics_matrix(fx, fy, cx, cy, xp=None):
    """K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (float32); batched if the arguments are."""
    xp = xp or namespace(fx, fy, cx, cy)
    fx, fy, cx, cy = (xp.asarray(v, dtype=xp.float32) for v in (fx, fy, cx, cy))
    zero, one = xp.zeros_like(fx), xp.ones_like(fx)
    rows = [xp.stack([fx, zero, cx], -1), xp.stack([zero, fy, cy], -1), xp.stack([zero, zero, one], -1)]
    return xp.stack(rows, -2)


def _split_intrinsics(intrinsics):
    check_last_dims(intrinsics, (3, 3), "intrinsics", "pinhole K")
    k = intrinsics
    return k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]


def xyz_to_uvd(xyz, intrinsics):
    """[..., J, 3] camera-frame points -> [..., J, 3] (u, v pixels, d = z in the input unit).

    `intrinsics` is [..., 3, 3] with leading dims broadcastable to xyz's leading dims.
    Points with z <= 0 project to non-finite (u, v); callers keep points in front.
    """
    check_last_dims(xyz, (3,), "xyz", "x, y, z")
    check_finite(xyz, "xyz")
    xp = namespace(xyz, intrinsics)
    fx, fy, cx, cy = (a[..., None] for a in _split_intrinsics(intrinsics))
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    u = fx * x / z + cx
    v = fy * y / z + cy
    return xp.stack([u, v, z], -1)


def project(xyz, intrinsics):
    """[..., J, 3] camera-frame points -> [..., J, 2] pixel coordinates (u, v)."""
    return xyz_to_uvd(xyz, intrinsics)[..., :2]


def uvd_to_xyz(uvd, intrinsics):
    """Inverse of `xyz_to_uvd`: [..., J, 3] (u, v, d) -> [..., J, 3] (x, y, z = d).

    x = (u - cx) d / fx, y = (v - cy) d / fy. A negative fy (NYU's published
    intrinsics) flips y, as in the benchmark's own conversion.
    """
    check_last_dims(uvd, (3,), "uvd", "u, v, depth")
    check_finite(uvd, "uvd")
    xp = namespace(uvd, intrinsics)
    fx, fy, cx, cy = (a[..., None] for a in _split_intrinsics(intrinsics))
    u, v, d = uvd[..., 0], uvd[..., 1], uvd[..., 2]
    return xp.stack([(u - cx) * d / fx, (v - cy) * d / fy, d], -1)


def backproject(uv, depth, intrinsics):
    """[..., J, 2] pixels and [..., J] depths -> [..., J, 3] camera-frame points."""
    check_last_dims(uv, (2,), "uv", "u, v")
    xp = namespace(uv, depth, intrinsics)
    return uvd_to_xyz(xp.concatenate([uv, depth[..., None]], -1), intrinsics)


def pixel_grid(height: int, width: int, xp=None):
    """(u, v) of every pixel centre, [H, W, 2] float32."""
    xp = xp or np
    v, u = xp.meshgrid(xp.arange(height, dtype=xp.float32) + 0.5,
                       xp.arange(width, dtype=xp.float32) + 0.5, indexing="ij")
    return xp.stack([u, v], -1)


def depth_to_points(depth, intrinsics):
    """Back-projects every pixel of a depth map: [..., H, W] -> [..., H, W, 3].

    Pixels with depth 0 (no measurement) map to the camera origin; use `depth > 0`
    as the validity mask (see `sample_depth_points` for a fixed-size cloud).
    """
    xp = namespace(depth, intrinsics)
    height, width = depth.shape[-2:]
    grid = pixel_grid(height, width, xp)
    uvd = xp.concatenate([xp.broadcast_to(grid, depth.shape + (2,)), depth[..., None]], -1)
    flat = uvd_to_xyz(uvd.reshape(depth.shape[:-2] + (height * width, 3)), intrinsics)
    return flat.reshape(depth.shape + (3,))


def sample_depth_points(depth, intrinsics, num_points: int, rng):
    """Fixed-size point cloud from the valid (depth > 0) pixels of one depth map (numpy).

    Draws `num_points` valid pixels uniformly (with replacement only when there are
    fewer valid pixels than requested), jitters each within its pixel footprint and
    back-projects it. Returns [num_points, 3] float32. Raises if no pixel is valid.
    `rng` is a numpy Generator.
    """
    depth = np.asarray(depth)
    rows, cols = np.nonzero(depth > 0)
    if rows.size == 0:
        raise ValueError("depth map has no valid (depth > 0) pixel to sample points from")
    pick = rng.choice(rows.size, size=num_points, replace=rows.size < num_points)
    u = cols[pick] + rng.uniform(0.0, 1.0, num_points)
    v = rows[pick] + rng.uniform(0.0, 1.0, num_points)
    d = depth[rows[pick], cols[pick]]
    uvd = np.stack([u, v, d], -1).astype(np.float32)
    return uvd_to_xyz(uvd, np.asarray(intrinsics, np.float32)).astype(np.float32)
