"""TFDS builder and shared machinery of the real-dataset converters (RHD, STB, NYU, ICVL, MSRA).

A converter (`data_prep/<dataset>.py`) checks the raw folder, lists its frames per
split as small picklable records, and turns one frame into one example with
`build_example`; `build_converted_dataset` writes all of them as array_record
shards through `storage.prepare_atomically` (all or nothing), converting frames in
a pool of spawned worker processes, in order, with a progress bar per split.

Every converted dataset has the schema fields (jaxhands/data/schema.py) plus:

| feature            | dtype   | shape  | meaning                                                      |
|--------------------|---------|--------|--------------------------------------------------------------|
| keypoints_3d_raw   | float32 | [J, 3] | the dataset's own J joints, its own order, metres, same      |
|                    |         |        | camera frame as keypoints_3d (layout: metadata `raw_layout`)  |
| keypoints_2d_raw   | float32 | [J, 2] | their projection into the stored crop (pixels)               |
| keypoints_defined  | bool    | [21]   | canonical joints the dataset defines (others are 0 in 2D/3D) |
| has_points         | bool    | []     | `points` holds real surface points (False: no depth -> zeros) |
| crop_box           | float32 | [4]    | (u0, v0, width, height) of the crop in full-image pixels     |
| full_intrinsics    | float32 | [3, 3] | K of the full image (`intrinsics` is K of the crop)          |
| sequence           | text    | []     | sequence / subject / split-file name                         |
| frame              | int64   | []     | frame number within the sequence (the dataset's numbering)   |
| source             | text    | []     | the frame's image file, relative to the raw folder           |

Modalities a dataset lacks are zeros and flagged in the DatasetInfo metadata
(`has_rgb`, `has_depth`, `mask_source`); see docs/datasets.md. Records are stored
in frame order (`disable_shuffling`), so record r of a split is its r-th frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import multiprocessing
import os
import pathlib
import zlib
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds
import tqdm
from etils import epath

from jaxhands.data import schema
from jaxhands.data.cropping import (CropBox, box_pixel_mask, clip_depth_to_cube, crop_bilinear, crop_intrinsics,
                                    crop_nearest, cube_crop_box, inside_crop)
from jaxhands.data import storage
from jaxhands.data.storage import PrepareResult, prepare_atomically
from jaxhands.evaluation.prediction_files import depth_dataset, uvd_to_xyz_mm
from jaxhands.geometry.camera import project, sample_depth_points
from jaxhands.geometry.layouts import NUM_JOINTS, to_canonical

DATASET_VERSION = "1.1.0"
# Below this many frames a worker pool costs more (spawn + imports) than it saves.
_MIN_FRAMES_FOR_POOL = 64
_MAX_LISTED_MISSING = 8


class RawDatasetError(ValueError):
    """The raw folder does not look like the dataset (the message names what is missing or wrong)."""


# --- raw files -------------------------------------------------------------------------

def require_paths(root: pathlib.Path, relative_paths: Sequence[str], dataset: str) -> None:
    """Raises RawDatasetError listing every path of `relative_paths` missing under `root`."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise RawDatasetError(f"{dataset}: raw folder {root} does not exist or is not a directory")
    missing = [p for p in relative_paths if not (root / p).exists()]
    if missing:
        listed = ", ".join(missing[:_MAX_LISTED_MISSING])
        more = f" and {len(missing) - _MAX_LISTED_MISSING} more" if len(missing) > _MAX_LISTED_MISSING else ""
        raise RawDatasetError(
            f"{root} does not look like the {dataset} dataset: missing {listed}{more} "
            f"({len(missing)} of {len(relative_paths)} expected paths); see docs/datasets.md for the layout")


def read_png(path: pathlib.Path, *, channels: int | None, dtype, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A PNG as stored (no colour conversion): [H, W] if channels is None, else [H, W, channels].

    Raises RawDatasetError naming the file if it cannot be read or has another
    channel count, dtype or (height, width) than expected. Extra alpha channels are
    dropped when `channels` is 3.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            array = np.asarray(image)
    except (OSError, ValueError) as error:
        raise RawDatasetError(f"{path}: cannot read the PNG ({error})") from error
    if channels == 3 and array.ndim == 3 and array.shape[2] == 4:
        array = array[..., :3]
    # Some Pillow versions open 16-bit grey PNGs as 32-bit "I" images.
    widened = np.dtype(dtype) == np.uint16 and array.dtype == np.int32
    if widened and array.size and 0 <= array.min() <= array.max() < 2**16:
        array = array.astype(np.uint16)
    expected_ndim = 2 if channels is None else 3
    if array.ndim != expected_ndim or (channels is not None and array.shape[2] != channels):
        wanted = "[H, W]" if channels is None else f"[H, W, {channels}]"
        raise RawDatasetError(f"{path}: expected a {wanted} image, got shape {array.shape}")
    if array.dtype != np.dtype(dtype):
        raise RawDatasetError(f"{path}: expected {np.dtype(dtype)} pixels, got {array.dtype}")
    if shape is not None and array.shape[:2] != tuple(shape):
        raise RawDatasetError(f"{path}: expected {shape[1]}x{shape[0]} pixels (width x height), "
                              f"got {array.shape[1]}x{array.shape[0]}")
    return array


def load_mat(path: pathlib.Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The named variables of a MATLAB v5 .mat file (scipy.io.loadmat).

    MATLAB v7.3 (HDF5) files are refused with a clear message: the published NYU and
    STB files are v5, and reading v7.3 would need h5py, which jaxhands does not use.
    """
    import scipy.io

    try:
        contents = scipy.io.loadmat(path, variable_names=list(keys))
    except NotImplementedError as error:  # scipy's answer to v7.3 files
        raise RawDatasetError(
            f"{path} is a MATLAB v7.3 (HDF5) file; the published dataset files are MATLAB v5 files that "
            "scipy reads. Re-save it in MATLAB with `save(file, '-v7')` or use the original download") from error
    except (OSError, ValueError) as error:
        raise RawDatasetError(f"{path}: cannot read the .mat file ({error})") from error
    missing = [k for k in keys if k not in contents]
    if missing:
        present = sorted(name for name, _, _ in scipy.io.whosmat(path))
        raise RawDatasetError(f"{path}: missing variable(s) {missing}; it holds {present}")
    return {k: np.asarray(contents[k]) for k in keys}


# --- one example ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConversionOptions:
    """Options every converter shares; all of them are part of the dataset's config name."""

    image_size: int = 128  # side of the stored square crop, pixels
    num_points: int = 256  # surface points per sample
    seed: int = 0  # seeds the point sampling (per frame: see frame_rng)

    def __post_init__(self):
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if self.num_points < 1:
            raise ValueError(f"num_points must be >= 1, got {self.num_points}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def config_suffix(self) -> str:
        return f"img{self.image_size}_pts{self.num_points}_seed{self.seed}"


def frame_rng(options: ConversionOptions, key: str) -> np.random.Generator:
    """The point-sampling Generator of one frame: a function of (seed, frame key) only."""
    return np.random.default_rng([options.seed, zlib.crc32(key.encode("utf-8"))])


def build_example(*, keypoints_3d, keypoints_defined, keypoints_3d_raw, full_intrinsics, box: CropBox,
                  options: ConversionOptions, hand_side: int, sequence: str, frame: int, source: str,
                  rng: np.random.Generator, visible_labels=None, image=None, depth=None, mask=None,
                  point_pixels=None) -> dict[str, Any]:
    """One converted example: crops of the full-image modalities, keypoints in the crop.

    keypoints_3d: [21, 3] metres, canonical layout, camera frame (rows where
      keypoints_defined [21] is False are ignored and stored as 0);
    keypoints_3d_raw: [J, 3] metres, the dataset's own joints (same frame);
    full_intrinsics: K of the full image; box: the crop box in it;
    visible_labels: bool [21] from the dataset (None: no labels, all True);
      stored `visible` = defined & labels & inside the crop;
    image: uint8 [H, W, 3] or None (zeros stored); depth: float32 [H, W] metres
      (0 = none) or None (zeros stored, no points); mask: uint8 [H, W] in {0, 1} or None;
    point_pixels: bool [H, W] restricting which depth pixels are surface points
      (default: all); points are drawn from depth > 0 inside the box (`has_points`
      False and zeros when there is none), back-projected with the full K.
    """
    size = options.image_size
    keypoints_3d = np.asarray(keypoints_3d, np.float64)
    defined = np.asarray(keypoints_defined, bool)
    raw = np.asarray(keypoints_3d_raw, np.float64)
    full_k = np.asarray(full_intrinsics, np.float64)
    if keypoints_3d.shape != (NUM_JOINTS, 3) or defined.shape != (NUM_JOINTS,):
        raise ValueError(f"{source}: keypoints_3d must be [21, 3] with keypoints_defined [21], got "
                         f"{keypoints_3d.shape} and {defined.shape}")
    if raw.ndim != 2 or raw.shape[1] != 3:
        raise ValueError(f"{source}: keypoints_3d_raw must be [J, 3], got {raw.shape}")
    used = np.concatenate([keypoints_3d[defined], raw])
    if not np.all(np.isfinite(used)) or np.any(used[:, 2] <= 0):
        raise ValueError(f"{source}: joint labels must be finite and in front of the camera (z > 0); "
                         f"smallest z is {np.nanmin(used[:, 2]):.4f} m")
    crop_k = crop_intrinsics(full_k, box, size)
    keypoints_3d = np.where(defined[:, None], keypoints_3d, 0.0)
    safe = np.where(defined[:, None], keypoints_3d, [0.0, 0.0, 1.0])  # never project undefined zeros
    keypoints_2d = np.where(defined[:, None], project(safe, crop_k), 0.0)
    visible = defined & inside_crop(keypoints_2d, size)
    if visible_labels is not None:
        visible &= np.asarray(visible_labels, bool)

    points = np.zeros((options.num_points, 3), np.float32)
    has_points = False
    if depth is not None:
        selected = (depth > 0) & box_pixel_mask(depth.shape, box)
        if point_pixels is not None:
            selected &= point_pixels
        if selected.any():
            points = sample_depth_points(np.where(selected, depth, 0), full_k, options.num_points, rng)
            has_points = True

    example = {
        "image": (crop_bilinear(image, box, size) if image is not None else np.zeros((size, size, 3), np.uint8)),
        "depth": (crop_nearest(depth, box, size).astype(np.float32) if depth is not None
                  else np.zeros((size, size), np.float32)),
        "mask": (crop_nearest(mask, box, size).astype(np.uint8) if mask is not None
                 else np.zeros((size, size), np.uint8)),
        "keypoints_2d": keypoints_2d.astype(np.float32),
        "keypoints_3d": keypoints_3d.astype(np.float32),
        "visible": visible,
        "points": points.astype(np.float32),
        "intrinsics": crop_k.astype(np.float32),
        "hand_side": np.int32(hand_side),
        "keypoints_3d_raw": raw.astype(np.float32),
        "keypoints_2d_raw": project(raw, crop_k).astype(np.float32),
        "keypoints_defined": defined,
        "has_points": np.bool_(has_points),
        "crop_box": box.as_array(),
        "full_intrinsics": full_k.astype(np.float32),
        "sequence": sequence,
        "frame": np.int64(frame),
        "source": source,
    }
    schema.validate_sample(example, size, options.num_points, where=source)
    return example


def build_cube_example(*, depth, keypoints_3d_raw, layout: str, centre_joint: int, cube_size: float,
                       full_intrinsics, options: ConversionOptions, hand_side: int, sequence: str, frame: int,
                       source: str, rng: np.random.Generator) -> dict[str, Any]:
    """A depth-benchmark example (NYU, ICVL, MSRA): DeepPrior's metric cube, no RGB.

    depth: float32 [H, W] metres (0 = none); keypoints_3d_raw: [J, 3] metres in the
    dataset's `layout`; the cube of side `cube_size` metres is centred on raw joint
    `centre_joint`. Depths outside the cube's z range are dropped
    (`clip_depth_to_cube`); the stored mask is "depth inside the cube" (a cube
    segmentation, not a labelled mask); points come from the kept depths in the box;
    every defined joint counts as visible unless it leaves the crop.
    """
    raw = np.asarray(keypoints_3d_raw, np.float64)
    canonical, defined = to_canonical(raw, layout)
    centre = raw[centre_joint]
    box = cube_crop_box(centre, cube_size, full_intrinsics)
    kept = clip_depth_to_cube(depth, centre[2], cube_size)
    return build_example(
        keypoints_3d=canonical, keypoints_defined=defined, keypoints_3d_raw=raw,
        full_intrinsics=full_intrinsics, box=box, options=options, hand_side=hand_side, sequence=sequence,
        frame=frame, source=source, rng=rng, depth=kept, mask=(kept > 0).astype(np.uint8))


def parse_hand_side(hand_side: str) -> int:
    """'left' / 'right' (the converters' --hand-side) -> schema LEFT / RIGHT."""
    if hand_side not in ("left", "right"):
        raise ValueError(f"hand_side must be 'left' or 'right', got {hand_side!r}")
    return schema.LEFT if hand_side == "left" else schema.RIGHT


def check_cube_mm(cube_mm: int) -> None:
    if cube_mm <= 0:
        raise ValueError(f"cube_mm must be positive, got {cube_mm}")


def depth_cube_metadata(*, layout, centre_joint: int, cube_mm: int, hand_side: str, image_hw: tuple[int, int],
                        intrinsics: str, crop_centre_name: str, **extra) -> dict[str, Any]:
    """Dataset metadata shared by the depth benchmarks (NYU, ICVL, MSRA): no RGB,
    cube-segmentation mask, no occlusion labels."""
    return dict(
        has_rgb=False, has_depth=True, mask_source="depth_cube", full_image_size=[image_hw[1], image_hw[0]],
        **extra, cube_mm=cube_mm, crop_centre=layout.joint_names[centre_joint], hand_side=hand_side,
        intrinsics=intrinsics,
        crop=f"DeepPrior metric cube centred on the {crop_centre_name}; depths outside the cube dropped",
        visible="no occlusion labels: every defined joint inside the crop",
        raw_joint_names=list(layout.joint_names))


def depth_benchmark_intrinsics(dataset: str) -> np.ndarray:
    """float64 [3, 3] K of a depth benchmark's images ("nyu", "icvl", "msra") in the jaxhands frame.

    The intrinsics are jaxhands.evaluation.prediction_files' (the ones that reproduce
    the published errors) with fy made positive: NYU publishes fy < 0 (its y points
    up); jaxhands' camera frame has y down, matching the image rows.
    """
    k = np.asarray(depth_dataset(dataset).intrinsics(), np.float64)
    k[1, 1] = abs(k[1, 1])
    return k


def uvd_labels_to_xyz(uvd_mm, dataset: str) -> np.ndarray:
    """[..., J, 3] (u, v pixels, d mm) labels -> [..., J, 3] metres, jaxhands camera frame (y down).

    The conversion of the evaluation code (prediction_files.uvd_to_xyz_mm), y
    mirrored where the dataset's fy is negative, then mm -> m.
    """
    xyz_mm = uvd_to_xyz_mm(uvd_mm, dataset)
    y_sign = np.sign(depth_dataset(dataset).fy)
    return xyz_mm * np.array([1.0, y_sign, 1.0]) / 1000.0


def extra_features(num_raw_joints: int) -> dict[str, Any]:
    """The TFDS features of the converted-dataset fields beyond the schema (module doc)."""
    tensor = tfds.features.Tensor
    return {
        "keypoints_3d_raw": tensor(shape=(num_raw_joints, 3), dtype=np.float32, encoding="bytes"),
        "keypoints_2d_raw": tensor(shape=(num_raw_joints, 2), dtype=np.float32, encoding="bytes"),
        "keypoints_defined": tensor(shape=(NUM_JOINTS,), dtype=np.bool_, encoding="bytes"),
        "has_points": tfds.features.Scalar(dtype=np.bool_, doc="points are real surface points"),
        "crop_box": tensor(shape=(4,), dtype=np.float32, encoding="bytes"),
        "full_intrinsics": tensor(shape=(3, 3), dtype=np.float32, encoding="bytes"),
        "sequence": tfds.features.Text(doc="sequence / subject / split-file name"),
        "frame": tfds.features.Scalar(dtype=np.int64, doc="frame number within the sequence"),
        "source": tfds.features.Text(doc="image file of the frame, relative to the raw folder"),
    }


# --- the builder ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConversionSpec:
    """Everything the builder needs to write one converted dataset.

    name: dataset name (directory <data_dir>/<name>/<config_name>/<version>);
    config_name: encodes every option that changes the output;
    splits: split name -> frames (picklable records, converted in order);
    convert: frame -> example (`build_example`), or None when the frame yields no
      sample by the dataset's documented selection rule (e.g. RHD's both-hands mode);
      must be picklable (a module-level function or a functools.partial of one) to
      run in worker processes;
    raw_layout: jaxhands.geometry.layouts name of keypoints_3d_raw;
    metadata: JSON-able facts and options, stored in the DatasetInfo metadata.
    """

    name: str
    config_name: str
    description: str
    options: ConversionOptions
    raw_layout: str
    num_raw_joints: int
    splits: Mapping[str, Sequence[Any]]
    convert: Callable[[Any], dict]
    metadata: Mapping[str, Any]


class ConvertedHandsConfig(tfds.core.BuilderConfig):
    """A converted dataset's config; its name encodes every option (ConversionSpec.config_name)."""


class ConvertedHands(tfds.core.ShardBasedBuilder, skip_registration=True):
    """A real hand dataset converted to the jaxhands schema (see module doc).

    Use `builder_class(name)` to get the class of one dataset name.
    """

    VERSION = tfds.core.Version(DATASET_VERSION)
    RELEASE_NOTES = {
        "1.0.0": "Schema fields plus raw keypoints, crop box, full intrinsics and frame metadata.",
        "1.1.0": "Keypoints on the crop's edge stay visible (closed inside-the-crop test; 1.0.0 marked hand3d's "
                 "extreme keypoints invisible, so they dropped out of EPE, PCK and masked losses).",
    }
    code_path = epath.Path(__file__)

    # TFDS's "Downloading and preparing ... Unknown size" lines name the temporary dir and
    # a download that does not happen; storage.prepare_atomically logs both ends instead.
    def _log_download_bytes(self):
        pass

    def _log_download_done(self):
        pass

    def __init__(self, *, spec: ConversionSpec, data_dir: str | os.PathLike, workers: int | None = None,
                 **kwargs):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._spec = spec
        self._workers = workers
        self._exit_stack = self._pool = None
        self._pool_size = 0
        config = ConvertedHandsConfig(name=spec.config_name, description=spec.description)
        kwargs.setdefault("file_format", "array_record")
        with storage.without_custom_config_warning():
            super().__init__(config=config, data_dir=os.fspath(data_dir), **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        spec = self._spec
        metadata = dict(spec.metadata)
        metadata.update(dataset=spec.name, raw_layout=spec.raw_layout, image_size=spec.options.image_size,
                        num_points=spec.options.num_points, seed=spec.options.seed,
                        samples_without_points={})
        return tfds.core.DatasetInfo(
            builder=self,
            description=spec.description + " Fields: see jaxhands/data/schema.py and "
                                           "jaxhands/data/converted_builder.py; docs/datasets.md.",
            features=schema.tfds_features(spec.options.image_size, spec.options.num_points,
                                          extra=extra_features(spec.num_raw_joints)),
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(metadata),
        )

    def _shard_iterators_per_split(self, dl_manager):
        del dl_manager  # the raw data is already on disk
        # Shard by shard, straight from the converter (see storage.MAX_SHARD_BYTES).
        options = self._spec.options
        per_shard = storage.samples_per_shard(options.image_size, options.num_points,
                                              extra_bytes=4096 + 12 * self._spec.num_raw_joints)
        return {split: [functools.partial(self._generate_examples, split, frames, first, per_shard)
                        for first in range(0, len(frames), per_shard)]
                for split, frames in self._spec.splits.items()}

    def _download_and_prepare(self, dl_manager, download_config):
        # One worker pool serves every split (spawning one costs seconds of imports);
        # it is terminated when generation ends, normally or not.
        with contextlib.ExitStack() as stack:
            self._exit_stack, self._pool = stack, None
            try:
                return super()._download_and_prepare(dl_manager, download_config)
            finally:
                self._exit_stack = self._pool = None

    def _worker_pool(self, count: int):
        """The shared pool, or None to convert `count` frames in this process."""
        workers = self._workers
        if workers is None:
            workers = (os.cpu_count() or 1) if count >= _MIN_FRAMES_FOR_POOL else 1
        if min(workers, count) <= 1:
            return None
        if self._pool is None:
            self._pool = self._exit_stack.enter_context(multiprocessing.get_context("spawn").Pool(
                workers, initializer=storage.exit_with_parent, initargs=(os.getpid(),)))
            self._pool_size = workers
        return self._pool

    def _generate_examples(self, split: str, all_frames: Sequence[Any], first: int, per_shard: int):
        """Examples of frames [first, first + per_shard) of `split` (one shard), keyed by frame index."""
        convert = self._spec.convert
        frames = all_frames[first:first + per_shard]
        count = len(frames)
        pool = self._worker_pool(len(all_frames))
        if pool is None:
            examples = map(convert, frames)
        else:
            examples = pool.imap(convert, frames, max(1, min(16, count // (8 * self._pool_size))))
        without_points = 0
        last = first + count == len(all_frames)
        with tqdm.tqdm(total=count, desc=f"{self._spec.name} {split} [{first}, {first + count})",
                       unit=" frames") as progress:
            for index, example in enumerate(examples, start=first):
                progress.update()
                if example is not None:
                    without_points += not example["has_points"]
                    yield index, example
        counts = self.info.metadata["samples_without_points"]
        counts[split] = counts.get(split, 0) + without_points
        if last and counts[split] and self._spec.metadata.get("has_depth", False):
            tqdm.tqdm.write(f"{self._spec.name} {split}: {counts[split]} of {len(all_frames)} samples have no "
                            "depth pixel to sample points from (points are zeros, has_points False)")


@functools.cache
def builder_class(name: str) -> type:
    """The ConvertedHands subclass named `name` (TFDS takes a builder's name from its class)."""
    if not name.isidentifier() or name.lower() != name:
        raise ValueError(f"dataset name must be a lower-case identifier, got {name!r}")
    return type(f"ConvertedHands_{name}", (ConvertedHands,), {"name": name}, skip_registration=True)


def build_converted_dataset(spec: ConversionSpec, data_dir: str | os.PathLike, *, overwrite: bool = False,
                            workers: int | None = None) -> PrepareResult:
    """Writes the dataset of `spec` under `data_dir` atomically (storage.prepare_atomically).

    workers: conversion processes; None = all CPUs for splits of >= 64 frames, else 1.
    Returns the version directory and whether it was created (False: already complete).
    """
    cls = builder_class(spec.name)

    def make_builder(root: pathlib.Path):
        return cls(spec=spec, data_dir=root, workers=workers)

    return prepare_atomically(make_builder, data_dir, overwrite=overwrite)


def add_common_arguments(parser, *, default_image_size: int = 128) -> None:
    """The --raw, --image-size, --num-points, --seed and --workers options of every converter."""
    from jaxhands.data.argument_types import int_at_least, non_negative_int, positive_int

    parser.add_argument("--raw", required=True, type=pathlib.Path, help="the dataset's raw folder")
    parser.add_argument("--image-size", type=int_at_least(8), default=default_image_size,
                        help=f"side of the stored square crop in pixels (default {default_image_size})")
    parser.add_argument("--num-points", type=positive_int, default=256, help="surface points per sample")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the point sampling")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="conversion processes (default: all CPUs for splits of >= 64 frames)")


def common_options(args) -> ConversionOptions:
    return ConversionOptions(image_size=args.image_size, num_points=args.num_points, seed=args.seed)


def add_cube_arguments(parser) -> None:
    """--cube-mm of the depth benchmarks (NYU, ICVL, MSRA)."""
    from jaxhands.data.argument_types import positive_int

    parser.add_argument("--cube-mm", type=positive_int, default=250,
                        help="side of the metric crop cube around the hand centre, mm (default 250)")


def add_hand_side_argument(parser, *, default: str) -> None:
    """--hand-side of the datasets filmed with one hand (STB, NYU, ICVL, MSRA)."""
    parser.add_argument("--hand-side", choices=("left", "right"), default=default,
                        help=f"hand_side stored for every sample (default {default}: the geometry of the "
                             "labelled hand, see docs/datasets.md)")
