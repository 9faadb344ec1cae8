"""`python -m data_prep msra --raw DIR --out DIR --test-subject K`: the MSRA hand gesture dataset (MSRA15).

Sun et al. 2015. Raw layout (the unpacked cvpr15_MSRAHandGestureDB folder):

    P0 .. P8/<gesture>/joint.txt           first line N, then N lines of 21 joints x (x, y, z) mm
    P0 .. P8/<gesture>/%06d_depth.bin      int32 header (width, height, left, top, right,
                                           bottom), then float32 depth (mm) of the box
                                           rows top..bottom-1, columns left..right-1
                                           (row-major); 0 outside the box

with the 17 gestures 1-9, I, IP, L, MP, RP, T, TIP, Y. Joints: wrist, then index,
middle, ring, little, thumb, each MCP -> tip (layout "msra21"). joint.txt's frame
has y up and z negative (DeepPrior's importer flips z); the jaxhands camera frame
is (x, -y, -z), projected with fx = fy = 241.42, c = (160, 120) (prediction_files
'msra').

Leave-one-subject-out protocol: each config holds one subject out, `--test-subject K`
puts P<K> in the test split and the other eight subjects in train (run it for K = 0..8;
each config converts all ~76k frames again).

Crop: DeepPrior's metric cube (`--cube-mm`, default 250; DeepPrior used 200 for
P0-P2, 180 for P3-P5, 170, 160, 150 for P6-P8) centred on the middle-finger MCP
(joint 5, DeepPrior's crop joint); depths outside the cube are dropped, mask = depth
inside the cube, points from the kept depths; no RGB (image zeros, has_rgb False).
Hand side: 1 (right), as Sun et al. and DeepPrior's importer say; unlike NYU and ICVL
this could not be checked on labels here (no MSRA file is shared); `--hand-side`
overrides it.
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
                                             depth_benchmark_intrinsics, frame_rng, require_paths)
from jaxhands.geometry.layouts import get_layout

NAME = "msra"
SUBJECTS = tuple(f"P{i}" for i in range(9))
GESTURES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "I", "IP", "L", "MP", "RP", "T", "TIP", "Y")
NUM_JOINTS = 21
CENTRE_JOINT = 5  # middle MCP
IMAGE_HW = (240, 320)
DEFAULT_HAND_SIDE = "right"
_HEADER_INTS = 6
# joint.txt (x, y up, z < 0) -> jaxhands camera frame (x, y down, z forward), a rotation by pi about x.
_TO_CAMERA = np.array([1.0, -1.0, -1.0])


def read_depth_bin(path: pathlib.Path) -> np.ndarray:
    """float32 [240, 320] metres from an MSRA depth .bin (0 = no depth); errors name the file."""
    data = path.read_bytes()
    if len(data) < 4 * _HEADER_INTS:
        raise RawDatasetError(f"{path}: {len(data)} bytes, shorter than the 24-byte header")
    width, height, left, top, right, bottom = (int(x) for x in np.frombuffer(data[:24], "<i4"))
    if (height, width) != IMAGE_HW:
        raise RawDatasetError(f"{path}: header says {width}x{height}, expected {IMAGE_HW[1]}x{IMAGE_HW[0]}")
    if not (0 <= left <= right <= width and 0 <= top <= bottom <= height):
        raise RawDatasetError(f"{path}: bounding box (left {left}, top {top}, right {right}, bottom {bottom}) "
                              f"does not fit a {width}x{height} image")
    expected = (bottom - top) * (right - left)
    values = np.frombuffer(data[24:], "<f4")
    if values.size != expected:
        raise RawDatasetError(f"{path}: {values.size} depth values after the header, expected "
                              f"{bottom - top} x {right - left} = {expected}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise RawDatasetError(f"{path}: depth values must be finite and >= 0")
    depth = np.zeros(IMAGE_HW, np.float32)
    depth[top:bottom, left:right] = values.reshape(bottom - top, right - left) / 1000.0
    return depth


def labels_to_xyz(joints_mm: np.ndarray) -> np.ndarray:
    """[..., 21, 3] joint.txt coordinates (mm) -> metres in the jaxhands camera frame."""
    return np.asarray(joints_mm, np.float64) * _TO_CAMERA / 1000.0


def parse_joint_file(path: pathlib.Path) -> np.ndarray:
    """[N, 21, 3] mm from a joint.txt (first line N); errors name file and line."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    try:
        count = int(lines[0]) if lines else -1
    except ValueError:
        count = -1
    if count < 0:
        raise RawDatasetError(f"{path}: the first line must be the number of frames")
    if len(lines) - 1 != count:
        raise RawDatasetError(f"{path}: says {count} frames but has {len(lines) - 1} joint lines")
    joints = np.empty((count, NUM_JOINTS, 3))
    for number, line in enumerate(lines[1:], start=2):
        tokens = line.split()
        if len(tokens) != 3 * NUM_JOINTS:
            raise RawDatasetError(f"{path}: line {number} has {len(tokens)} numbers, expected 63 (21 joints x 3)")
        try:
            joints[number - 2] = np.array(tokens, np.float64).reshape(NUM_JOINTS, 3)
        except ValueError:
            raise RawDatasetError(f"{path}: line {number} has a field that is not a number") from None
    if not np.all(np.isfinite(joints)):
        raise RawDatasetError(f"{path}: non-finite joint coordinates")
    return joints


@dataclasses.dataclass(frozen=True, eq=False)
class MSRAFrame:
    raw: str
    subject: str
    gesture: str
    index: int
    joints_mm: np.ndarray  # [21, 3] as in joint.txt

    @property
    def source(self) -> str:
        return f"{self.subject}/{self.gesture}/{self.index:06d}_depth.bin"


def list_frames(raw: pathlib.Path, test_subject: int) -> dict[str, list[MSRAFrame]]:
    raw = pathlib.Path(raw)
    require_paths(raw, [f"{s}/{g}/joint.txt" for s in SUBJECTS for g in GESTURES], "MSRA")
    by_subject = {}
    for subject in SUBJECTS:
        frames = []
        for gesture in GESTURES:
            joints = parse_joint_file(raw / subject / gesture / "joint.txt")
            frames += [MSRAFrame(str(raw), subject, gesture, i, joints[i]) for i in range(joints.shape[0])]
        require_paths(raw, [f.source for f in frames], "MSRA")
        by_subject[subject] = frames
    test = SUBJECTS[test_subject]
    return {"train": [f for s in SUBJECTS if s != test for f in by_subject[s]], "test": by_subject[test]}


def convert_frame(frame: MSRAFrame, options: ConversionOptions, cube_m: float, hand_side: int):
    return build_cube_example(
        depth=read_depth_bin(pathlib.Path(frame.raw) / frame.source), keypoints_3d_raw=labels_to_xyz(frame.joints_mm),
        layout="msra21", centre_joint=CENTRE_JOINT, cube_size=cube_m,
        full_intrinsics=depth_benchmark_intrinsics(NAME), options=options, hand_side=hand_side,
        sequence=f"{frame.subject}/{frame.gesture}", frame=frame.index, source=frame.source,
        rng=frame_rng(options, frame.source))


def conversion_spec(raw: pathlib.Path, options: ConversionOptions, *, test_subject: int = 0, cube_mm: int = 250,
                    hand_side: str = DEFAULT_HAND_SIDE) -> ConversionSpec:
    """Checks the raw folder and describes the conversion (see module doc)."""
    if not 0 <= test_subject < len(SUBJECTS):
        raise ValueError(f"test_subject must be in 0..8, got {test_subject}")
    check_cube_mm(cube_mm)
    layout = get_layout("msra21")
    side = parse_hand_side(hand_side)
    return ConversionSpec(
        name=NAME,
        config_name=f"test_p{test_subject}_cube{cube_mm}_{hand_side}_{options.config_suffix()}",
        description=f"MSRA hand gestures (depth), subject P{test_subject} held out, {cube_mm} mm cube crops.",
        options=options, raw_layout=layout.name, num_raw_joints=layout.num_joints,
        splits=list_frames(raw, test_subject),
        convert=functools.partial(convert_frame, options=options, cube_m=cube_mm / 1000.0, hand_side=side),
        metadata=depth_cube_metadata(
            layout=layout, centre_joint=CENTRE_JOINT, cube_mm=cube_mm, hand_side=hand_side, image_hw=IMAGE_HW,
            intrinsics="prediction_files 'msra'", crop_centre_name="middle MCP", test_subject=SUBJECTS[test_subject]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_cube_arguments(parser)
    add_hand_side_argument(parser, default=DEFAULT_HAND_SIDE)
    parser.add_argument("--test-subject", type=int, choices=range(len(SUBJECTS)), default=0,
                        help="leave-one-subject-out: subject P<K> (0..8) is the test split (default 0)")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()  # the converter shows its own per-split bar
    spec = conversion_spec(args.raw, common_options(args), test_subject=args.test_subject, cube_mm=args.cube_mm,
                           hand_side=args.hand_side)
    return build_converted_dataset(spec, args.out, overwrite=args.overwrite, workers=args.workers)
