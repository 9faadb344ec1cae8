"""One synthetic sample in the jaxhands schema, fully determined by (seed, index).

generate_sample = sample_scene (hand, pose, placement, camera) + render_scene (z-buffer,
mask, RGB, keypoints, visibility, point cloud). Three independent random streams,
np.random.default_rng([seed, index, stream]) for the scene (0), the colours (1) and the
point cloud (2), so any worker can produce any index and changing the look of the images
does not move the poses.

Camera: square image of `image_size` pixels, principal point at the image centre and
fx = fy chosen so that the longer side of the hand's projected bounding box is a
random fraction (config.image_fill_range) of the image side; the box is then placed at
a random position that keeps it in the image up to config.max_offscreen of its side.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from jaxhands.geometry import camera
from jaxhands.synthetic import appearance, hand_model, render
from jaxhands.synthetic.config import SyntheticConfig
from jaxhands.synthetic.hand_model import HandShape
from jaxhands.synthetic.surface import JOINT_CAPSULES, PALM_BASE_ENDS, Capsules, hand_capsules

_SCENE_STREAM, _APPEARANCE_STREAM, _POINTS_STREAM, _CONTENT_STREAM = 0, 1, 2, 3
_PLACEMENT_ITERATIONS = 3
# The smallest image side the generator renders (a hand's finger capsules need a few
# pixels); the dataset builder and `data_prep synthetic` check against the same number.
MIN_IMAGE_SIZE = 16


@dataclasses.dataclass(frozen=True)
class Scene:
    """Everything sampled for one sample before rendering (float64, metres, radians).

    A palm-frame point p (of the `side` hand, i.e. already mirrored for a left hand)
    is at rotation @ (p - centre_local) + translation in the camera frame.
    """

    side: int
    angles: np.ndarray          # [21] joint angles, hand_model.ANGLE_NAMES order
    shape: HandShape
    joints_local: np.ndarray    # [21, 3] palm frame of the `side` hand
    centre_local: np.ndarray    # [3] palm-frame point placed at `translation`
    rotation: np.ndarray        # [3, 3] palm frame -> camera frame
    translation: np.ndarray     # [3]
    keypoints_3d: np.ndarray    # [21, 3] camera frame
    capsules: Capsules          # camera frame
    intrinsics: np.ndarray      # [3, 3]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation matrix (normalised Gaussian quaternion)."""
    quaternion = rng.normal(size=4)
    w, x, y, z = quaternion / np.linalg.norm(quaternion)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _normalised_box(capsules: Capsules, translation: np.ndarray) -> np.ndarray:
    """(x/z, y/z) bounding box [2 (low, high), 2] of the capsules moved by `translation`.

    The capsules lie in the convex hull of their end spheres, and x/z over a sphere's
    bounding cube is extreme at its corners, so this box contains the hand's image.
    """
    centres = np.concatenate([capsules.starts, capsules.ends]) + translation
    radii = np.concatenate([capsules.radii, capsules.radii])[:, None]
    near, far = centres[:, 2:] - radii, centres[:, 2:] + radii
    lateral_low, lateral_high = centres[:, :2] - radii, centres[:, :2] + radii
    corners = np.concatenate([lateral_low / near, lateral_low / far, lateral_high / near, lateral_high / far])
    return np.stack([corners.min(0), corners.max(0)])


def sample_scene(index: int, *, seed: int, image_size: int = 128,
                 config: SyntheticConfig | None = None) -> Scene:
    """Samples the hand (side, shape, pose), its orientation, position and the camera."""
    config = config or SyntheticConfig()
    rng = np.random.default_rng([seed, index, _SCENE_STREAM])
    side = hand_model.LEFT if rng.uniform() < config.left_hand_probability else hand_model.RIGHT
    shape = hand_model.sample_shape(rng, config)
    angles = hand_model.sample_angles(rng, config)
    rotation = random_rotation(rng)
    depth = rng.uniform(*config.depth_range_m)
    fill = rng.uniform(*config.image_fill_range)
    placement = rng.uniform(0.0, 1.0, 2)
    return build_scene(side, shape, angles, rotation, depth=depth, fill=fill, placement=placement,
                       image_size=image_size, max_offscreen=config.max_offscreen)


def build_scene(side: int, shape: HandShape, angles: np.ndarray, rotation: np.ndarray, *, depth: float,
                fill: float, placement: np.ndarray, image_size: int, max_offscreen: float) -> Scene:
    """Poses the hand, turns it by `rotation`, and places it and the camera.

    The centre of the hand's bounding box goes to depth `depth`; the focal length makes
    the longer side of its projected bounding box `fill` * image_size; `placement` in
    [0, 1]^2 puts the box from the left/top-most to the right/bottom-most position that
    keeps it inside the image up to `max_offscreen` of its side.
    """
    joints_local = hand_model.mirror_to_side(hand_model.forward_kinematics(angles, shape), side)
    base_ends = hand_model.mirror_to_side(PALM_BASE_ENDS * shape.scale_m, side)
    local = hand_capsules(joints_local, shape, base_ends)
    ends = np.concatenate([local.starts, local.ends])
    centre_local = 0.5 * (ends.min(0) + ends.max(0))
    relative = local.transformed(rotation, -rotation @ centre_local)

    translation = np.array([0.0, 0.0, depth])
    box = _normalised_box(relative, translation)
    focal = fill * image_size / np.max(box[1] - box[0])
    size_px = focal * (box[1] - box[0])
    slack = max_offscreen * size_px
    target_low = -slack + np.asarray(placement) * (image_size - size_px + 2 * slack)
    target_centre = target_low + 0.5 * size_px
    principal = 0.5 * image_size
    for _ in range(_PLACEMENT_ITERATIONS):
        box = _normalised_box(relative, translation)
        centre_px = focal * 0.5 * (box[0] + box[1]) + principal
        translation[:2] += (target_centre - centre_px) * depth / focal
    intrinsics = np.asarray(camera.intrinsics_matrix(focal, focal, principal, principal), np.float64)
    capsules = relative.transformed(np.eye(3), translation)
    keypoints_3d = (joints_local - centre_local) @ rotation.T + translation
    return Scene(side=side, angles=np.asarray(angles, np.float64), shape=shape, joints_local=joints_local,
                 centre_local=centre_local, rotation=np.asarray(rotation, np.float64), translation=translation,
                 keypoints_3d=keypoints_3d, capsules=capsules, intrinsics=intrinsics)


# A joint seen through one of its own bones' capsules stays visible if that surface is at
# most this many joint radii in front of it: a capsule viewed at angle theta to its axis
# is entered r / sin(theta) before the axis, i.e. up to 3 r down to theta = 20 degrees.
# Beyond that the bone points at the camera and hides the joint behind its other end.
OWN_BONE_TOLERANCE = 3.0


def keypoint_visibility(keypoints_3d: np.ndarray, keypoints_2d: np.ndarray, depth: np.ndarray, ids: np.ndarray,
                        capsules: Capsules, margin_m: float) -> np.ndarray:
    """[21] bool: inside the image and not occluded according to the z-buffer.

    At the keypoint's pixel, the first surface must be at most the joint's surface
    radius r (+ margin) in front of the joint (its own capsules' front surface), or at
    most OWN_BONE_TOLERANCE * r (+ margin) in front if that surface belongs to the
    joint's own rigid part (surface.JOINT_CAPSULES: its bones, or the palm for the palm
    joints); a nearer surface is an occluder.
    """
    height, width = depth.shape
    cols, rows = np.floor(keypoints_2d[:, 0]), np.floor(keypoints_2d[:, 1])
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    rows = np.clip(rows, 0, height - 1).astype(int)
    cols = np.clip(cols, 0, width - 1).astype(int)
    at_pixel, hit = depth[rows, cols], ids[rows, cols]
    in_front = keypoints_3d[:, 2] - at_pixel
    own = JOINT_CAPSULES[np.arange(len(hit)), np.maximum(hit, 0)] & (hit >= 0)
    radii = capsules.joint_radii
    unoccluded = (in_front <= radii + margin_m) | (own & (in_front <= OWN_BONE_TOLERANCE * radii + margin_m))
    return inside & (hit >= 0) & unoccluded


def surface_points(rng: np.random.Generator, scene: Scene, depth: np.ndarray, num_points: int) -> np.ndarray:
    """[N, 3] exact visible-surface points, from uniformly drawn hand pixels.

    Each point is the first hit of the ray through a uniformly jittered position inside
    its pixel; where that ray grazes past the hand, the pixel centre's hit (the depth
    map's value) is used instead.
    """
    rows, cols = np.nonzero(depth > 0)
    pick = rng.choice(rows.size, size=num_points, replace=rows.size < num_points)
    rows, cols = rows[pick], cols[pick]
    uv = np.stack([cols, rows], -1) + rng.uniform(0.0, 1.0, (num_points, 2))
    hit_depth, _ = render.cast_rays(uv, scene.capsules, scene.intrinsics)
    missed = hit_depth <= 0
    uv[missed] = np.stack([cols[missed], rows[missed]], -1) + 0.5
    hit_depth[missed] = depth[rows[missed], cols[missed]]
    return camera.uvd_to_xyz(np.concatenate([uv, hit_depth[:, None]], -1), scene.intrinsics)


def content_id(index: int, config: SyntheticConfig) -> int:
    """The content sample `index` shows when config.num_backgrounds = K > 0: index % K."""
    if config.num_backgrounds < 1:
        raise ValueError("content ids exist only with SyntheticConfig.num_backgrounds >= 1 (shared contents)")
    return int(index) % config.num_backgrounds


def shared_content(content: int, *, seed: int, image_size: int, config: SyntheticConfig) -> appearance.Content:
    """Content number `content` of the dataset `seed` (background, skin, light), the same
    for every image that shows it."""
    return appearance.draw_content(np.random.default_rng([seed, int(content), _CONTENT_STREAM]), image_size,
                                   image_size, config.background)


def render_scene(scene: Scene, *, image_size: int, num_points: int, appearance_rng: np.random.Generator,
                 points_rng: np.random.Generator, config: SyntheticConfig | None = None,
                 content: appearance.Content | None = None) -> dict[str, np.ndarray]:
    """Renders a scene into the schema fields (see jaxhands.data.schema); `content`:
    the background, skin and light to use (default: drawn from appearance_rng, which
    always draws the pixel noise)."""
    config = config or SyntheticConfig()
    depth, ids = render.render_depth(scene.capsules, scene.intrinsics, image_size, image_size)
    mask = ids >= 0
    if not mask.any():
        raise ValueError(f"rendered hand has no pixel in the {image_size}x{image_size} image")
    intrinsics = scene.intrinsics.astype(np.float32)
    keypoints_3d = scene.keypoints_3d.astype(np.float32)
    keypoints_2d = camera.project(keypoints_3d, intrinsics)
    visible = keypoint_visibility(keypoints_3d, keypoints_2d, depth, ids, scene.capsules,
                                  config.visibility_margin_m)

    normals, hand_pixels = render.hand_pixel_normals(depth, ids, scene.capsules, scene.intrinsics)
    image = appearance.compose_image(appearance_rng, image_size, image_size, hand_pixels, normals,
                                     config.pixel_noise_std_range, config.background, content)
    points = surface_points(points_rng, scene, depth, num_points)
    return {
        "image": image,
        "depth": depth.astype(np.float32),
        "mask": mask.astype(np.uint8),
        "keypoints_2d": keypoints_2d.astype(np.float32),
        "keypoints_3d": keypoints_3d,
        "visible": visible,
        "points": points.astype(np.float32),
        "intrinsics": intrinsics,
        "hand_side": np.array(scene.side, np.int32),
    }


def _check_arguments(index: int, seed: int, image_size: int, num_points: int) -> None:
    for name, value, minimum in (("index", index, 0), ("seed", seed, 0), ("image_size", image_size, MIN_IMAGE_SIZE),
                                 ("num_points", num_points, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"generate_sample: {name} must be an integer >= {minimum}, got {value!r}")


def generate_sample(index: int, *, seed: int, image_size: int = 128, num_points: int = 256,
                    config: SyntheticConfig | None = None) -> dict[str, np.ndarray]:
    """Synthetic sample `index` of the dataset `seed`: the schema fields.

    The same (seed, index, image_size, num_points, config) always gives identical arrays.
    With config.num_backgrounds = K > 0 it also has `content_id` (int32, index % K) and
    `tag_image` (uint8 [H, W, 3], that content's background alone).
    """
    config = config or SyntheticConfig()
    if config.num_backgrounds:
        return generate_transfer(index, index, seed=seed, image_size=image_size, num_points=num_points,
                                 config=config)
    _check_arguments(index, seed, image_size, num_points)
    index, seed = int(index), int(seed)
    scene = sample_scene(index, seed=seed, image_size=image_size, config=config)
    return render_scene(scene, image_size=image_size, num_points=num_points,
                        appearance_rng=np.random.default_rng([seed, index, _APPEARANCE_STREAM]),
                        points_rng=np.random.default_rng([seed, index, _POINTS_STREAM]), config=config)


def generate_transfer(pose_index: int, content_index: int, *, seed: int, image_size: int = 128,
                      num_points: int = 256, config: SyntheticConfig) -> dict[str, np.ndarray]:
    """Sample `pose_index`'s hand (pose, shape, camera, pixel noise) drawn on the content of
    sample `content_index` (config.num_backgrounds = K > 0): the ground truth of Yang &
    Yao's pose transfer (spec D7). generate_transfer(i, i) is generate_sample(i); every
    field but the image, content_id and tag_image is sample `pose_index`'s."""
    if config.num_backgrounds < 1:
        raise ValueError("generate_transfer needs shared contents: SyntheticConfig.num_backgrounds >= 1, got "
                         f"{config.num_backgrounds}")
    _check_arguments(pose_index, seed, image_size, num_points)
    _check_arguments(content_index, seed, image_size, num_points)
    pose_index, seed = int(pose_index), int(seed)
    content = content_id(content_index, config)
    shared = shared_content(content, seed=seed, image_size=image_size, config=config)
    scene = sample_scene(pose_index, seed=seed, image_size=image_size, config=config)
    sample = render_scene(scene, image_size=image_size, num_points=num_points,
                          appearance_rng=np.random.default_rng([seed, pose_index, _APPEARANCE_STREAM]),
                          points_rng=np.random.default_rng([seed, pose_index, _POINTS_STREAM]), config=config,
                          content=shared)
    sample["content_id"] = np.array(content, np.int32)
    sample["tag_image"] = shared.tag_image()
    return sample


def generate_samples(indices: Sequence[int], *, seed: int, image_size: int = 128, num_points: int = 256,
                     config: SyntheticConfig | None = None) -> dict[str, np.ndarray]:
    """generate_sample for each index, stacked along a new leading batch axis."""
    indices = list(indices)
    if not indices:
        raise ValueError("generate_samples: indices is empty")
    samples = [generate_sample(i, seed=seed, image_size=image_size, num_points=num_points, config=config)
               for i in indices]
    return {name: np.stack([s[name] for s in samples]) for name in samples[0]}
