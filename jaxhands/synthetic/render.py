"""Exact ray casting of the capsule hand: z-buffer, id map, point rays, normals (numpy).

Rays start at the camera centre and go along d = (X, Y, 1) with X = (u - cx) / fx and
Y = (v - cy) / fy, so the ray parameter of a hit is its depth z. A pixel's ray goes
through its centre (u, v) = (j + 0.5, i + 0.5) (schema convention).

Capsule (segment a -> b, radius r): with w = b - a, L2 = |w|^2, k = d.w, q = d.a and
m = a.w, the ray meets the infinite cylinder around the axis where
(L2 |d|^2 - k^2) t^2 - 2 (L2 q - k m) t + L2 (|a|^2 - r^2) - m^2 = 0; if the first root's
axis parameter s = t k - m lies in [0, L2] that is the capsule's first hit, otherwise
the first hit is with the end sphere on that side (a if s < 0, b if s > L2) or there is
none (the capsule lies inside the infinite cylinder, and its part beyond an end lies in
that end's sphere). The union's first hit is the smallest over capsules. Every capsule
must lie in front of the camera (z - r > 0 at both ends; checked).

The z-buffer evaluates every capsule over the pixels of its projected bounding box only,
as one flat vectorised batch of (pixel, capsule) pairs, then keeps the nearest hit per
pixel: exact depth at every pixel centre, about 0.7 pairs per pixel at 40-80 % fill.
"""

from __future__ import annotations

import numpy as np

from jaxhands.synthetic.surface import Capsules

_NO_HIT = np.inf


def _camera(intrinsics):
    k = np.asarray(intrinsics, np.float64)
    if k.shape != (3, 3):
        raise ValueError(f"intrinsics: expected shape [3, 3], got {k.shape}")
    return k[0, 0], k[1, 1], k[0, 2], k[1, 2]


def _capsule_constants(capsules: Capsules) -> np.ndarray:
    """Per-capsule constants [11, C] of `_capsule_hits` (rows documented there)."""
    a, b, r = capsules.starts, capsules.ends, capsules.radii
    w = b - a
    l2 = np.sum(w * w, -1)
    m = np.sum(a * w, -1)
    aa, bb = np.sum(a * a, -1), np.sum(b * b, -1)
    cylinder_c = l2 * (aa - r * r) - m * m
    return np.concatenate([a.T, w.T, np.stack([l2, m, cylinder_c, aa - r * r, bb - r * r])])


def _capsule_hits(x, y, constants):
    """Depth of the first hit of rays (x, y, 1) with capsules, inf where missed.

    x, y and the rows of `constants` (a[3], w[3], L2, m, cylinder c, |a|^2 - r^2,
    |b|^2 - r^2) broadcast against each other.
    """
    a0, a1, a2, w0, w1, w2, l2, m, cylinder_c, a_c, b_c = constants
    k = x * w0 + y * w1 + w2
    q = x * a0 + y * a1 + a2
    n2 = x * x + y * y + 1.0
    quad_a = l2 * n2 - k * k
    quad_b = l2 * q - k * m
    disc = quad_b * quad_b - quad_a * cylinder_c
    slanted = quad_a > 1e-12 * l2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (quad_b - np.sqrt(np.maximum(disc, 0.0))) / quad_a
    s = t * k - m
    # If the camera lies inside the infinite cylinder (cylinder_c < 0: a bone pointing
    # at it), or the ray runs along the axis, the ray can only enter the capsule
    # through the end facing the camera.
    through_side = slanted & (cylinder_c >= 0.0)
    body = through_side & (s >= 0.0) & (s <= l2)
    use_end = np.where(through_side, s > l2, k < 0.0)
    # End sphere centre c = a or b = a + w: d.c = q or q + k.
    sphere_b = np.where(use_end, q + k, q)
    sphere_disc = sphere_b * sphere_b - n2 * np.where(use_end, b_c, a_c)
    t_cap = (sphere_b - np.sqrt(np.maximum(sphere_disc, 0.0))) / n2
    t = np.where(body, t, np.where(sphere_disc >= 0.0, t_cap, _NO_HIT))
    return np.where(disc >= 0.0, t, _NO_HIT)


def _pixel_boxes(capsules: Capsules, intrinsics, height: int, width: int) -> np.ndarray:
    """Pixel ranges [C, 4] (row0, row1, col0, col1; ends exclusive) covering each capsule.

    The extremes of x/z over the box [x-r, x+r] x [z-r, z+r] (z-r > 0) are at its corners,
    and a capsule lies inside the convex hull of its two end spheres, so the corner
    projections of both ends' boxes bound the capsule's image.
    """
    fx, fy, cx, cy = _camera(intrinsics)
    centres = np.stack([capsules.starts, capsules.ends], 1)  # [C, 2 ends, 3]
    radii = capsules.radii[:, None, None]
    near = centres[..., 2] - radii[..., 0]
    if np.any(near <= 0):
        raise ValueError(f"hand surface reaches behind the camera (nearest depth {near.min():.3f} m)")
    signs = np.array([-1.0, 1.0])
    lateral = centres[:, :, None, :2] + signs[None, None, :, None] * radii[..., None]  # [C, 2, 2, 2]
    depth = centres[:, :, None, 2] + signs * radii  # [C, 2, 2]
    ratio = lateral[:, :, :, None, :] / depth[:, :, None, :, None]  # [C, end, lateral, depth, axis]
    low, high = ratio.min((1, 2, 3)), ratio.max((1, 2, 3))
    u_low, u_high = fx * low[:, 0] + cx, fx * high[:, 0] + cx
    v_low, v_high = fy * low[:, 1] + cy, fy * high[:, 1] + cy
    # Pixel j's centre j + 0.5 lies in [low, high] for ceil(low - 0.5) <= j <= floor(high - 0.5).
    cols = np.clip(np.stack([np.ceil(u_low - 0.5), np.floor(u_high - 0.5) + 1], -1), 0, width)
    rows = np.clip(np.stack([np.ceil(v_low - 0.5), np.floor(v_high - 0.5) + 1], -1), 0, height)
    return np.concatenate([rows, cols], -1).astype(np.int64)


def render_depth(capsules: Capsules, intrinsics, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact z-buffer of the surface: depth [H, W] float64 (0 = no hand), capsule id [H, W].

    id is the capsule hit first at each pixel (-1 where none).
    """
    fx, fy, cx, cy = _camera(intrinsics)
    xs = (np.arange(width) + 0.5 - cx) / fx
    ys = (np.arange(height) + 0.5 - cy) / fy
    boxes = _pixel_boxes(capsules, intrinsics, height, width)
    box_rows = np.maximum(boxes[:, 1] - boxes[:, 0], 0)
    box_cols = np.maximum(boxes[:, 3] - boxes[:, 2], 0)
    counts = box_rows * box_cols
    # Flat (pixel, capsule) pairs: pair i belongs to capsule `owner[i]` and is the
    # `local[i]`-th pixel (row-major) of its box.
    owner = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    box_width = np.repeat(box_cols, counts)
    rows = np.repeat(boxes[:, 0], counts) + local // box_width
    cols = np.repeat(boxes[:, 2], counts) + local % box_width
    t = _capsule_hits(np.take(xs, cols), np.take(ys, rows), np.take(_capsule_constants(capsules), owner, axis=1))
    pixel = rows * width + cols
    depth = np.full(height * width, _NO_HIT)
    np.minimum.at(depth, pixel, t)
    ids = np.full(height * width, -1, np.int32)
    nearest = (t == np.take(depth, pixel)) & (t < _NO_HIT)
    ids[pixel[nearest]] = owner[nearest]
    depth[ids < 0] = 0.0
    return depth.reshape(height, width), ids.reshape(height, width)


def cast_rays(uv: np.ndarray, capsules: Capsules, intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """First hits of the rays through image points uv [N, 2]: depth [N] (0 = miss), id [N]."""
    fx, fy, cx, cy = _camera(intrinsics)
    uv = np.asarray(uv, np.float64)
    x, y = (uv[:, :1] - cx) / fx, (uv[:, 1:] - cy) / fy
    hits = _capsule_hits(x, y, _capsule_constants(capsules)[:, None, :])  # [N, C]
    ids = np.argmin(hits, -1)
    depth = hits[np.arange(len(uv)), ids]
    missed = ~np.isfinite(depth)
    return np.where(missed, 0.0, depth), np.where(missed, -1, ids).astype(np.int32)


def surface_normals(points: np.ndarray, ids: np.ndarray, capsules: Capsules) -> np.ndarray:
    """Outward unit normals [N, 3] at surface points [N, 3] lying on capsules `ids` [N]."""
    points = np.asarray(points, np.float64)
    ids = np.asarray(ids)
    if np.any(ids < 0):
        raise ValueError("surface_normals: every point needs a capsule id >= 0 (a hit)")
    start = np.take(capsules.starts, ids, axis=0)
    axis = np.take(capsules.ends - capsules.starts, ids, axis=0)
    s = np.clip(np.sum((points - start) * axis, -1) / np.sum(axis * axis, -1), 0.0, 1.0)
    normal = points - start - s[:, None] * axis
    return normal / np.linalg.norm(normal, axis=-1, keepdims=True)


def hand_pixel_normals(depth: np.ndarray, ids: np.ndarray, capsules: Capsules, intrinsics):
    """Normals [M, 3] of the surface seen at the M hand pixels (ids >= 0) of a render,
    with those pixels' flat (row-major) indices [M]."""
    fx, fy, cx, cy = _camera(intrinsics)
    height, width = depth.shape
    flat = np.flatnonzero(ids >= 0)
    rows, cols = np.divmod(flat, width)
    z = np.take(depth, flat)
    points = np.stack([(cols + 0.5 - cx) * (z / fx), (rows + 0.5 - cy) * (z / fy), z], -1)
    return surface_normals(points, np.take(ids, flat), capsules), flat
