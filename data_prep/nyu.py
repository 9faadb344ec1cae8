"""`python -m data_prep nyu --raw DIR --out DIR`: the NYU hand pose dataset (depth).

Tompson et al. 2014. Raw layout (the unpacked nyu_hand_dataset_v2 folder):

    train/joint_data.mat        `joint_uvd`: [3 kinects, N, 36 joints, (u, v, d mm)]
    train/depth_1_%07d.png      640 x 480; depth in mm = G << 8 | B; frames from 0000001
    test/joint_data.mat         (72757 train, 8252 test frames per kinect)
    test/depth_1_%07d.png

Only the 14 of the 36 joints everyone evaluates are kept (DeepPrior's
restrictedJointsEval, the order of ../shared/data/icvl_nyu; layout "nyu14"). 3D joints
come from the (u, v, d) labels through the evaluation code's conversion and
intrinsics (fx 588.03, |fy| 587.07, c = (320, 240); `uvd_labels_to_xyz`), so the
stored 3D, 2D and depth agree with one pinhole camera and the published test errors
are reproduced by the same code. `--kinects` picks the views (default 1, as in the
literature; 2 and 3 are the side views).

Crop: DeepPrior's metric cube (`--cube-mm`, default 250; DeepPrior used 300 for NYU)
centred on the palm centre (joint 13, DeepPrior's crop joint for the 14-joint set);
depths outside the cube are dropped, mask = depth inside the cube, points from the
kept depths. No RGB is stored (image zeros, metadata has_rgb False). The canonical
layout gets 11 of the 14 joints (the palm points have no canonical counterpart).

Hand side: 1 (right). `hand_side` is the geometry of the labelled hand (what
jaxhands.geometry.frames.canonical_frame and the flip augmentation assume); on the
published test labels NYU's is a right hand's (tests/data_prep/test_convert_nyu.py),
as the dataset says. `--hand-side` overrides it.
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
                                             depth_benchmark_intrinsics, frame_rng, load_mat, read_png, require_paths,
                                             uvd_labels_to_xyz)
from jaxhands.geometry.layouts import get_layout

NAME = "nyu"
SPLIT_FOLDERS = {"train": "train", "test": "test"}
# The 14 evaluated joints among NYU's 36 (DeepPrior's restrictedJointsEval), in layout "nyu14" order.
EVALUATED_JOINTS = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
CENTRE_JOINT = 13  # palm centre (PALM_3) in the 14-joint order
IMAGE_HW = (480, 640)
DEFAULT_HAND_SIDE = "right"


def decode_depth(encoded: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] NYU depth PNG -> float32 [H, W] metres: (G << 8 | B) mm; 0 = no depth."""
    code = (encoded[..., 1].astype(np.int64) << 8) | encoded[..., 2]
    return (code / 1000.0).astype(np.float32)


def labels_to_xyz(uvd_mm: np.ndarray) -> np.ndarray:
    """[..., 14, 3] (u, v, d mm) labels -> metres, jaxhands camera frame (shared with evaluation)."""
    return uvd_labels_to_xyz(uvd_mm, NAME)


@dataclasses.dataclass(frozen=True, eq=False)
class NYUFrame:
    raw: str
    folder: str
    kinect: int  # 1..3
    number: int  # NYU's frame number, from 1
    uvd: np.ndarray  # [14, 3]

    @property
    def source(self) -> str:
        return f"{self.folder}/depth_{self.kinect}_{self.number:07d}.png"


def load_labels(path: pathlib.Path) -> np.ndarray:
    """joint_uvd of one split: [3, N, 36, 3] (kinects, frames, joints, (u, v, d mm))."""
    uvd = load_mat(path, ["joint_uvd"])["joint_uvd"]
    if uvd.ndim != 4 or uvd.shape[0] != 3 or uvd.shape[2:] != (36, 3) or not np.issubdtype(uvd.dtype, np.number):
        raise RawDatasetError(f"{path}: joint_uvd must be a numeric [3, N, 36, 3] array, got {uvd.dtype} {uvd.shape}")
    if not np.all(np.isfinite(uvd)):
        raise RawDatasetError(f"{path}: joint_uvd holds non-finite values")
    return uvd.astype(np.float64)


def list_frames(raw: pathlib.Path, kinects: tuple[int, ...]) -> dict[str, list[NYUFrame]]:
    raw = pathlib.Path(raw)
    require_paths(raw, [f"{folder}/joint_data.mat" for folder in SPLIT_FOLDERS.values()], "NYU")
    splits = {}
    for split, folder in SPLIT_FOLDERS.items():
        uvd = load_labels(raw / folder / "joint_data.mat")[:, :, list(EVALUATED_JOINTS)]
        frames = [NYUFrame(str(raw), folder, k, i + 1, uvd[k - 1, i]) for k in kinects for i in range(uvd.shape[1])]
        require_paths(raw, [f.source for f in frames], "NYU")
        splits[split] = frames
    return splits


def convert_frame(frame: NYUFrame, options: ConversionOptions, cube_m: float, hand_side: int):
    encoded = read_png(pathlib.Path(frame.raw) / frame.source, channels=3, dtype=np.uint8, shape=IMAGE_HW)
    return build_cube_example(
        depth=decode_depth(encoded), keypoints_3d_raw=labels_to_xyz(frame.uvd), layout="nyu14",
        centre_joint=CENTRE_JOINT, cube_size=cube_m, full_intrinsics=depth_benchmark_intrinsics(NAME),
        options=options, hand_side=hand_side, sequence=f"{frame.folder}/kinect_{frame.kinect}",
        frame=frame.number, source=frame.source, rng=frame_rng(options, frame.source))


def conversion_spec(raw: pathlib.Path, options: ConversionOptions, *, cube_mm: int = 250,
                    kinects: tuple[int, ...] = (1,), hand_side: str = DEFAULT_HAND_SIDE) -> ConversionSpec:
    """Checks the raw folder and describes the conversion (see module doc)."""
    kinects = tuple(sorted(set(kinects)))
    if not kinects or any(k not in (1, 2, 3) for k in kinects):
        raise ValueError(f"kinects must be a non-empty subset of (1, 2, 3), got {kinects}")
    check_cube_mm(cube_mm)
    layout = get_layout("nyu14")
    side = parse_hand_side(hand_side)
    return ConversionSpec(
        name=NAME,
        config_name=f"kinect{''.join(map(str, kinects))}_cube{cube_mm}_{hand_side}_{options.config_suffix()}",
        description=f"NYU hand pose (depth), kinect(s) {kinects}, {cube_mm} mm cube crops, 14 evaluated joints.",
        options=options, raw_layout=layout.name, num_raw_joints=layout.num_joints,
        splits=list_frames(raw, kinects),
        convert=functools.partial(convert_frame, options=options, cube_m=cube_mm / 1000.0, hand_side=side),
        metadata=depth_cube_metadata(
            layout=layout, centre_joint=CENTRE_JOINT, cube_mm=cube_mm, hand_side=hand_side, image_hw=IMAGE_HW,
            intrinsics="prediction_files 'nyu' with fy made positive (y down)", crop_centre_name="palm centre", kinects=list(kinects)))


def _kinect_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of 1, 2, 3, got {text!r}") from None
    if not values or any(v not in (1, 2, 3) for v in values):
        raise argparse.ArgumentTypeError(f"kinects must be among 1, 2, 3, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_cube_arguments(parser)
    add_hand_side_argument(parser, default=DEFAULT_HAND_SIDE)
    parser.add_argument("--kinects", type=_kinect_list, default=(1,),
                        help="comma-separated kinect views to convert (default 1, the frontal view)")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()  # the converter shows its own per-split bar
    spec = conversion_spec(args.raw, common_options(args), cube_mm=args.cube_mm, kinects=args.kinects,
                           hand_side=args.hand_side)
    return build_converted_dataset(spec, args.out, overwrite=args.overwrite, workers=args.workers)
