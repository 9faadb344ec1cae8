"""`python -m data_prep rhd --raw DIR --out DIR`: the Rendered Hand Pose dataset (RHD).

Zimmermann & Brox 2017 (hand3d). Raw layout (the unpacked RHD_published_v2 folder):

    training/anno_training.pickle      {sample id: {'xyz': [42, 3] metres, camera frame,
    evaluation/anno_evaluation.pickle               'uv_vis': [42, 3] (u, v, visible 0/1),
                                                    'K': [3, 3]}}
    training/color/%.5d.png            RGB, 320 x 320
    training/depth/%.5d.png            depth in two 8-bit channels:
                                       metres = (R * 256 + G) / 65535 * 5.0
    training/mask/%.5d.png             0 background, 1 person, 2-17 left-hand parts,
                                       18-33 right-hand parts
    evaluation/...                     the same

Rows 0-20 of `xyz` / `uv_vis` are the left hand, 21-41 the right one, each in RHD's
order (wrist, then each finger tip -> MCP; layout "rhd"). Splits: train = training
(41258 images), test = evaluation (2728 images); whichever of the two folders the raw
folder holds is converted (`--splits` asks for specific ones), a partial set named
"..._test_only" / "..._train_only".

Per image (`--hands dominant`, hand3d's choice) the hand with more mask pixels is
kept (a tie goes to the right hand, as in hand3d); `--hands both` keeps every hand
with at least one mask pixel (an image where neither hand has one keeps the
dominant-rule hand, so no image is lost). The crop is hand3d's: a square centred on
the labelled middle-finger MCP holding every visible labelled keypoint
(jaxhands.data.cropping.rgb_crop_box). Stored: the RGB crop, the depth crop (metres,
the whole rendered scene), the chosen hand's mask, 256 points of the chosen hand's
surface (depth pixels of its mask inside the crop box), `visible` from uv_vis.
`--root palm` replaces the wrist by the palm centre (midpoint of wrist and middle
MCP, as Spurr et al. 2018 do to match STB); its visibility is that of the wrist or
the middle MCP (hand3d's rule).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
import pickle
from typing import Sequence

import numpy as np

from jaxhands.data.converted_builder import (ConversionOptions, ConversionSpec, RawDatasetError,
                                             add_common_arguments, build_converted_dataset, build_example,
                                             common_options, frame_rng, read_png, require_paths)
from jaxhands.data.cropping import rgb_crop_box
from jaxhands.data.schema import LEFT, RIGHT
from jaxhands.geometry.layouts import JOINT_INDEX, get_layout, to_canonical, wrist_to_palm

NAME = "rhd"
SPLIT_FOLDERS = {"train": "training", "test": "evaluation"}
IMAGE_HW = (320, 320)
DEPTH_RANGE_M = 5.0  # the 16-bit depth code 65535 is 5 m
LEFT_PARTS = (2, 17)  # inclusive range of left-hand part labels in the masks
RIGHT_PARTS = (18, 33)
_MIDDLE_MCP = JOINT_INDEX["middle_mcp"]


def decode_depth(encoded: np.ndarray) -> np.ndarray:
    """uint8 [H, W, >=2] RHD depth PNG -> float32 [H, W] metres: (R * 256 + G) / 65535 * 5."""
    code = encoded[..., 0].astype(np.float64) * 256 + encoded[..., 1]
    return (code / 65535.0 * DEPTH_RANGE_M).astype(np.float32)


def hand_masks(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bool [H, W] masks of the left and right hand from an RHD part mask."""
    left = (parts >= LEFT_PARTS[0]) & (parts <= LEFT_PARTS[1])
    right = (parts >= RIGHT_PARTS[0]) & (parts <= RIGHT_PARTS[1])
    return left, right


def dominant_hand(left_pixels: int, right_pixels: int) -> int:
    """hand3d's choice: the hand with more mask pixels; a tie goes to the right hand."""
    return LEFT if left_pixels > right_pixels else RIGHT


@dataclasses.dataclass(frozen=True, eq=False)
class RHDFrame:
    """One RHD image; `hand` None picks the dominant hand, LEFT / RIGHT one hand (both-hands mode)."""

    raw: str
    folder: str  # training | evaluation
    sample_id: int
    xyz: np.ndarray  # [42, 3] metres
    uv_vis: np.ndarray  # [42, 3]
    intrinsics: np.ndarray  # [3, 3]
    hand: int | None


def load_annotations(path: pathlib.Path) -> dict[int, dict[str, np.ndarray]]:
    """The annotation pickle, checked: {sample id: {'xyz', 'uv_vis', 'K'}} with RHD's shapes."""
    try:
        with open(path, "rb") as f:
            annotations = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise RawDatasetError(f"{path}: cannot read the annotation pickle ({error})") from error
    if not isinstance(annotations, dict) or not annotations:
        raise RawDatasetError(f"{path}: expected a non-empty dict {{sample id: annotation}}, "
                              f"got {type(annotations).__name__}")
    shapes = {"xyz": (42, 3), "uv_vis": (42, 3), "K": (3, 3)}
    checked = {}
    for sample_id, entry in sorted(annotations.items()):
        if not isinstance(entry, dict) or any(k not in entry for k in shapes):
            raise RawDatasetError(f"{path}: sample {sample_id} lacks one of the fields {list(shapes)}")
        values = {k: np.asarray(entry[k], np.float64) for k in shapes}
        for key, shape in shapes.items():
            if values[key].shape != shape or not np.all(np.isfinite(values[key])):
                raise RawDatasetError(f"{path}: sample {sample_id} field '{key}' must be finite with shape "
                                      f"{shape}, got {values[key].shape}")
        checked[int(sample_id)] = values
    return checked


def present_splits(raw: pathlib.Path, asked: Sequence[str] | None = None) -> tuple[str, ...]:
    """The splits to convert: `asked` (each must have its folder), else every split whose
    folder the raw folder holds (an evaluation-only download builds a test-only set)."""
    raw = pathlib.Path(raw)
    if asked:
        unknown = [s for s in asked if s not in SPLIT_FOLDERS]
        if unknown:
            raise ValueError(f"RHD splits are {sorted(SPLIT_FOLDERS)}; got {unknown}")
        missing = [f"'{s}' ({raw / SPLIT_FOLDERS[s]})" for s in asked if not (raw / SPLIT_FOLDERS[s]).is_dir()]
        if missing:
            raise RawDatasetError(f"RHD: split {' and '.join(missing)} asked for, but its folder is missing")
        return tuple(s for s in SPLIT_FOLDERS if s in asked)
    found = tuple(s for s, folder in SPLIT_FOLDERS.items() if (raw / folder).is_dir())
    if not found:
        require_paths(raw, list(SPLIT_FOLDERS.values()), "RHD")  # names the folder or both split folders
    return found


def list_frames(raw: pathlib.Path, hands: str, splits: Sequence[str] | None = None) -> dict[str, list[RHDFrame]]:
    """The frames of the chosen splits (`present_splits`), checking that every listed
    image's three PNGs exist."""
    raw = pathlib.Path(raw)
    folders = [SPLIT_FOLDERS[s] for s in present_splits(raw, splits)]
    require_paths(raw, [f"{folder}/anno_{folder}.pickle" for folder in folders]
                  + [f"{folder}/{kind}" for folder in folders for kind in ("color", "depth", "mask")], "RHD")
    frames = {}
    for split, folder in SPLIT_FOLDERS.items():
        if folder not in folders:
            continue
        annotations = load_annotations(raw / folder / f"anno_{folder}.pickle")
        require_paths(raw, [f"{folder}/{kind}/{sample_id:05d}.png" for sample_id in annotations
                            for kind in ("color", "depth", "mask")], "RHD")
        choices = (None,) if hands == "dominant" else (LEFT, RIGHT)
        frames[split] = [
            RHDFrame(str(raw), folder, sample_id, a["xyz"], a["uv_vis"], a["K"], hand)
            for sample_id, a in annotations.items() for hand in choices]
    return frames


def _chosen_hand(frame: RHDFrame, left_pixels: int, right_pixels: int) -> int | None:
    if frame.hand is None:
        return dominant_hand(left_pixels, right_pixels)
    pixels = left_pixels if frame.hand == LEFT else right_pixels
    if pixels > 0 or (left_pixels == 0 and right_pixels == 0 and frame.hand == dominant_hand(0, 0)):
        return frame.hand
    return None


def convert_frame(frame: RHDFrame, options: ConversionOptions, root: str):
    """One RHD image (and hand) -> example, or None when both-hands mode skips this hand."""
    folder = pathlib.Path(frame.raw) / frame.folder
    name = f"{frame.sample_id:05d}.png"
    image = read_png(folder / "color" / name, channels=3, dtype=np.uint8, shape=IMAGE_HW)
    depth = decode_depth(read_png(folder / "depth" / name, channels=3, dtype=np.uint8, shape=IMAGE_HW))
    parts = read_png(folder / "mask" / name, channels=None, dtype=np.uint8, shape=IMAGE_HW)
    left_mask, right_mask = hand_masks(parts)
    side = _chosen_hand(frame, int(left_mask.sum()), int(right_mask.sum()))
    if side is None:
        return None
    rows = slice(0, 21) if side == LEFT else slice(21, 42)
    xyz, uv, labelled_visible = frame.xyz[rows], frame.uv_vis[rows, :2], frame.uv_vis[rows, 2] > 0.5
    keypoints_3d, defined = to_canonical(xyz, "rhd")
    uv_canonical, _ = to_canonical(uv, "rhd")
    visible = to_canonical(labelled_visible[:, None].astype(np.float64), "rhd")[0][:, 0] > 0.5
    box = rgb_crop_box(uv_canonical, visible, uv_canonical[_MIDDLE_MCP], (IMAGE_HW[1], IMAGE_HW[0]))
    if root == "palm":
        keypoints_3d = wrist_to_palm(keypoints_3d)
        visible = visible.copy()
        visible[0] = visible[0] or visible[_MIDDLE_MCP]
    hand_mask = left_mask if side == LEFT else right_mask
    hand_name = "left" if side == LEFT else "right"
    return build_example(
        keypoints_3d=keypoints_3d, keypoints_defined=defined, keypoints_3d_raw=xyz,
        full_intrinsics=frame.intrinsics, box=box, options=options, hand_side=side, sequence=frame.folder,
        frame=frame.sample_id, source=f"{frame.folder}/color/{name}",
        rng=frame_rng(options, f"{frame.folder}/{frame.sample_id}/{hand_name}"),
        visible_labels=visible, image=image, depth=depth, mask=hand_mask.astype(np.uint8),
        point_pixels=hand_mask)


def conversion_spec(raw: pathlib.Path, options: ConversionOptions, *, hands: str = "dominant",
                    root: str = "wrist", splits: Sequence[str] | None = None) -> ConversionSpec:
    """Checks the raw folder and describes the conversion (see module doc). splits: the
    splits to convert (default: those the raw folder holds); a partial set is named in the
    config ("..._test_only"), so it never stands in for a complete conversion."""
    if hands not in ("dominant", "both"):
        raise ValueError(f"hands must be 'dominant' or 'both', got {hands!r}")
    if root not in ("wrist", "palm"):
        raise ValueError(f"root must be 'wrist' or 'palm', got {root!r}")
    frames = list_frames(raw, hands, splits)
    partial = "" if len(frames) == len(SPLIT_FOLDERS) else "_" + "_".join(frames) + "_only"
    layout = get_layout("rhd")
    return ConversionSpec(
        name=NAME,
        config_name=f"hands_{hands}_root_{root}_{options.config_suffix()}{partial}",
        description=(f"Rendered Hand Pose (RHD), {hands} hand(s) per image, hand3d crops, canonical slot 0 = "
                     f"{'palm centre' if root == 'palm' else 'wrist'}."),
        options=options, raw_layout=layout.name, num_raw_joints=layout.num_joints, splits=frames,
        convert=functools.partial(convert_frame, options=options, root=root),
        metadata=dict(
            has_rgb=True, has_depth=True, mask_source="labels",
            full_image_size=[IMAGE_HW[1], IMAGE_HW[0]], hands=hands,
            slot0="palm centre: (wrist + middle_mcp) / 2" if root == "palm" else "wrist",
            crop="hand3d: square centred on the labelled middle MCP holding all visible labelled keypoints, "
                 "side clamped to [50, 500] px",
            points="depth pixels of the chosen hand's mask inside the crop box",
            raw_joint_names=list(layout.joint_names)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--hands", choices=("dominant", "both"), default="dominant",
                        help="dominant: the hand with more mask pixels (hand3d); both: every hand in view")
    parser.add_argument("--root", choices=("wrist", "palm"), default="wrist",
                        help="canonical slot 0: RHD's wrist, or the palm centre (Spurr et al. 2018)")
    parser.add_argument("--splits", nargs="+", choices=sorted(SPLIT_FOLDERS), default=None,
                        help="splits to convert (default: those the raw folder holds, e.g. an evaluation-only "
                             "download gives a test-only dataset)")


def prepare(args: argparse.Namespace):
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()  # the converter shows its own per-split bar
    spec = conversion_spec(args.raw, common_options(args), hands=args.hands, root=args.root, splits=args.splits)
    return build_converted_dataset(spec, args.out, overwrite=args.overwrite, workers=args.workers)
