"""`python -m data_prep icvl --raw DIR --out DIR`: the ICVL hand posture dataset (depth).

Tang et al. 2014. Raw layout (the unpacked release):

    Training/labels.txt             one line per frame: image path, then 16 joints x (u, v, d mm)
    Training/Depth/<image path>     320 x 240 16-bit PNG, depth in mm (32001 = no depth)
    Testing/test_seq_1.txt          the two test sequences (702 + 894 frames), same format
    Testing/test_seq_2.txt
    Testing/Depth/<image path>

(Image paths are looked up under `<split>/Depth/` and, failing that, under `<split>/`.)
Joints: palm, then thumb, index, middle, ring, little, each root, mid, tip (layout
"icvl16"; 15 map to canonical joints, the palm centre does not). 3D joints come from
the (u, v, d) labels through the evaluation code's conversion and intrinsics
(fx 240.99, fy 240.96, c = (160, 120); `uvd_labels_to_xyz`). The test split is
test_seq_1 then test_seq_2, the order of the published predictions.

Training/labels.txt also lists in-plane rotated copies of the training frames (image
paths whose first folder is a short rotation name; the originals sit in long date
folders, DeepPrior's rule). `--train-frames original` (default) keeps the ~22k
originals, as DeepPrior and Crossing Nets ("20k (160k)") use; `all` keeps the copies too.

Crop: DeepPrior's metric cube (`--cube-mm`, default 250 as DeepPrior) centred on the
palm (joint 0, DeepPrior's crop joint); depths outside the cube are dropped, mask =
depth inside the cube, points from the kept depths; no RGB (image zeros, has_rgb
False). Hand side: 0 (left): `hand_side` is the geometry of the labelled hand (what
jaxhands.geometry.frames.canonical_frame and the flip augmentation assume), and the
published test labels have a left hand's (tests/data_prep/test_convert_icvl.py;
DeepPrior's importer also tags ICVL frames 'left'). `--hand-side` overrides it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib

import numpy as np

from jaxhands.data.converted_builder import (ConversionOptions, ConversionSpec, RawDatasetError, check_cube_mm,
                                             depth_cube_metadata, parse_hand_side,
                                             add_common_arguments, add_cube_arguments, add_hand_side_argument,
                                             build_converted_dataset, build_cube_example, common_options,
                                             depth_benchmark_intrinsics, frame_rng, read_png, require_paths,
                                             uvd_labels_to_xyz)
from jaxhands.geometry.layouts import get_layout

NAME = "icvl"
LABEL_FILES = {"train": ("Training/labels.txt",), "test": ("Testing/test_seq_1.txt", "Testing/test_seq_2.txt")}
NUM_JOINTS = 16
CENTRE_JOINT = 0  # palm
IMAGE_HW = (240, 320)
NO_DEPTH_CODE = 32001  # ICVL's "no measurement" value
DEFAULT_HAND_SIDE = "left"
_ROTATED_FOLDER_MAX_CHARS = 6


def decode_depth(code: np.ndarray) -> np.ndarray:
    """uint16 [H, W] ICVL depth (mm) -> float32 [H, W] metres; 0 and 32001 (no measurement) -> 0."""
    code = code.astype(np.float64)
    return np.where(code == NO_DEPTH_CODE, 0.0, code / 1000.0).astype(np.float32)


def labels_to_xyz(uvd_mm: np.ndarray) -> np.ndarray:
    """[..., 16, 3] (u, v, d mm) labels -> metres, jaxhands camera frame (shared with evaluation)."""
    return uvd_labels_to_xyz(uvd_mm, NAME)


def is_rotated_copy(image_path: str) -> bool:
    """DeepPrior's rule: augmented (rotated) training frames sit in short-named first folders."""
    first = image_path.split("/")[0]
    return "/" in image_path and len(first) <= _ROTATED_FOLDER_MAX_CHARS


def parse_label_file(path: pathlib.Path) -> list[tuple[str, np.ndarray]]:
    """[(image path, [16, 3] (u, v, d mm))] of one label file; errors name file and line."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 1 + 3 * NUM_JOINTS:
            raise RawDatasetError(f"{path}: line {number} has {len(tokens)} fields, expected an image path "
                                  f"and {3 * NUM_JOINTS} numbers (16 joints x (u, v, d))")
        try:
            uvd = np.array(tokens[1:], np.float64).reshape(NUM_JOINTS, 3)
        except ValueError:
            raise RawDatasetError(f"{path}: line {number} has a field that is not a number") from None
        if not np.all(np.isfinite(uvd)):
            raise RawDatasetError(f"{path}: line {number} has a non-finite number")
        entries.append((tokens[0], uvd))
    if not entries:
        raise RawDatasetError(f"{path}: no frames (the file is empty)")
    return entries


@dataclasses.dataclass(frozen=True, eq=False)
class ICVLFrame:
    raw: str
    source: str  # image file relative to the raw folder
    sequence: str
    index: int  # line of the frame in its label file, from 0
    uvd: np.ndarray  # [16, 3]


def _depth_folder(raw: pathlib.Path, split_folder: str, first_image: str) -> str:
    for folder in (f"{split_folder}/Depth", split_folder):
        if (raw / folder / first_image).is_file():
            return folder
    raise RawDatasetError(f"{raw} does not look like the ICVL dataset: image {first_image!r} is neither in "
                          f"{split_folder}/Depth/ nor in {split_folder}/")


def list_frames(raw: pathlib.Path, train_frames: str) -> dict[str, list[ICVLFrame]]:
    raw = pathlib.Path(raw)
    require_paths(raw, [f for files in LABEL_FILES.values() for f in files], "ICVL")
    splits = {}
    for split, files in LABEL_FILES.items():
        frames = []
        for label_file in files:
            entries = parse_label_file(raw / label_file)
            split_folder = label_file.split("/")[0]
            folder = _depth_folder(raw, split_folder, entries[0][0])
            sequence_of_file = pathlib.PurePosixPath(label_file).stem
            for index, (image, uvd) in enumerate(entries):
                if split == "train" and train_frames == "original" and is_rotated_copy(image):
                    continue
                sequence = image.split("/")[0] if split == "train" else sequence_of_file
                frames.append(ICVLFrame(str(raw), f"{folder}/{image}", sequence, index, uvd))
        if not frames:
            raise RawDatasetError(f"{raw}: no {split} frames left (with --train-frames {train_frames}, frames whose "
                                  "first folder has at most 6 characters count as rotated copies)")
        require_paths(raw, [f.source for f in frames], "ICVL")
        splits[split] = frames
    return splits


def convert_frame(frame: ICVLFrame, options: ConversionOptions, cube_m: float, hand_side: int):
    code = read_png(pathlib.Path(frame.raw) / frame.source, channels=None, dtype=np.uint16, shape=IMAGE_HW)
    return build_cube_example(
        depth=decode_depth(code), keypoints_3d_raw=labels_to_xyz(frame.uvd), layout="icvl16",
        centre_joint=CENTRE_JOINT, cube_size=cube_m, full_intrinsics=depth_benchmark_intrinsics(NAME),
        options=options, hand_side=hand_side, sequence=frame.sequence, frame=frame.index, source=frame.source,
        rng=frame_rng(options, frame.source))


def conversion_spec(raw: pathlib.Path, options: ConversionOptions, *, cube_mm: int = 250,
                    train_frames: str = "original", hand_side: str = DEFAULT_HAND_SIDE) -> ConversionSpec:
    """Checks the raw folder and describes the conversion (see module doc)."""
    if train_frames not in ("original", "all"):
        raise ValueError(f"train_frames must be 'original' or 'all', got {train_frames!r}")
    check_cube_mm(cube_mm)
    layout = get_layout("icvl16")
    side = parse_hand_side(hand_side)
    return ConversionSpec(
        name=NAME,
        config_name=f"train_{train_frames}_cube{cube_mm}_{hand_side}_{options.config_suffix()}",
        description=f"ICVL hand posture (depth), {train_frames} training frames, {cube_mm} mm cube crops.",
        options=options, raw_layout=layout.name, num_raw_joints=layout.num_joints,
        splits=list_frames(raw, train_frames),
        convert=functools.partial(convert_frame, options=options, cube_m=cube_mm / 1000.0, hand_side=side),
        metadata=depth_cube_metadata(
            layout=layout, centre_joint=CENTRE_JOINT, cube_mm=cube_mm, hand_side=hand_side, image_hw=IMAGE_HW,
            intrinsics="prediction_files 'icvl'", crop_centre_name="palm", train_frames=train_frames))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_cube_arguments(parser)
    add_hand_side_argument(parser, default=DEFAULT_HAND_SIDE)
    parser.add_argument("--train-frames", choices=("original", "all"), default="original",
                        help="original: the ~22k unrotated training frames (default); all: with rotated copies")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()  # the converter shows its own per-split bar
    spec = conversion_spec(args.raw, common_options(args), cube_mm=args.cube_mm, train_frames=args.train_frames,
                           hand_side=args.hand_side)
    return build_converted_dataset(spec, args.out, overwrite=args.overwrite, workers=args.workers)
