"""The one sample schema shared by every dataset in jaxhands.

Every converter (synthetic generator, RHD, STB, NYU, ICVL, MSRA) writes samples
with exactly these features, and every method reads them. Units are metres inside
the library; millimetres appear only in reported metrics.

| feature        | dtype   | shape      | meaning                                                  |
|----------------|---------|------------|----------------------------------------------------------|
| image          | uint8   | [H, W, 3]  | RGB image (the stored crop)                              |
| depth          | float32 | [H, W]     | depth in metres along the optical axis (0 = no depth)   |
| mask           | uint8   | [H, W]     | 1 on the hand, 0 elsewhere                               |
| keypoints_2d   | float32 | [21, 2]    | (u, v) pixels in the stored image, canonical layout      |
| keypoints_3d   | float32 | [21, 3]    | (x, y, z) metres, camera frame, canonical layout         |
| visible        | bool    | [21]       | keypoint visible in the image (not self-occluded)        |
| points         | float32 | [N, 3]     | surface points in metres, camera frame (from depth)      |
| intrinsics     | float32 | [3, 3]     | pinhole K of the stored image                            |
| hand_side      | int32   | []         | 0 left, 1 right                                          |

Pixel convention: pixel (row i, column j) covers [j, j+1) x [i, i+1) and its
centre is at (u, v) = (j + 0.5, i + 0.5). With this convention a pinhole camera
with principal point (cx, cy) projects onto continuous image coordinates, and a
crop of origin (u0, v0) and scale s maps u -> (u - u0) * s exactly.

Camera frame: x right, y down, z forward (OpenCV convention).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

NUM_JOINTS = 21

# Colour images of the sample's frame that crops and augmentations move together: the
# image, and the optional `tag_image` of synthetic datasets with shared contents (the
# content's background alone, uint8 [H, W, 3]; they also store `content_id`, int32 []).
COLOUR_IMAGE_FIELDS = ("image", "tag_image")

# Feature name -> (numpy dtype, shape template). "H", "W" and "N" are filled in from
# the dataset's image size and number of points.
FEATURES: dict[str, tuple[np.dtype, tuple[Any, ...]]] = {
    "image": (np.dtype(np.uint8), ("H", "W", 3)),
    "depth": (np.dtype(np.float32), ("H", "W")),
    "mask": (np.dtype(np.uint8), ("H", "W")),
    "keypoints_2d": (np.dtype(np.float32), (NUM_JOINTS, 2)),
    "keypoints_3d": (np.dtype(np.float32), (NUM_JOINTS, 3)),
    "visible": (np.dtype(np.bool_), (NUM_JOINTS,)),
    "points": (np.dtype(np.float32), ("N", 3)),
    "intrinsics": (np.dtype(np.float32), (3, 3)),
    "hand_side": (np.dtype(np.int32), ()),
}

LEFT, RIGHT = 0, 1


class SchemaError(ValueError):
    """A sample does not match the jaxhands sample schema."""


def feature_shapes(image_size: int | tuple[int, int], num_points: int) -> dict[str, tuple[int, ...]]:
    """Concrete shape of every feature for images of `image_size` and `num_points` points."""
    if isinstance(image_size, int):
        height = width = image_size
    else:
        height, width = image_size
    fill = {"H": height, "W": width, "N": num_points}
    return {
        name: tuple(fill.get(d, d) if isinstance(d, str) else d for d in shape)
        for name, (_, shape) in FEATURES.items()
    }


def shape_batch(image_size: int, num_points: int, batch_size: int = 1) -> dict[str, np.ndarray]:
    """A batch of every feature (and the optional COLOUR_IMAGE_FIELDS / content_id) with the
    right shapes and dtypes and harmless values, for
    initialising or restoring a model without its data: zero images, identity intrinsics,
    right hands, and a non-degenerate skeleton 0.5 m in front of the camera (the scale
    invariance divides by a bone length, which must not be 0)."""
    batch = {name: np.zeros((batch_size, *shape), FEATURES[name][0])
             for name, shape in feature_shapes(image_size, num_points).items()}
    batch["intrinsics"][:] = np.eye(3, dtype=np.float32)
    batch["keypoints_3d"][..., 2] = 0.5
    batch["keypoints_3d"][:, 1:, 0] = 0.01 * np.arange(1, NUM_JOINTS)
    batch["visible"][:] = True
    batch["hand_side"][:] = RIGHT
    # The optional fields of datasets with shared contents, so methods that read them
    # (Yang & Yao's synthesis dVAE) initialise too.
    batch["tag_image"] = np.zeros_like(batch["image"])
    batch["content_id"] = np.zeros((batch_size,), np.int32)
    return batch


def validate_sample(
    sample: Mapping[str, Any],
    image_size: int | tuple[int, int],
    num_points: int,
    *,
    where: str = "sample",
) -> None:
    """Raises SchemaError naming the field if `sample` is not a valid jaxhands sample.

    Checks presence, dtype, shape, finiteness of float fields, the depth/mask value
    ranges and that `hand_side` is 0 or 1. Extra fields are allowed (converters keep
    metadata such as frame ids beside the schema fields).
    """
    shapes = feature_shapes(image_size, num_points)
    missing = [k for k in FEATURES if k not in sample]
    if missing:
        raise SchemaError(f"{where}: missing field(s) {missing}; expected all of {list(FEATURES)}")
    for name, (dtype, _) in FEATURES.items():
        value = np.asarray(sample[name])
        if value.shape != shapes[name]:
            raise SchemaError(
                f"{where}: field '{name}' has shape {value.shape}, expected {shapes[name]}")
        if value.dtype != dtype:
            raise SchemaError(
                f"{where}: field '{name}' has dtype {value.dtype}, expected {dtype}")
        if dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise SchemaError(f"{where}: field '{name}' contains non-finite values")
    if np.any(np.asarray(sample["depth"]) < 0):
        raise SchemaError(f"{where}: field 'depth' has negative values (metres, 0 = no depth)")
    if int(sample["hand_side"]) not in (LEFT, RIGHT):
        raise SchemaError(f"{where}: field 'hand_side' is {sample['hand_side']}, expected 0 (left) or 1 (right)")
    if not set(np.unique(sample["mask"]).tolist()) <= {0, 1}:
        raise SchemaError(f"{where}: field 'mask' must hold only 0 and 1")


def tfds_features(image_size: int | tuple[int, int], num_points: int, extra: Mapping[str, Any] | None = None):
    """The TFDS FeaturesDict for the schema.

    Every feature is a `tfds.features.Tensor` (zlib-compressed for the large arrays),
    because TFDS's `Image` feature needs TensorFlow to encode PNGs and jaxhands must
    not depend on TensorFlow.
    """
    import tensorflow_datasets as tfds

    shapes = feature_shapes(image_size, num_points)
    large = {"image", "depth", "mask", "points"}
    features = {}
    for name, (dtype, _) in FEATURES.items():
        if name == "hand_side":
            features[name] = tfds.features.Scalar(dtype=np.int32, doc="0 left, 1 right")
        else:
            features[name] = tfds.features.Tensor(
                shape=shapes[name], dtype=dtype, encoding="zlib" if name in large else "bytes")
    features.update(extra or {})
    return tfds.features.FeaturesDict(features)
