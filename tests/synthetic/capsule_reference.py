"""Brute-force references for the capsule surface (used by several synthetic tests)."""

from __future__ import annotations

import numpy as np

from jaxhands.synthetic.surface import Capsules


def sphere_trace(directions: np.ndarray, capsules: Capsules, max_depth: float = 2.0) -> np.ndarray:
    """Depth of the first surface hit along rays from the origin (directions [N, 3] with z = 1).

    The union's signed distance is a lower bound of the distance to the surface, so
    stepping by it never jumps over the first hit and converges onto it.
    """
    unit = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    travelled = np.zeros(len(unit))
    done = np.zeros(len(unit), bool)
    for _ in range(2000):
        distance = capsules.signed_distance(unit * travelled[:, None])
        done |= distance < 1e-9
        travelled = np.where(done, travelled, travelled + distance)
        if np.all(done | (travelled * unit[:, 2] > max_depth)):
            break
    depth = travelled * unit[:, 2]
    return np.where(done, depth, 0.0)


def per_capsule_distance(points: np.ndarray, capsules: Capsules) -> np.ndarray:
    """Signed distance [N, C] of each point to each capsule."""
    axis = capsules.ends - capsules.starts
    offset = points[:, None] - capsules.starts[None]
    s = np.clip(np.sum(offset * axis, -1) / np.sum(axis * axis, -1), 0.0, 1.0)
    return np.linalg.norm(offset - s[..., None] * axis, axis=-1) - capsules.radii
