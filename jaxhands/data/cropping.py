"""Crop boxes, crops, crop <-> full-image keypoint maps and the intrinsics of a crop.

Coordinates follow jaxhands.data.schema: pixel (row i, column j) covers
[j, j+1) x [i, i+1) and has its centre at (u, v) = (j + 0.5, i + 0.5).

A crop box is (u0, v0, width, height) in continuous full-image coordinates. Cropping
it to an output of `out_size` = (H', W') pixels scales by sx = W' / width,
sy = H' / height and maps

    u' = (u - u0) * sx,   v' = (v - v0) * sy,

exactly, for any real-valued box. The crop's pinhole matrix is K' = A K with
A = [[sx, 0, -u0 sx], [0, sy, -v0 sy], [0, 0, 1]], so `project(xyz, K')` gives the
crop coordinates of a camera-frame point exactly (`crop_intrinsics`).

Two ways to choose a box, as the papers do:

- `rgb_crop_box` (hand3d, Zimmermann & Brox 2017): a square centred on a reference
  joint (the middle-finger MCP), just large enough to hold every visible keypoint
  (side = 2 * the largest distance from the centre to a visible keypoint, clipped
  to the image), clamped to [50, 500] pixels (hand3d's reader also never shrinks the
  image, so at its 256-pixel output it cuts larger boxes to 256 pixels; here the
  whole box is kept and resampled to the requested size);
- `cube_crop_box` (DeepPrior, Crossing Nets): the projection of a metric cube of
  side `cube_size` centred on a 3D hand centre, |fx| cube / z wide and |fy| cube / z
  high at the centre's depth z. `clip_depth_to_cube` then keeps only depths inside
  the cube's z range (everything else becomes 0, "no depth").

Resampling: `crop_nearest` (depth, masks: every output value is a source value,
nothing invented) and `crop_bilinear` (RGB; averaged over k x k bilinear samples
per output pixel when the crop shrinks the image k-fold, so downscaled crops do not
alias). Output pixels whose centre falls outside the source image are 0.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# hand3d's limits on the side of an RGB crop box, in full-image pixels.
HAND3D_MIN_BOX = 50.0
HAND3D_MAX_BOX = 500.0
# hand3d's side when no keypoint is visible.
HAND3D_FALLBACK_BOX = 200.0
# At most this many bilinear samples per output pixel and axis when shrinking.
_MAX_SUPERSAMPLE = 8


def _out_hw(out_size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (out_size, out_size) if isinstance(out_size, (int, np.integer)) else out_size
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"out_size must be positive, got {out_size!r}")
    return int(height), int(width)


@dataclasses.dataclass(frozen=True)
class CropBox:
    """An axis-aligned box in continuous full-image pixel coordinates (see module doc)."""

    u0: float
    v0: float
    width: float
    height: float

    def __post_init__(self):
        values = (self.u0, self.v0, self.width, self.height)
        if not all(math.isfinite(float(x)) for x in values):
            raise ValueError(f"crop box must be finite, got {values}")
        if not (self.width > 0 and self.height > 0):
            raise ValueError(f"crop box needs a positive width and height, got {self.width} x {self.height}")

    @classmethod
    def centred(cls, centre_u: float, centre_v: float, width: float, height: float) -> "CropBox":
        return cls(float(centre_u) - width / 2, float(centre_v) - height / 2, float(width), float(height))

    @classmethod
    def from_array(cls, box) -> "CropBox":
        u0, v0, width, height = (float(x) for x in np.asarray(box, np.float64).reshape(4))
        return cls(u0, v0, width, height)

    def as_array(self) -> np.ndarray:
        """float32 [4]: (u0, v0, width, height), the `crop_box` field of converted datasets."""
        return np.array([self.u0, self.v0, self.width, self.height], np.float32)

    def scale(self, out_size: int | tuple[int, int]) -> tuple[float, float]:
        """(sx, sy): output pixels per full-image pixel along u and v."""
        height, width = _out_hw(out_size)
        return width / self.width, height / self.height


def full_to_crop(uv, box: CropBox, out_size: int | tuple[int, int]) -> np.ndarray:
    """[..., 2] full-image (u, v) -> crop (u', v') = ((u - u0) sx, (v - v0) sy)."""
    sx, sy = box.scale(out_size)
    uv = np.asarray(uv, np.float64)
    return np.stack([(uv[..., 0] - box.u0) * sx, (uv[..., 1] - box.v0) * sy], -1)


def crop_to_full(uv_crop, box: CropBox, out_size: int | tuple[int, int]) -> np.ndarray:
    """Inverse of `full_to_crop`: [..., 2] crop (u', v') -> full-image (u, v)."""
    sx, sy = box.scale(out_size)
    uv_crop = np.asarray(uv_crop, np.float64)
    return np.stack([uv_crop[..., 0] / sx + box.u0, uv_crop[..., 1] / sy + box.v0], -1)


def crop_intrinsics(intrinsics, box: CropBox, out_size: int | tuple[int, int]) -> np.ndarray:
    """K' = A K (float64 [3, 3]) such that project(xyz, K') = full_to_crop(project(xyz, K))."""
    sx, sy = box.scale(out_size)
    intrinsics = np.asarray(intrinsics, np.float64)
    if intrinsics.shape != (3, 3):
        raise ValueError(f"intrinsics: expected a [3, 3] pinhole matrix, got shape {intrinsics.shape}")
    affine = np.array([[sx, 0.0, -box.u0 * sx], [0.0, sy, -box.v0 * sy], [0.0, 0.0, 1.0]])
    return affine @ intrinsics


def inside_crop(uv_crop, out_size: int | tuple[int, int], tolerance: float = 1e-3) -> np.ndarray:
    """bool [...]: the crop coordinates lie in the closed crop [0, W'] x [0, H'].

    Closed: u = W' is the right edge of the last pixel, and hand3d's tight box
    (`rgb_crop_box`) puts the extreme visible keypoints exactly there; they are still in
    the picture (a half-open test dropped 1284 of 57288 labelled-visible joints of a
    converted set, issue 18). `tolerance` (pixels) absorbs the float rounding of the
    full -> crop map.
    """
    height, width = _out_hw(out_size)
    u, v = np.asarray(uv_crop, np.float64)[..., 0], np.asarray(uv_crop, np.float64)[..., 1]
    return (u >= -tolerance) & (u <= width + tolerance) & (v >= -tolerance) & (v <= height + tolerance)


def rgb_crop_box(keypoints_uv, visible, centre_uv, image_size: tuple[int, int], *,
                 min_size: float = HAND3D_MIN_BOX, max_size: float = HAND3D_MAX_BOX) -> CropBox:
    """hand3d's square RGB crop around `centre_uv` holding every visible keypoint.

    keypoints_uv: [J, 2] full-image pixels; visible: bool [J]; centre_uv: [2] (hand3d:
    the middle-finger MCP); image_size: (width, height) of the full image. The visible
    keypoints' bounding box is clipped to the image, the side is twice the largest
    distance from the centre to its edges, clamped to [min_size, max_size]; with no
    visible keypoint the side is 200 pixels (hand3d's fallback).
    """
    keypoints_uv = np.asarray(keypoints_uv, np.float64)
    visible = np.asarray(visible, bool)
    centre = np.asarray(centre_uv, np.float64).reshape(2)
    if keypoints_uv.ndim != 2 or keypoints_uv.shape[1] != 2 or visible.shape != keypoints_uv.shape[:1]:
        raise ValueError(f"keypoints_uv must be [J, 2] with visible [J], got {keypoints_uv.shape} and "
                         f"{visible.shape}")
    if not np.all(np.isfinite(centre)):
        raise ValueError(f"crop centre must be finite, got {centre}")
    if not 0 < min_size <= max_size:
        raise ValueError(f"need 0 < min_size <= max_size, got {min_size}, {max_size}")
    chosen = keypoints_uv[visible & np.all(np.isfinite(keypoints_uv), axis=1)]
    if chosen.shape[0] == 0:
        side = HAND3D_FALLBACK_BOX
    else:
        limit = np.asarray(image_size, np.float64)
        low = np.maximum(chosen.min(axis=0), 0.0)
        high = np.minimum(chosen.max(axis=0), limit)
        side = float(np.max(2.0 * np.maximum(high - centre, centre - low)))
        side = min(max(side, min_size), max_size)
    return CropBox.centred(centre[0], centre[1], side, side)


def cube_crop_box(centre_xyz, cube_size: float, intrinsics) -> CropBox:
    """The image box of a metric cube of side `cube_size` centred on `centre_xyz`.

    DeepPrior's `comToBounds` without its rounding to whole pixels: centred on the
    projection of the centre, |fx| cube / z wide and |fy| cube / z high (z = the
    centre's depth; units of centre_xyz and cube_size must agree).
    """
    centre = np.asarray(centre_xyz, np.float64).reshape(3)
    intrinsics = np.asarray(intrinsics, np.float64)
    if not np.all(np.isfinite(centre)) or centre[2] <= 0:
        raise ValueError(f"cube centre must be finite and in front of the camera (z > 0), got {centre}")
    if not cube_size > 0:
        raise ValueError(f"cube_size must be positive, got {cube_size}")
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    z = centre[2]
    u = fx * centre[0] / z + cx
    v = fy * centre[1] / z + cy
    return CropBox.centred(u, v, abs(fx) * cube_size / z, abs(fy) * cube_size / z)


def clip_depth_to_cube(depth, centre_z: float, cube_size: float) -> np.ndarray:
    """Depth with every value outside [centre_z - cube/2, centre_z + cube/2] set to 0.

    DeepPrior moves depths in front of the cube onto its front face; here they are
    dropped as well (0 = no depth), so every kept depth is a measured one.
    """
    depth = np.asarray(depth)
    low, high = centre_z - cube_size / 2, centre_z + cube_size / 2
    return np.where((depth >= low) & (depth <= high), depth, 0).astype(depth.dtype)


def output_pixel_centres(box: CropBox, out_size: int | tuple[int, int], samples: int = 1):
    """Full-image (u [W'*k], v [H'*k]) of the k x k sample points of every output pixel.

    With samples k = 1 these are the output pixel centres mapped back to the full image.
    """
    height, width = _out_hw(out_size)
    sx, sy = box.scale(out_size)
    offsets = (np.arange(samples) + 0.5) / samples
    u = box.u0 + (np.repeat(np.arange(width), samples) + np.tile(offsets, width)) / sx
    v = box.v0 + (np.repeat(np.arange(height), samples) + np.tile(offsets, height)) / sy
    return u, v


def crop_nearest(array, box: CropBox, out_size: int | tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour crop of [H, W] or [H, W, C] to out_size; 0 outside the source.

    Every output pixel takes the source pixel its centre falls in (no value invented).
    """
    array = np.asarray(array)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an [H, W] or [H, W, C] array, got shape {array.shape}")
    u, v = output_pixel_centres(box, out_size)
    cols, rows = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    col_ok = (cols >= 0) & (cols < array.shape[1])
    row_ok = (rows >= 0) & (rows < array.shape[0])
    picked = array[np.clip(rows, 0, array.shape[0] - 1)[:, None], np.clip(cols, 0, array.shape[1] - 1)[None, :]]
    keep = row_ok[:, None] & col_ok[None, :]
    if array.ndim == 3:
        keep = keep[..., None]
    return np.where(keep, picked, np.zeros((), array.dtype)).astype(array.dtype)


def _supersampling(box: CropBox, out_size: int | tuple[int, int]) -> int:
    sx, sy = box.scale(out_size)
    return int(min(_MAX_SUPERSAMPLE, max(1, math.ceil(1.0 / min(sx, sy) - 1e-9))))


def _axis_band(coord: np.ndarray, size: int, out: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """One axis of the crop's resampling as a band: (indices [out, n] int, weights [out, n]
    float32). Output pixel y is sum_j weights[y, j] * source[indices[y, j]], the mean over
    its `samples` sample points (coord [out * samples], full-image units) of their
    bilinear weights; a point outside [0, size) weighs nothing (the crop's zeros)."""
    inside = (coord >= 0) & (coord < size)
    x = np.clip(coord - 0.5, 0.0, size - 1.0)  # sample index space: pixel j centred at j
    low = np.floor(x).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = x - low
    row = np.repeat(np.arange(out), samples)
    first = low[::samples]  # coordinates increase along the axis: an output's first sample is its lowest
    n = int((high.reshape(out, samples)[:, -1] - first).max()) + 1
    keep = inside / samples
    weights = np.bincount(row * n + low - first[row], (1.0 - frac) * keep, minlength=out * n)
    weights += np.bincount(row * n + high - first[row], frac * keep, minlength=out * n)
    # Band positions past the image's end carry no weight (no sample reaches them).
    indices = np.minimum(first[:, None] + np.arange(n), size - 1)
    return indices, weights.reshape(out, n).astype(np.float32)


def crop_bilinear(image, box: CropBox, out_size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear crop of a uint8 [H, W, C] image to out_size (uint8, 0 outside the source).

    Each output pixel averages k x k bilinear samples spread over its footprint,
    k = ceil(source pixels per output pixel) (at most 8), so shrinking crops are
    area-filtered; k = 1 when the crop enlarges. The box is axis-aligned, so the k x k
    average of bilinear samples is separable: a banded weighting of the source rows,
    then of the columns (`_axis_band`; elementwise, never BLAS, whose threads would fight
    the training step's for the cores), instead of gathering H'k x W'k samples. Measured
    (2026-12-07, 2 cores): a 128 -> 64 px RGB crop 1.47 -> 0.23 ms; training
    spurr18_rgb_to_3d_var1 8.5-9.0 -> 11.1-11.8 steps/s (1.3x; a BLAS version of the same
    products ran at 5.2). Equal to the gather up to float rounding (1 level in 1.7e-6 of
    the pixels over 300 random crops).
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected an [H, W, C] image, got shape {image.shape}")
    height, width = _out_hw(out_size)
    samples = _supersampling(box, out_size)
    u, v = output_pixel_centres(box, out_size, samples)
    row_index, row_weight = _axis_band(v, image.shape[0], height, samples)
    col_index, col_weight = _axis_band(u, image.shape[1], width, samples)
    source = image.astype(np.float32)
    rows = (source[row_index] * row_weight[:, :, None, None]).sum(axis=1)  # [H', W, C]
    values = (rows[:, col_index] * col_weight[None, :, :, None]).sum(axis=2)  # [H', W', C]
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def box_pixel_mask(image_hw: tuple[int, int], box: CropBox) -> np.ndarray:
    """bool [H, W]: full-image pixels whose centre lies inside the box."""
    rows = np.arange(image_hw[0]) + 0.5
    cols = np.arange(image_hw[1]) + 0.5
    in_rows = (rows >= box.v0) & (rows < box.v0 + box.height)
    in_cols = (cols >= box.u0) & (cols < box.u0 + box.width)
    return in_rows[:, None] & in_cols[None, :]
