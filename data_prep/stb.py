"""`python -m data_prep stb --raw DIR --out DIR`: the Stereo Hand Pose Benchmark (STB), stereo views.

Zhang et al. 2016/2017. Raw layout (as downloaded; the image folders may also sit
under an `images/` folder):

    labels/B{1..6}{Counting,Random}_BB.mat   `handPara`: [3, 21, N] joint positions in
                                             mm, left Bumblebee camera frame
    B1Counting/BB_left_%d.png, BB_right_%d.png  640 x 480 RGB, frames 0..N-1
    ...                                      (12 sequences)

`handPara`'s joint order is the "stb" layout: palm centre, then little, ring, middle,
index, thumb, each MCP -> tip. The stereo pair is rectified (both views share the
README's Bumblebee intrinsics f = 822.79041, c = (318.47345, 250.31296)); the right
camera sits 120.054 mm along +x, so a point's right-view coordinates are
x - 120.054 mm. Standard split (hand3d, Spurr et al., Yang et al.): test = B1Counting
+ B1Random (2 x 1500 frames x 2 views = 6000 samples), train = B2-B6 (30000).

STB has no wrist: `--palm-to-wrist` says what goes in canonical slot 0 (the papers
differ): `ring_mcp` (default; hand3d's STB reader, Yang et al. 2019: wrist =
ring MCP + 2 (palm - ring MCP)), `middle_mcp` (the inverse of Spurr et al.'s palm =
(wrist + middle MCP) / 2, i.e. what `--root palm` of the RHD converter produces), or
`none` (keep the palm centre in slot 0; pair it with RHD `--root palm` as Spurr et al.
do). The raw palm is always kept in keypoints_3d_raw.

Crops as for RHD (hand3d: square around the middle MCP holding every keypoint; STB
labels no occlusion, so every keypoint counts as visible unless it leaves the crop).
The stereo images have no depth and no mask: depth, mask and points are zeros
(metadata has_depth False, mask_source "none"; has_points False).

Hand side: the papers say STB films one subject's LEFT hand (hand3d tags it left),
but its labels, and so the images they project onto, have a RIGHT hand's geometry
(finger flexion and thumb on the side of a right hand, checked on
../shared/data/stb; tests/data_prep/test_convert_stb.py). `hand_side` is the geometry
of the depicted hand (what jaxhands.geometry.frames.canonical_frame and the flip
augmentation assume), so it is 1 (right) by default; `--hand-side left` stores the
papers' label instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib

import numpy as np

from jaxhands.data.converted_builder import (ConversionOptions, ConversionSpec, RawDatasetError, parse_hand_side,
                                             add_common_arguments, add_hand_side_argument, build_converted_dataset,
                                             build_example, common_options, frame_rng, load_mat, read_png,
                                             require_paths)
from jaxhands.data.cropping import rgb_crop_box
from jaxhands.geometry.camera import intrinsics_matrix, project
from jaxhands.geometry.layouts import get_layout, stb_palm_to_wrist, to_canonical

NAME = "stb"
# Bumblebee stereo camera, from the STB README (../shared/data/README.md).
BUMBLEBEE_FOCAL = 822.79041
BUMBLEBEE_CENTRE = (318.47345, 250.31296)
BASELINE_M = 0.120054
IMAGE_HW = (480, 640)
TEST_SEQUENCES = ("B1Counting", "B1Random")
TRAIN_SEQUENCES = tuple(f"B{b}{kind}" for b in range(2, 7) for kind in ("Counting", "Random"))
VIEWS = ("left", "right")
PALM_TO_WRIST = ("ring_mcp", "middle_mcp", "none")
DEFAULT_HAND_SIDE = "right"
_RAW_MIDDLE_MCP = get_layout("stb").joint_index["middle_mcp"]


def bumblebee_intrinsics() -> np.ndarray:
    """[3, 3] K of both (rectified) Bumblebee views."""
    return np.asarray(intrinsics_matrix(BUMBLEBEE_FOCAL, BUMBLEBEE_FOCAL, *BUMBLEBEE_CENTRE), np.float64)


def view_offset(view: str) -> np.ndarray:
    """What to add to left-camera coordinates (metres) to get the view's camera coordinates."""
    return np.array([-BASELINE_M if view == "right" else 0.0, 0.0, 0.0])


def canonical_joints(raw_m: np.ndarray, palm_to_wrist: str) -> tuple[np.ndarray, np.ndarray]:
    """[21, 3] STB-order joints -> ([21, 3] canonical, defined [21]) with slot 0 per `palm_to_wrist`."""
    canonical, defined = to_canonical(raw_m, "stb")
    if palm_to_wrist != "none":
        canonical = stb_palm_to_wrist(canonical, through=palm_to_wrist)
    return canonical, defined


@dataclasses.dataclass(frozen=True, eq=False)
class STBFrame:
    image_root: str
    sequence: str
    view: str
    index: int
    joints_mm: np.ndarray  # [21, 3], left camera, STB order


def _image_root(raw: pathlib.Path) -> pathlib.Path:
    for candidate in (raw, raw / "images"):
        if (candidate / TEST_SEQUENCES[0]).is_dir():
            return candidate
    return raw


def load_sequence_labels(path: pathlib.Path) -> np.ndarray:
    """handPara of one sequence as [N, 21, 3] mm."""
    para = load_mat(path, ["handPara"])["handPara"]
    if para.ndim != 3 or para.shape[:2] != (3, 21) or not np.issubdtype(para.dtype, np.number):
        raise RawDatasetError(f"{path}: handPara must be a numeric [3, 21, N] array, got {para.dtype} {para.shape}")
    joints = np.transpose(para, (2, 1, 0)).astype(np.float64)
    if not np.all(np.isfinite(joints)):
        raise RawDatasetError(f"{path}: handPara holds non-finite values")
    return joints


def list_frames(raw: pathlib.Path, views: tuple[str, ...]) -> dict[str, list[STBFrame]]:
    """Frames of both splits (sequence, then view, then frame order); checks every file exists."""
    raw = pathlib.Path(raw)
    sequences = {"train": TRAIN_SEQUENCES, "test": TEST_SEQUENCES}
    require_paths(raw, [f"labels/{s}_BB.mat" for split in sequences.values() for s in split], "STB")
    image_root = _image_root(raw)
    splits = {}
    for split, names in sequences.items():
        frames = []
        for sequence in names:
            joints = load_sequence_labels(raw / "labels" / f"{sequence}_BB.mat")
            frames += [STBFrame(str(image_root), sequence, view, i, joints[i])
                       for view in views for i in range(joints.shape[0])]
        require_paths(image_root, [f"{f.sequence}/BB_{f.view}_{f.index}.png" for f in frames], "STB")
        splits[split] = frames
    return splits


def convert_frame(frame: STBFrame, options: ConversionOptions, palm_to_wrist: str, hand_side: int):
    name = f"{frame.sequence}/BB_{frame.view}_{frame.index}.png"
    image = read_png(pathlib.Path(frame.image_root) / name, channels=3, dtype=np.uint8, shape=IMAGE_HW)
    raw_m = frame.joints_mm / 1000.0 + view_offset(frame.view)
    canonical, defined = canonical_joints(raw_m, palm_to_wrist)
    intrinsics = bumblebee_intrinsics()
    # The box comes from the raw joints, so it does not depend on the slot-0 choice.
    uv = project(raw_m, intrinsics)
    box = rgb_crop_box(uv, np.ones(len(uv), bool), uv[_RAW_MIDDLE_MCP], (IMAGE_HW[1], IMAGE_HW[0]))
    return build_example(
        keypoints_3d=canonical, keypoints_defined=defined, keypoints_3d_raw=raw_m, full_intrinsics=intrinsics,
        box=box, options=options, hand_side=hand_side, sequence=f"{frame.sequence}/BB_{frame.view}",
        frame=frame.index, source=name, rng=frame_rng(options, name), image=image)


def conversion_spec(raw: pathlib.Path, options: ConversionOptions, *, palm_to_wrist: str = "ring_mcp",
                    views: tuple[str, ...] = VIEWS, hand_side: str = DEFAULT_HAND_SIDE) -> ConversionSpec:
    """Checks the raw folder and describes the conversion (see module doc)."""
    if palm_to_wrist not in PALM_TO_WRIST:
        raise ValueError(f"palm_to_wrist must be one of {PALM_TO_WRIST}, got {palm_to_wrist!r}")
    views = tuple(views)
    if not views or any(v not in VIEWS for v in views) or len(set(views)) != len(views):
        raise ValueError(f"views must be distinct names from {VIEWS}, got {views}")
    side = parse_hand_side(hand_side)
    layout = get_layout("stb")
    slot0 = ("palm centre (STB's own joint)" if palm_to_wrist == "none" else
             f"wrist = {palm_to_wrist} + 2 (palm - {palm_to_wrist}) (jaxhands.geometry.stb_palm_to_wrist)")
    return ConversionSpec(
        name=NAME,
        config_name=f"views_{'_'.join(views)}_slot0_{palm_to_wrist if palm_to_wrist != 'none' else 'palm'}_"
                    f"{hand_side}_{options.config_suffix()}",
        description=f"Stereo Hand Pose Benchmark (STB), Bumblebee views {', '.join(views)}, hand3d crops.",
        options=options, raw_layout=layout.name, num_raw_joints=layout.num_joints,
        splits=list_frames(raw, views),
        convert=functools.partial(convert_frame, options=options, palm_to_wrist=palm_to_wrist,
                                  hand_side=side),
        metadata=dict(
            has_rgb=True, has_depth=False, mask_source="none", full_image_size=[IMAGE_HW[1], IMAGE_HW[0]],
            views=list(views), slot0=slot0,
            hand_side=f"{hand_side} (geometry of the labels; the papers call STB's hand left)",
            crop="hand3d: square centred on the middle MCP holding all keypoints, side clamped to [50, 500] px",
            visible="no occlusion labels: every defined joint inside the crop",
            raw_joint_names=list(layout.joint_names)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_hand_side_argument(parser, default=DEFAULT_HAND_SIDE)
    parser.add_argument("--palm-to-wrist", choices=PALM_TO_WRIST, default="ring_mcp",
                        help="canonical slot 0: wrist extrapolated from the palm through this MCP "
                             "(ring_mcp: hand3d / Yang et al.), or none: keep STB's palm centre")
    parser.add_argument("--views", choices=("both",) + VIEWS, default="both",
                        help="stereo views to convert (default both, the standard 30000 / 6000 split)")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()  # the converter shows its own per-split bar
    views = VIEWS if args.views == "both" else (args.views,)
    spec = conversion_spec(args.raw, common_options(args), palm_to_wrist=args.palm_to_wrist, views=views,
                           hand_side=args.hand_side)
    return build_converted_dataset(spec, args.out, overwrite=args.overwrite, workers=args.workers)
