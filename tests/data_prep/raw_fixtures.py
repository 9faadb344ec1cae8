"""Helpers that write tiny raw datasets in the datasets' exact on-disk formats.

The scenes are analytic so converted values can be checked exactly: a hand-sized
tilted plane in front of a flat background, rendered per pixel centre (pixel (i, j)
centred at (j + 0.5, i + 0.5), the jaxhands convention), joints lying on that plane.
"""

from __future__ import annotations

import pathlib

import numpy as np
from PIL import Image

from jaxhands.data import load_split
from jaxhands.data.storage import find_prepared


def write_png(path: pathlib.Path, array: np.ndarray) -> None:
    """uint8 [H, W] / [H, W, 3] or uint16 [H, W] (16-bit grey) PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def plane_depth(intrinsics: np.ndarray, shape: tuple[int, int], normal, offset: float) -> np.ndarray:
    """float64 [H, W]: depth z at which each pixel-centre ray meets the plane n . X = offset."""
    height, width = shape
    v, u = np.mgrid[0:height, 0:width] + 0.5
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    normal = np.asarray(normal, np.float64)
    ray_dot = normal[0] * (u - cx) / fx + normal[1] * (v - cy) / fy + normal[2]
    return offset / ray_dot


def points_on_plane(uv: np.ndarray, intrinsics: np.ndarray, normal, offset: float) -> np.ndarray:
    """[N, 3] points of the plane n . X = offset seen at pixels uv [N, 2]."""
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    rays = np.stack([(uv[:, 0] - cx) / fx, (uv[:, 1] - cy) / fy, np.ones(len(uv))], -1)
    return rays * (offset / (rays @ np.asarray(normal, np.float64)))[:, None]


def plane_residual(points: np.ndarray, normal, offset: float) -> np.ndarray:
    """Distance of each point to the plane n . X = offset (n need not be unit length)."""
    normal = np.asarray(normal, np.float64)
    return np.abs(points @ normal - offset) / np.linalg.norm(normal)


def disc(shape: tuple[int, int], centre_uv, radius: float) -> np.ndarray:
    """bool [H, W]: pixels whose centre lies within `radius` of centre_uv."""
    v, u = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    return (u - centre_uv[0]) ** 2 + (v - centre_uv[1]) ** 2 <= radius ** 2


def gradient_image(shape: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3]: R = 200 u / W, G = 200 v / H (at pixel centres), B = 77; linear, so crops are checkable."""
    v, u = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    return np.stack([200 * u / shape[1], 200 * v / shape[0], np.full(shape, 77.0)], -1).round().astype(np.uint8)


def read_records(out_dir: pathlib.Path, split: str) -> list[dict]:
    """Every record of one split of the single dataset prepared under out_dir."""
    source = load_split(out_dir, split)
    return [source[i] for i in range(len(source))]


def only_prepared(out_dir: pathlib.Path) -> pathlib.Path:
    found = find_prepared(out_dir)
    assert len(found) == 1, found
    return found[0]


def nothing_left_behind(out_dir: pathlib.Path) -> bool:
    """No prepared dataset and no temporary build directory under out_dir."""
    if not out_dir.exists():
        return True
    leftovers = [p for p in out_dir.rglob("*") if p.name.startswith(".tmp-")]
    return not find_prepared(out_dir) and not leftovers


def hand_plane(intrinsics: np.ndarray, centre_uv, centre_z: float):
    """(normal, offset) of a tilted plane whose depth at pixel centre_uv is centre_z."""
    normal = np.array([0.2, -0.1, 1.0])
    ray = np.array([(centre_uv[0] - intrinsics[0, 2]) / intrinsics[0, 0],
                    (centre_uv[1] - intrinsics[1, 2]) / intrinsics[1, 1], 1.0])
    return normal, centre_z * float(ray @ normal)


def depth_scene(rng, intrinsics, shape, centre_uv, radius, centre_z, background_z, num_joints, centre_joint):
    """A depth benchmark frame: a hand disc on a tilted plane in front of a far background.

    Returns (depth [H, W] metres, joints (u, v, d metres) [num_joints, 3] on the plane
    inside the disc, joint `centre_joint` at the disc centre, (normal, offset) of the
    plane, the disc mask).
    """
    normal, offset = hand_plane(intrinsics, centre_uv, centre_z)
    region = disc(shape, centre_uv, radius)
    depth = np.where(region, plane_depth(intrinsics, shape, normal, offset), background_z)
    uv = np.asarray(centre_uv, float) + rng.uniform(-0.6, 0.6, (num_joints, 2)) * radius
    uv[centre_joint] = centre_uv
    xyz = points_on_plane(uv, intrinsics, normal, offset)
    return depth, np.concatenate([uv, xyz[:, 2:]], 1), (normal, offset), region


def right_hand_votes(palm, index_base, little_base, thumb_base, tips, finger_bases):
    """Two per-frame votes that joints [N, ...] have right-hand geometry (right-handed camera frame).

    n = (index_base - palm) x (little_base - palm) points out of the palm for a right
    hand (anatomy: a right palm facing the camera with the fingers up has the thumb on
    the image's right). Votes: the fingers flex along +n (mean tip - mean base), and the
    thumb base lies on the +n side. Returns (flexion fraction, thumb fraction) of frames
    voting "right"; the sign convention is checked on InterHand2.6M's labelled hands.
    """
    normal = np.cross(index_base - palm, little_base - palm)
    flexion = np.einsum("ij,ij->i", normal, tips.mean(1) - finger_bases.mean(1)) > 0
    thumb = np.einsum("ij,ij->i", normal, thumb_base - palm) > 0
    return float(flexion.mean()), float(thumb.mean())


def canonical_right_hand_votes(joints21, palm=None):
    """right_hand_votes of canonical [N, 21, 3] joints (palm defaults to the wrist slot)."""
    palm = joints21[:, 0] if palm is None else palm
    return right_hand_votes(palm, joints21[:, 6], joints21[:, 18], joints21[:, 2], joints21[:, [8, 12, 16, 20]],
                            joints21[:, [6, 10, 14, 18]])
