"""A tiny stand-in hand generator with the signature of jaxhands.synthetic.generate_sample.

It renders a 21-joint stick hand as discs along the bones (mask 1, depth = the
interpolated joint depth, the nearest disc wins), so tests of the data layer can
check geometry (keypoints on the mask, depth at keypoints ~ z) without the real
renderer. Fully determined by (seed, index).
"""

from __future__ import annotations

import numpy as np

from jaxhands.geometry.camera import intrinsics_matrix, project, sample_depth_points
from jaxhands.geometry.layouts import BONES, NUM_JOINTS


def fake_generate_sample(index: int, *, seed: int, image_size: int = 128, num_points: int = 256,
                         config=None) -> dict:
    rng = np.random.default_rng([seed, index])
    focal = 1.4 * image_size
    intrinsics = intrinsics_matrix(focal, focal, image_size / 2 + rng.uniform(-2, 2),
                                   image_size / 2 + rng.uniform(-2, 2))
    # A hand ~0.15 m across at 0.5 m fills about 40% of the image.
    centre = np.array([rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02), rng.uniform(0.45, 0.55)])
    keypoints_3d = (centre + rng.uniform(-0.06, 0.06, (NUM_JOINTS, 3)) * [1.0, 1.0, 0.5]).astype(np.float32)
    keypoints_2d = project(keypoints_3d, intrinsics).astype(np.float32)

    depth = np.zeros((image_size, image_size), np.float32)
    radius = max(1.5, image_size / 40)
    v, u = np.mgrid[0:image_size, 0:image_size] + 0.5
    for parent, child in BONES:
        for t in np.linspace(0.0, 1.0, 6):
            uv = (1 - t) * keypoints_2d[parent] + t * keypoints_2d[child]
            z = (1 - t) * keypoints_3d[parent, 2] + t * keypoints_3d[child, 2]
            disc = (u - uv[0]) ** 2 + (v - uv[1]) ** 2 <= radius**2
            depth = np.where(disc & ((depth == 0) | (depth > z)), np.float32(z), depth)
    mask = (depth > 0).astype(np.uint8)

    background = rng.integers(0, 60, (image_size, image_size, 3))
    skin = np.array([220, 170, 140]) + rng.integers(-20, 20, 3)
    shade = (1.0 - 4.0 * (depth - centre[2]))[..., None]
    image = np.where(mask[..., None] == 1, np.clip(skin * shade, 0, 255), background).astype(np.uint8)

    inside = np.all((keypoints_2d >= 0) & (keypoints_2d < image_size), axis=-1)
    pixel = np.clip(np.floor(keypoints_2d).astype(int), 0, image_size - 1)
    rendered_z = depth[pixel[:, 1], pixel[:, 0]]
    visible = inside & (np.abs(rendered_z - keypoints_3d[:, 2]) < 0.01)
    points = sample_depth_points(depth, intrinsics, num_points, rng)
    return {
        "image": image,
        "depth": depth,
        "mask": mask,
        "keypoints_2d": keypoints_2d,
        "keypoints_3d": keypoints_3d,
        "visible": visible,
        "points": points,
        "intrinsics": np.asarray(intrinsics, np.float32),
        "hand_side": np.int32(rng.integers(0, 2)),
    }


class GenerationFailed(RuntimeError):
    """Raised by `failing_generate_sample` to simulate a crash during generation."""


def failing_generate_sample(index: int, *, seed: int, image_size: int = 128, num_points: int = 256,
                            config=None) -> dict:
    """fake_generate_sample that crashes at index 5 (simulates an interrupted build)."""
    if index == 5:
        raise GenerationFailed(f"simulated failure while generating sample {index}")
    return fake_generate_sample(index, seed=seed, image_size=image_size, num_points=num_points)


def interrupted_generate_sample(index: int, *, seed: int, image_size: int = 128, num_points: int = 256,
                                config=None) -> dict:
    """fake_generate_sample that raises KeyboardInterrupt at index 3 (simulates Ctrl-C)."""
    if index == 3:
        raise KeyboardInterrupt
    return fake_generate_sample(index, seed=seed, image_size=image_size, num_points=num_points)


def forbidden_generate_sample(index: int, **kwargs) -> dict:
    """A generator that must not be called (checks that a complete dataset is reused)."""
    raise AssertionError(f"sample {index} was regenerated although the dataset was complete")
