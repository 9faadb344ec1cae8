"""Data augmentation that keeps every modality of a sample consistent.

One sample's geometric augmentation is a single change of camera:

- in-plane rotation by `theta` about the optical axis: the 3D keypoints and points
  are rotated about the camera z axis, X' = R_z(theta) X, and the principal point is
  moved so that the image turns about its centre, not about the principal point
  (which a crop around the hand puts anywhere, often outside the crop);
- horizontal flip: x -> -x in 3D, the image mirrored (u -> W - u), cx -> W - cx and
  the hand side swapped;
- crop scale s and shift (du, dv): a zoom about the image centre plus a translation,
  expressed as new intrinsics K' = A K with A = [[s, 0, (1-s) W/2 + du],
  [0, s, (1-s) H/2 + dv], [0, 0, 1]]; 3D is unchanged by it.

Because all three keep z unchanged, the induced map on pixels,
T = K' M R_z K^-1 (M = diag(-1, 1, 1) when flipping, else identity), is affine
(its last row is [0, 0, 1]) and exact for any fx, fy: with fx != fy the rotation
shows up in pixel space as a rotation plus an anisotropic shear, which T contains,
so there is no approximation beyond the resampling itself. With fx == fy (the
synthetic data) T is a plain rotation about the image centre followed by the
crop. The image is resampled once per sample through T (bilinear), depth and mask
through the same T with nearest neighbour so no depth value is invented; pixels
that come from outside the original frame are 0 (black, no depth, background).
The source coordinates are computed once per sample and shared by the three
planes (numpy gathers; ~3x faster at 128 px than five scipy.ndimage.affine_transform
calls, which the tests use as a reference).
2D keypoints are mapped through T, which equals re-projecting the transformed 3D
keypoints with K' whenever the stored 2D is the projection of the stored 3D, and
keeps hand-annotated 2D labels otherwise. `visible` is AND-ed with "inside the new
image", so keypoints that leave the frame become invisible and none becomes visible.

Points (the surface cloud) are transformed in 3D with M R_z only: the crop changes
the camera, not the hand, so no point is dropped. Samples may lack modalities
(skeleton-only sources): whatever is present is transformed, and without an image
frame only the rotation is defined.

Hue jitter shifts the HSV hue of the image by a fraction of the hue circle (±0.1 =
±36 degrees); it touches only the image.

Everything here is a pure numpy function of (sample, params); `draw_params` turns a
numpy Generator into params, always drawing the same numbers in the same order so
that switching one augmentation off does not change the draws of the others.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from jaxhands.data.schema import COLOUR_IMAGE_FIELDS, LEFT, RIGHT
from jaxhands.geometry.camera import sample_depth_points


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strongly. The defaults switch everything off.

    rotation_max_deg: in-plane rotation drawn uniformly in ±this (Spurr'18 ±45, Yang'19 ±180).
    scale_range: crop zoom factor drawn uniformly in [lo, hi]; > 1 zooms in.
    shift_max: crop translation drawn uniformly in ±this fraction of the image size, per axis.
    flip_prob: probability of a horizontal flip (which also swaps the hand side).
    hue_max: hue shift drawn uniformly in ±this fraction of the hue circle.
    points_from_depth: re-sample the sample's point cloud from its (augmented) depth map
      at every step (Yang et al. Sec. 4.1: 256 points "randomly sampled" from the depth
      map): the same number of points as stored, uniform over the measured pixels,
      jittered within each pixel and back-projected with the augmented intrinsics.
    """

    rotation_max_deg: float = 0.0
    scale_range: tuple[float, float] = (1.0, 1.0)
    shift_max: float = 0.0
    flip_prob: float = 0.0
    hue_max: float = 0.0
    points_from_depth: bool = False

    def __post_init__(self):
        scale_range = tuple(float(s) for s in self.scale_range)
        object.__setattr__(self, "scale_range", scale_range)
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"AugmentConfig.scale_range must be (lo, hi) with 0 < lo <= hi, got {self.scale_range}")
        if not 0 <= self.rotation_max_deg <= 180:
            raise ValueError(f"AugmentConfig.rotation_max_deg must be in [0, 180], got {self.rotation_max_deg}")
        if not 0 <= self.shift_max <= 1:
            raise ValueError(f"AugmentConfig.shift_max must be a fraction in [0, 1], got {self.shift_max}")
        if not 0 <= self.flip_prob <= 1:
            raise ValueError(f"AugmentConfig.flip_prob must be a probability in [0, 1], got {self.flip_prob}")
        if not 0 <= self.hue_max <= 0.5:
            raise ValueError(
                f"AugmentConfig.hue_max must be in [0, 0.5] (fraction of the hue circle), got {self.hue_max}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> AugmentConfig:
        """From a dict or ml_collections.ConfigDict with (a subset of) the field names."""
        if mapping is None:
            return cls()
        if isinstance(mapping, AugmentConfig):
            return mapping
        items = dict(mapping.items())
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(items) - known)
        if unknown:
            raise ValueError(f"unknown augmentation option(s) {unknown}; known: {sorted(known)}")
        return cls(**items)

    @property
    def geometric(self) -> bool:
        """Whether any augmentation needs the image warp."""
        return (self.rotation_max_deg > 0 or self.scale_range != (1.0, 1.0)
                or self.shift_max > 0 or self.flip_prob > 0)

    @property
    def enabled(self) -> bool:
        return self.geometric or self.hue_max > 0 or self.points_from_depth


@dataclasses.dataclass(frozen=True)
class AugmentParams:
    """One sample's augmentation. The defaults are the identity.

    rotation_rad: in-plane rotation about the optical axis (radians; positive turns
      +x towards +y, i.e. clockwise in the image since y points down).
    scale: crop zoom factor about the image centre.
    shift: (du, dv) crop translation as fractions of the image (width, height).
    flip: horizontal mirror.
    hue_shift: hue shift as a fraction of the hue circle.
    """

    rotation_rad: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False
    hue_shift: float = 0.0


def draw_params(config: AugmentConfig, rng: np.random.Generator) -> AugmentParams:
    """Draws one sample's params. Always consumes exactly 6 uniforms, in a fixed order."""
    u = rng.uniform(0.0, 1.0, size=6)
    lo, hi = config.scale_range
    u = [float(x) for x in u]
    return AugmentParams(
        rotation_rad=math.radians((2 * u[0] - 1) * config.rotation_max_deg),
        scale=lo + u[1] * (hi - lo),
        shift=((2 * u[2] - 1) * config.shift_max, (2 * u[3] - 1) * config.shift_max),
        flip=u[4] < config.flip_prob,
        hue_shift=(2 * u[5] - 1) * config.hue_max,
    )


@dataclasses.dataclass(frozen=True)
class CameraChange:
    """The geometric part of an augmentation for one image (float64 matrices).

    rotation: [3, 3] applied to camera-frame 3D (keypoints, points): X' = rotation @ X.
    intrinsics: [3, 3] new pinhole K'.
    pixel_map: [3, 3] affine map of (u, v, 1) from the old image to the new one.
    """

    rotation: np.ndarray
    intrinsics: np.ndarray
    pixel_map: np.ndarray


def camera_change(params: AugmentParams, intrinsics: np.ndarray, height: int, width: int) -> CameraChange:
    """Composes rotation, flip and crop into one 3D transform, new K and pixel map."""
    k = np.asarray(intrinsics, np.float64)
    if k.shape != (3, 3) or not np.array_equal(k[2], [0.0, 0.0, 1.0]) or k[1, 0] != 0 or k[0, 0] == 0 or k[1, 1] == 0:
        raise ValueError(f"intrinsics must be a pinhole K [[fx, s, cx], [0, fy, cy], [0, 0, 1]], got {k.tolist()}")
    c, s = math.cos(params.rotation_rad), math.sin(params.rotation_rad)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    new_k = k.copy()
    # K R K^-1 turns the image about the principal point c, which in a crop around the
    # hand lies anywhere (often outside it): 45 degrees about it swing the hand out of
    # the crop. Moving the principal point to m + A (c - m) (A: the linear part of
    # K R K^-1, m: the image centre) makes the same 3D rotation turn the image about m
    # instead, exactly: u' = A (u - m) + m.
    linear = (k @ rotation @ np.linalg.inv(k))[:2, :2]
    centre, principal = np.array([width / 2, height / 2]), k[:2, 2]
    new_k[:2, 2] = centre + linear @ (principal - centre)
    if params.flip:
        rotation = np.diag([-1.0, 1.0, 1.0]) @ rotation
        # K M with M = diag(-1, 1, 1) mirrored back into the image: u -> W - u.
        new_k[0, 1] = -new_k[0, 1]
        new_k[0, 2] = width - new_k[0, 2]
    zoom = params.scale
    crop = np.array([
        [zoom, 0.0, (1.0 - zoom) * width / 2 + params.shift[0] * width],
        [0.0, zoom, (1.0 - zoom) * height / 2 + params.shift[1] * height],
        [0.0, 0.0, 1.0]])
    new_k = crop @ new_k
    pixel_map = new_k @ rotation @ np.linalg.inv(k)
    pixel_map[2] = (0.0, 0.0, 1.0)  # exactly affine (z is preserved); drop rounding noise
    return CameraChange(rotation=rotation, intrinsics=new_k, pixel_map=pixel_map)


@dataclasses.dataclass(frozen=True)
class _Taps:
    """Where each output pixel reads from, into the input zero-padded by one pixel and
    flattened: the 4 bilinear neighbours, their weights and the nearest neighbour."""

    corners: np.ndarray  # [4, H*W] int: (r0, c0), (r0, c1), (r1, c0), (r1, c1)
    weight_col: np.ndarray  # [H*W] float32 in [0, 1): weight of column c1
    weight_row: np.ndarray  # [H*W] float32 in [0, 1): weight of row r1
    nearest: np.ndarray  # [H*W] int
    height: int
    width: int


def _taps(pixel_map: np.ndarray, height: int, width: int) -> _Taps:
    inverse = np.linalg.inv(pixel_map)
    v, u = np.meshgrid(np.arange(height, dtype=np.float64) + 0.5,
                       np.arange(width, dtype=np.float64) + 0.5, indexing="ij")
    # Pull each output pixel centre back; array coordinates are (u, v) - 0.5.
    col = (inverse[0, 0] * u + inverse[0, 1] * v + (inverse[0, 2] - 0.5)).ravel()
    row = (inverse[1, 0] * u + inverse[1, 1] * v + (inverse[1, 2] - 0.5)).ravel()
    col0, row0 = np.floor(col), np.floor(row)
    weight_col, weight_row = (col - col0).astype(np.float32), (row - row0).astype(np.float32)
    # +1 for the zero border; anything further out is clipped onto the border (value 0).
    c0 = np.clip(col0.astype(np.int64) + 1, 0, width + 1)
    c1 = np.clip(col0.astype(np.int64) + 2, 0, width + 1)
    r0 = np.clip(row0.astype(np.int64) + 1, 0, height + 1) * (width + 2)
    r1 = np.clip(row0.astype(np.int64) + 2, 0, height + 1) * (width + 2)
    nearest = np.where(weight_row >= 0.5, r1, r0) + np.where(weight_col >= 0.5, c1, c0)
    return _Taps(np.stack([r0 + c0, r0 + c1, r1 + c0, r1 + c1]), weight_col, weight_row, nearest, height, width)


def _padded_flat(array: np.ndarray) -> np.ndarray:
    """[H, W, ...] -> [(H + 2) * (W + 2), ...] with a zero border of one pixel."""
    padded = np.zeros((array.shape[0] + 2, array.shape[1] + 2) + array.shape[2:], array.dtype)
    padded[1:-1, 1:-1] = array
    return padded.reshape((-1,) + array.shape[2:])


def _bilinear(array: np.ndarray, taps: _Taps) -> np.ndarray:
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        # RGB packed as one uint32 per pixel: one 1-D gather per neighbour instead of 3.
        rgba = np.zeros(array.shape[:2] + (4,), np.uint8)
        rgba[..., :3] = array
        packed = _padded_flat(rgba.view(np.uint32)[..., 0])
        values = packed[taps.corners].view(np.uint8).reshape(4, -1, 4).astype(np.float32)
    else:
        values = _padded_flat(array)[taps.corners].astype(np.float32)
    wc = taps.weight_col.reshape((-1,) + (1,) * (values.ndim - 2))
    wr = taps.weight_row.reshape(wc.shape)
    top = values[0] + (values[1] - values[0]) * wc
    bottom = values[2] + (values[3] - values[2]) * wc
    out = top + (bottom - top) * wr
    out = out[:, :3] if out.shape[1:] == (4,) and array.shape[2:] == (3,) else out
    out = out.reshape(array.shape)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(array.dtype)


def _nearest(array: np.ndarray, taps: _Taps) -> np.ndarray:
    return _padded_flat(array)[taps.nearest].reshape(array.shape)


def warp_bilinear(array: np.ndarray, pixel_map: np.ndarray) -> np.ndarray:
    """Resamples [H, W] or [H, W, C] through the affine `pixel_map` (old -> new (u, v, 1)).

    Bilinear, zero outside the input (pixels near the border blend towards 0, like
    scipy.ndimage.affine_transform's mode='grid-constant'). Output has the input's
    shape and dtype; integer outputs are rounded to nearest.
    """
    return _bilinear(array, _taps(pixel_map, *array.shape[:2]))


def warp_nearest(array: np.ndarray, pixel_map: np.ndarray) -> np.ndarray:
    """Nearest-neighbour resampling through `pixel_map`, zero outside; never mixes values."""
    return _nearest(array, _taps(pixel_map, *array.shape[:2]))


def shift_hue(image: np.ndarray, hue_shift: float) -> np.ndarray:
    """Shifts the HSV hue of a uint8 RGB image [H, W, 3] by `hue_shift` turns.

    Value (max) and chroma (max - min) are kept; a shift of 0 (or any integer)
    returns the image. Works on 0..255 floats, channel planes contiguous, for speed.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"shift_hue expects a uint8 RGB image [H, W, 3], got {image.dtype} {image.shape}")
    r, g, b = np.moveaxis(image, -1, 0).astype(np.float32)
    value = np.maximum(np.maximum(r, g), b)
    chroma = value - np.minimum(np.minimum(r, g), b)
    inverse_chroma = np.divide(1.0, chroma, out=np.zeros_like(chroma), where=chroma > 0)
    # Hue in sextants (0..6): red 0, green 2, blue 4.
    hue = np.where(value == r, g - b, np.where(value == g, b - r + 2 * chroma, r - g + 4 * chroma))
    hue *= inverse_chroma
    hue += np.float32(6.0 * hue_shift)
    out = np.empty((3,) + r.shape, np.float32)
    # HSV -> RGB as channel = V - C * clip(min(k, 4 - k), 0, 1), k = (n + hue) mod 6, n = 5, 3, 1.
    for channel, offset in enumerate((5.0, 3.0, 1.0)):
        k = np.mod(hue + np.float32(offset), np.float32(6.0))
        np.minimum(k, 4.0 - k, out=k)
        np.clip(k, 0.0, 1.0, out=k)
        out[channel] = value - chroma * k
    return np.moveaxis(np.clip(np.rint(out), 0, 255).astype(np.uint8), 0, -1)


# Fields moved by the geometric augmentation besides the schema's: the converted
# datasets' own-layout joints (jaxhands.data.converted_builder) move with the hand.
# Every other extra field (crop_box, full_intrinsics, frame ids, ...) describes the
# original capture and is passed through unchanged.
_ROTATED_FIELDS = ("keypoints_3d", "keypoints_3d_raw", "points")
_PIXEL_FIELDS = ("keypoints_2d", "keypoints_2d_raw")


def _image_size(sample: Mapping[str, Any]) -> tuple[int, int] | None:
    for name in ("image", "depth", "mask"):
        if name in sample:
            return tuple(np.shape(sample[name])[:2])
    return None


def apply_geometry(sample: Mapping[str, Any], params: AugmentParams) -> dict[str, Any]:
    """Rotation, flip, crop scale and shift applied to every modality present in `sample`.

    Needs `intrinsics`. Records without image, depth or mask (skeleton-only sources)
    support the rotation only, since flip and crop are defined by the image frame;
    their `visible` flags are kept as they are (no frame to leave).
    """
    if "intrinsics" not in sample:
        raise ValueError(f"geometric augmentation needs the sample's 'intrinsics'; it has {sorted(sample)}")
    size = _image_size(sample)
    if size is None and (params.flip or params.scale != 1.0 or params.shift != (0.0, 0.0)):
        raise ValueError("flip and crop scale/shift need the image frame, but the sample has no image, depth "
                         f"or mask (fields {sorted(sample)}); use rotation only for skeleton-only data")
    height, width = size or (0, 0)
    change = camera_change(params, sample["intrinsics"], height, width)
    pixel_map = change.pixel_map
    out = dict(sample)
    out["intrinsics"] = change.intrinsics.astype(np.float32)
    if size is not None:
        taps = _taps(pixel_map, height, width)  # shared by all planes
        for name in (*COLOUR_IMAGE_FIELDS, "depth", "mask"):
            if name in sample:
                array = np.asarray(sample[name])
                out[name] = _bilinear(array, taps) if name in COLOUR_IMAGE_FIELDS else _nearest(array, taps)
    rotation_t = change.rotation.T.astype(np.float32)
    for name in _ROTATED_FIELDS:
        if name in sample:
            out[name] = np.asarray(sample[name], np.float32) @ rotation_t
    for name in _PIXEL_FIELDS:
        if name in sample:
            uv = np.asarray(sample[name], np.float64) @ pixel_map[:2, :2].T + pixel_map[:2, 2]
            out[name] = uv.astype(np.float32)
    if size is not None and "visible" in sample and "keypoints_2d" in sample:
        uv = out["keypoints_2d"]
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
        out["visible"] = np.asarray(sample["visible"], bool) & inside
    if params.flip and "hand_side" in sample:
        out["hand_side"] = np.int32(RIGHT if int(sample["hand_side"]) == LEFT else LEFT)
    return out


def augment_sample(sample: Mapping[str, Any], params: AugmentParams) -> dict[str, Any]:
    """Applies `params` to a sample (pure: returns a new dict; extra fields kept)."""
    out = apply_geometry(sample, params)
    for name in COLOUR_IMAGE_FIELDS:
        if name in out:
            out[name] = shift_hue(out[name], params.hue_shift)
    return out


def augment_with_config(sample: Mapping[str, Any], config: AugmentConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draws params from `rng` and applies only the enabled augmentations."""
    params = draw_params(config, rng)
    out = apply_geometry(sample, params) if config.geometric else dict(sample)
    for name in COLOUR_IMAGE_FIELDS if config.hue_max > 0 else ():
        if name in out:
            out[name] = shift_hue(out[name], params.hue_shift)
    if config.points_from_depth:
        out["points"] = resample_points_from_depth(out, rng)
    return out


def resample_points_from_depth(sample: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """A fresh cloud [N, 3] (N = the stored cloud's size) drawn from the sample's depth map.

    The draws come after `draw_params`' six uniforms, so turning this on leaves the other
    augmentations' draws unchanged. When augmentation has moved every measured pixel out
    of the frame, the stored cloud (already moved with the hand by `apply_geometry`) is
    kept: it samples the same surface.
    """
    missing = [f for f in ("points", "depth", "intrinsics") if f not in sample]
    if missing:
        raise ValueError(f"points_from_depth needs the sample fields {missing} (it re-draws `points` "
                         "from `depth` with `intrinsics`); the source has only "
                         f"{sorted(sample)}")
    num_points = int(np.shape(sample["points"])[0])
    if not np.any(np.asarray(sample["depth"]) > 0):
        return np.asarray(sample["points"], np.float32)
    return sample_depth_points(sample["depth"], sample["intrinsics"], num_points, rng)
