"""The papers' hand crop, applied to a whole sample before augmentation.

Every image method of the four papers sees a crop around the hand, not the full
camera frame:

- RGB (Spurr et al. 2018, Yang et al. 2019, Yang & Yao 2019, all following hand3d,
  Zimmermann & Brox 2017): a square centred on the middle-finger MCP, just large
  enough to hold every visible 2D keypoint (`cropping.rgb_crop_box`), resampled to
  `out_size` pixels. Mode "rgb_keypoints".
- Depth (Wan et al. 2017 after DeepPrior; Spurr et al. 2018 for depth): the image
  box of a metric cube (`cube_size_m`, 0.3 m in the papers) centred on the hand's
  depth centre of mass, depths outside the cube dropped. Mode "depth_cube".

Why it matters here: on the uncropped synthetic frames the hand covers ~15 % of the
pixels at a random place and size, so a global-average-pooled ResNet sees mostly
background and regresses the mean pose (issue 25). The crop removes the hand's
translation and scale from the input, exactly as the papers' inputs do.

The crop moves every modality of the sample together: image (bilinear, area-filtered
when shrinking), depth and mask (nearest), keypoints_2d (exact affine map),
intrinsics (K' = A K) and visible (and-ed with "inside the crop"). 3D fields
(keypoints_3d, points) are camera-frame metres and do not change. Boxes come from
the sample's own labels (2D keypoints, depth), as in the papers' evaluation
protocols, which also crop test images around the ground-truth hand.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from jaxhands.data import cropping
from jaxhands.data.schema import COLOUR_IMAGE_FIELDS
from jaxhands.geometry.layouts import JOINT_INDEX

MODES = ("none", "rgb_keypoints", "depth_cube")


@dataclasses.dataclass(frozen=True)
class HandCropConfig:
    """How to crop a sample around its hand (module doc).

    mode: "none", "rgb_keypoints" or "depth_cube".
    out_size: side of the square output in pixels.
    margin: the box side is multiplied by this (1.0 = hand3d's tight box).
    min_box, max_box: hand3d's clamp on the box side, in full-image pixels.
    centre_joint: the joint the RGB box is centred on (hand3d: middle_mcp).
    cube_size_m: side of the depth crop's metric cube.
    """

    mode: str = "none"
    out_size: int = 64
    margin: float = 1.0
    min_box: float = 8.0
    max_box: float = cropping.HAND3D_MAX_BOX
    centre_joint: str = "middle_mcp"
    cube_size_m: float = 0.3

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"hand_crop.mode must be one of {MODES}, got {self.mode!r}")
        if int(self.out_size) < 8:
            raise ValueError(f"hand_crop.out_size must be >= 8 pixels, got {self.out_size}")
        if not self.margin > 0:
            raise ValueError(f"hand_crop.margin must be positive, got {self.margin}")
        if not 0 < self.min_box <= self.max_box:
            raise ValueError(f"hand_crop needs 0 < min_box <= max_box, got {self.min_box}, {self.max_box}")
        if self.centre_joint not in JOINT_INDEX:
            raise ValueError(f"hand_crop.centre_joint {self.centre_joint!r} is not a joint name; "
                             f"expected one of {sorted(JOINT_INDEX)}")
        if not self.cube_size_m > 0:
            raise ValueError(f"hand_crop.cube_size_m must be positive, got {self.cube_size_m}")

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> HandCropConfig:
        if mapping is None:
            return cls()
        if isinstance(mapping, HandCropConfig):
            return mapping
        values = dict(mapping)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"hand_crop: unknown field(s) {unknown}; expected some of {sorted(known)}")
        return cls(**values)


def _require(sample: Mapping[str, Any], names, mode: str) -> None:
    missing = [n for n in names if n not in sample]
    if missing:
        raise ValueError(f"hand_crop mode {mode!r} needs the sample field(s) {missing}; the sample has "
                         f"{sorted(sample)}")


def _image_wh(sample: Mapping[str, Any]) -> tuple[int, int]:
    for name in ("image", "depth", "mask"):
        if name in sample:
            height, width = np.shape(sample[name])[:2]
            return int(width), int(height)
    raise ValueError(f"hand_crop needs an image, depth or mask to crop; the sample has {sorted(sample)}")


def keypoint_box(keypoints_2d, visible, image_wh: tuple[int, int], config: HandCropConfig) -> cropping.CropBox:
    """hand3d's box around keypoints_2d [J, 2] (visible: [J] bool) in an image of
    (width, height) pixels, scaled by `margin` about the centre joint."""
    uv = np.asarray(keypoints_2d, np.float64)
    visible = np.asarray(visible, bool)
    if not visible.any():
        # Fully occluded or out of frame: centre on every keypoint rather than
        # hand3d's fixed 200-pixel box, which is meaningless at other resolutions.
        visible = np.ones_like(visible)
    centre = uv[JOINT_INDEX[config.centre_joint]]
    box = cropping.rgb_crop_box(uv, visible, centre, image_wh, min_size=config.min_box, max_size=config.max_box)
    side = box.width * config.margin
    return cropping.CropBox.centred(centre[0], centre[1], side, side)


def rgb_box(sample: Mapping[str, Any], config: HandCropConfig) -> cropping.CropBox:
    """hand3d's box from the sample's keypoints_2d / visible (`keypoint_box`)."""
    _require(sample, ("keypoints_2d", "visible"), config.mode)
    return keypoint_box(sample["keypoints_2d"], sample["visible"], _image_wh(sample), config)


def depth_centre_of_mass(depth, intrinsics, mask=None, cube_size_m: float = 0.3) -> np.ndarray:
    """[3] metres: mean back-projected point of the hand's depth pixels.

    Hand pixels: measured (depth > 0), on the mask when one is given and non-empty,
    and within `cube_size_m` behind the nearest of them (DeepPrior's threshold,
    which drops the background behind a hand in real depth maps).
    """
    depth = np.asarray(depth, np.float64)
    measured = depth > 0
    if mask is not None:
        on_hand = measured & (np.asarray(mask) > 0)
        if on_hand.any():
            measured = on_hand
    if not measured.any():
        raise ValueError("hand_crop depth_cube: the depth map has no measured pixel (all 0) to centre on")
    near = depth[measured].min()
    chosen = measured & (depth <= near + cube_size_m)
    rows, cols = np.nonzero(chosen)
    z = depth[rows, cols]
    k = np.asarray(intrinsics, np.float64)
    x = (cols + 0.5 - k[0, 2]) * z / k[0, 0]
    y = (rows + 0.5 - k[1, 2]) * z / k[1, 1]
    return np.array([x.mean(), y.mean(), z.mean()])


def depth_box(sample: Mapping[str, Any], config: HandCropConfig) -> tuple[cropping.CropBox, np.ndarray]:
    """DeepPrior's cube box around the depth centre of mass, and that centre [3]."""
    _require(sample, ("depth", "intrinsics"), config.mode)
    centre = depth_centre_of_mass(sample["depth"], sample["intrinsics"], sample.get("mask"), config.cube_size_m)
    return cropping.cube_crop_box(centre, config.cube_size_m * config.margin, sample["intrinsics"]), centre


NEAREST_FIELDS = ("depth", "mask")  # resampled by nearest neighbour: no value invented
IMAGE_FRAME_FIELDS = (*COLOUR_IMAGE_FIELDS, *NEAREST_FIELDS)


def apply_box(sample: Mapping[str, Any], box: cropping.CropBox, out_size: int) -> dict[str, Any]:
    """Every image-frame field of `sample` moved into `box`, resampled to out_size."""
    out = dict(sample)
    for name in COLOUR_IMAGE_FIELDS:
        if name in sample:
            out[name] = cropping.crop_bilinear(sample[name], box, out_size)
    for name in NEAREST_FIELDS:
        if name in sample:
            out[name] = cropping.crop_nearest(sample[name], box, out_size)
    if "keypoints_2d" in sample:
        uv = cropping.full_to_crop(sample["keypoints_2d"], box, out_size)
        out["keypoints_2d"] = uv.astype(np.float32)
        if "visible" in sample:
            out["visible"] = np.asarray(sample["visible"], bool) & cropping.inside_crop(uv, out_size)
    if "intrinsics" in sample:
        out["intrinsics"] = cropping.crop_intrinsics(sample["intrinsics"], box, out_size).astype(np.float32)
    return out


def jitter_box(box: cropping.CropBox, fraction: float, rng: np.random.Generator) -> cropping.CropBox:
    """`box` with its centre moved by up to `fraction` of its side along each axis and
    its side scaled by a factor in [1 - fraction, 1 + fraction] (uniform draws): a
    detector-quality box instead of the ground-truth one."""
    if not 0 <= fraction < 1:
        raise ValueError(f"box jitter must be in [0, 1), got {fraction}")
    du, dv, ds = rng.uniform(-fraction, fraction, size=3)
    cu, cv = box.u0 + box.width / 2, box.v0 + box.height / 2
    return cropping.CropBox.centred(cu + du * box.width, cv + dv * box.height,
                                    box.width * (1 + ds), box.height * (1 + ds))


def crop_hand(sample: Mapping[str, Any], config: HandCropConfig, *, box_jitter: float = 0.0,
              rng: np.random.Generator | None = None, images: bool = True) -> dict[str, Any]:
    """The sample cropped around its hand as `config.mode` says (a new dict).

    box_jitter > 0 perturbs the ground-truth box (`jitter_box`, draws from `rng`):
    how evaluation measures what an imperfect hand detector costs.
    images=False: the box is found from the whole sample as usual, but only its point
    fields (keypoints_2d, visible, intrinsics, ...) are moved into it and its image-frame
    fields are left out of the result - a pose-only reader's crop, without resampling
    pictures it would discard (reading the poses of 20k records took 119 s, 103 of them
    resampling images).
    """
    if not config.enabled:
        return dict(sample)
    if box_jitter and rng is None:
        raise ValueError("crop_hand: box_jitter needs an rng")

    def jittered(box):
        return jitter_box(box, box_jitter, rng) if box_jitter else box

    moved = sample if images else {k: v for k, v in sample.items() if k not in IMAGE_FRAME_FIELDS}
    if config.mode == "rgb_keypoints":
        return apply_box(moved, jittered(rgb_box(sample, config)), config.out_size)
    box, centre = depth_box(sample, config)
    out = apply_box(moved, jittered(box), config.out_size)
    if "depth" in out:
        out["depth"] = cropping.clip_depth_to_cube(out["depth"], centre[2], config.cube_size_m * config.margin)
    return out
