"""RHD converter on a tiny raw fixture in RHD's exact on-disk format (pickle + PNGs)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from data_prep import rhd
from jaxhands.data.converted_builder import ConversionOptions, RawDatasetError, build_converted_dataset
from jaxhands.data.cropping import CropBox, crop_intrinsics, crop_to_full
from jaxhands.geometry.camera import project
from tests.data_prep.raw_fixtures import (disc, gradient_image, nothing_left_behind, only_prepared, plane_depth,
                                          plane_residual, points_on_plane, read_records, write_png)

SIZE, POINTS = 32, 64
K = np.array([[280.0, 0.0, 160.0], [0.0, 280.0, 160.0], [0.0, 0.0, 1.0]])
NORMAL, OFFSET = np.array([0.2, -0.1, 1.0]), 0.5
BACKGROUND_Z = 2.0
HW = (320, 320)
# RHD lists each finger tip -> MCP; canonical lists base -> tip: canonical j <- RHD RHD_OF_CANONICAL[j].
RHD_OF_CANONICAL = [0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17]
# folder -> sample id -> ((left centre, radius), (right centre, radius))
SCENES = {
    "training": {0: (((120, 150), 30), ((230, 170), 10)),
                 1: (((110, 140), 8), ((200, 180), 25)),
                 2: (((150, 150), 0), ((190, 150), 0))},
    "evaluation": {0: (((140, 160), 20), ((220, 160), 0)),
                   5: (((100, 100), 0), ((180, 200), 20))},
}


def depth_code(z: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(z / 5.0 * 65535), 0, 65535).astype(np.int64)


def write_raw(root, rng):
    """Writes the RHD fixture; returns {(folder, id): (xyz [42, 3], decoded depth [H, W], parts)}."""
    truth = {}
    for folder, scenes in SCENES.items():
        annotations = {}
        for sample_id, hands in scenes.items():
            z = np.full(HW, BACKGROUND_Z)
            parts = np.zeros(HW, np.uint8)
            parts[250:, :] = 1  # the person's body
            xyz, uv_vis = [], []
            for hand_index, (centre, radius) in enumerate(hands):
                region = disc(HW, centre, radius)
                z = np.where(region, plane_depth(K, HW, NORMAL, OFFSET), z)
                first = 2 if hand_index == 0 else 18
                v, u = np.mgrid[0:HW[0], 0:HW[1]]
                parts = np.where(region, first + (u + v) % 16, parts).astype(np.uint8)
                uv = np.asarray(centre, float) + rng.uniform(-0.7, 0.7, (21, 2)) * max(radius, 10)
                xyz.append(points_on_plane(uv, K, NORMAL, OFFSET))
                uv_vis.append(np.concatenate([uv, (rng.uniform(size=(21, 1)) < 0.8)], 1))
            code = depth_code(z)
            encoded = np.stack([code // 256, code % 256, np.zeros_like(code)], -1).astype(np.uint8)
            name = f"{sample_id:05d}.png"
            write_png(root / folder / "color" / name, gradient_image(HW))
            write_png(root / folder / "depth" / name, encoded)
            write_png(root / folder / "mask" / name, parts)
            xyz = np.concatenate(xyz)
            annotations[sample_id] = {"xyz": xyz.astype(np.float32), "K": K.astype(np.float32),
                                      "uv_vis": np.concatenate(uv_vis).astype(np.float32)}
            truth[folder, sample_id] = (xyz, code / 65535.0 * 5.0, parts)
        with open(root / folder / f"anno_{folder}.pickle", "wb") as f:
            pickle.dump(annotations, f)
    return truth


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("rhd_raw")
    return root, write_raw(root, np.random.default_rng(0))


@pytest.fixture(scope="module")
def converted(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("rhd_out")
    spec = rhd.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS))
    result = build_converted_dataset(spec, out, workers=1)
    assert result.created
    return out


def test_splits_hand_choice_and_joint_order(raw, converted):
    truth = raw[1]
    train, test = read_records(converted, "train"), read_records(converted, "test")
    assert [(r["sequence"].decode(), int(r["frame"])) for r in train] == [("training", i) for i in (0, 1, 2)]
    assert [int(r["frame"]) for r in test] == [0, 5]
    # More mask pixels wins; the empty image (no hand pixels) is a tie -> right (hand3d).
    assert [int(r["hand_side"]) for r in train] == [0, 1, 1]
    assert [int(r["hand_side"]) for r in test] == [0, 1]
    for record, (folder, sample_id) in zip(train + test, [("training", 0), ("training", 1), ("training", 2),
                                                          ("evaluation", 0), ("evaluation", 5)]):
        xyz = truth[folder, sample_id][0]
        hand = xyz[:21] if int(record["hand_side"]) == 0 else xyz[21:]
        np.testing.assert_allclose(record["keypoints_3d_raw"], hand, atol=1e-6)
        np.testing.assert_allclose(record["keypoints_3d"], hand[RHD_OF_CANONICAL], atol=1e-6)
        assert record["keypoints_defined"].all()


def test_crop_geometry_maps_back_to_the_labels(raw, converted):
    annotations = pickle.loads((raw[0] / "training" / "anno_training.pickle").read_bytes())
    for record in read_records(converted, "train"):
        entry = annotations[int(record["frame"])]
        rows = slice(0, 21) if int(record["hand_side"]) == 0 else slice(21, 42)
        uv_labels = entry["uv_vis"][rows, :2][RHD_OF_CANONICAL]
        box = CropBox.from_array(record["crop_box"])
        np.testing.assert_allclose(crop_to_full(record["keypoints_2d"], box, SIZE), uv_labels, atol=2e-3)
        np.testing.assert_allclose(project(record["keypoints_3d"], record["intrinsics"]), record["keypoints_2d"],
                                   atol=1e-3)
        np.testing.assert_allclose(record["intrinsics"], crop_intrinsics(K, box, SIZE), rtol=1e-6, atol=1e-4)
        np.testing.assert_allclose(record["full_intrinsics"], K)
        # hand3d box: centred on the middle MCP, side = 2 x the farthest visible keypoint (clamped to [50, 500]).
        visible = entry["uv_vis"][rows, 2][RHD_OF_CANONICAL] > 0.5
        centre = uv_labels[9]
        expected_side = np.clip(2 * np.abs(np.clip(uv_labels[visible], 0, 320) - centre).max(), 50, 500)
        np.testing.assert_allclose([box.u0 + box.width / 2, box.v0 + box.height / 2], centre, atol=1e-3)
        np.testing.assert_allclose([box.width, box.height], [expected_side] * 2, rtol=1e-5)
        # Closed crop: the farthest visible keypoint lies on the box's edge and stays visible.
        inside = np.all((record["keypoints_2d"] >= -1e-3) & (record["keypoints_2d"] <= SIZE + 1e-3), axis=1)
        np.testing.assert_array_equal(record["visible"], visible & inside)


def test_depth_image_and_mask_crops(raw, converted):
    truth = raw[1]
    for record in read_records(converted, "train"):
        _, depth, parts = truth["training", int(record["frame"])]
        box = CropBox.from_array(record["crop_box"])
        v, u = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        full = crop_to_full(np.stack([u, v], -1), box, SIZE)
        col, row = np.floor(full[..., 0]).astype(int), np.floor(full[..., 1]).astype(int)
        inside = (col >= 0) & (col < 320) & (row >= 0) & (row < 320)
        expected = np.where(inside, depth[row.clip(0, 319), col.clip(0, 319)], 0)
        np.testing.assert_allclose(record["depth"], expected, atol=1e-6)
        # The background decodes to the known 2 m (to the 16-bit code's resolution).
        assert np.isclose(record["depth"][inside].max(), BACKGROUND_Z, atol=5.0 / 65535)
        side_parts = (2, 17) if int(record["hand_side"]) == 0 else (18, 33)
        label = parts[row.clip(0, 319), col.clip(0, 319)]
        np.testing.assert_array_equal(record["mask"], inside & (label >= side_parts[0]) & (label <= side_parts[1]))
        # Gradient image: R = 200 u / W at every output pixel fully inside the source.
        scale = SIZE / box.width
        half = 0.5 / scale
        whole = (full[..., 0] - half > 0.5) & (full[..., 0] + half < 319.5) & (full[..., 1] - half > 0.5) & (
            full[..., 1] + half < 319.5)
        assert whole.sum() > 100
        np.testing.assert_allclose(record["image"][..., 0][whole], 200 * full[..., 0][whole] / 320, atol=1.0)
        np.testing.assert_allclose(record["image"][..., 1][whole], 200 * full[..., 1][whole] / 320, atol=1.0)


def test_points_are_the_chosen_hand_surface(raw, converted):
    hands = SCENES["training"]
    records = read_records(converted, "train")
    for record in records[:2]:
        assert record["has_points"]
        points = record["points"]
        assert np.max(plane_residual(points, NORMAL, OFFSET)) < 5e-4  # 0.5 mm: depth code + pixel jitter
        centre, radius = hands[int(record["frame"])][int(record["hand_side"])]
        uv = project(points, K)
        assert np.all(np.linalg.norm(uv - centre, axis=1) <= radius + 1.5)
        box = CropBox.from_array(record["crop_box"])
        assert np.all((uv >= [box.u0 - 1, box.v0 - 1]) & (uv <= [box.u0 + box.width + 1, box.v0 + box.height + 1]))
    # No hand pixel at all: no points, flagged, zeros (nothing invented).
    assert not records[2]["has_points"] and not records[2]["points"].any()
    info_dir = only_prepared(converted)
    assert '"samples_without_points": {"train": 1, "test": 0}' in (info_dir / "metadata.json").read_text()


def test_both_hands_and_palm_root(raw, tmp_path):
    spec = rhd.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS), hands="both",
                               root="palm")
    build_converted_dataset(spec, tmp_path, workers=1)
    train = read_records(tmp_path, "train")
    # Images 0 and 1 show both hands; image 2 shows none and keeps the dominant-rule (right) hand.
    assert [(int(r["frame"]), int(r["hand_side"])) for r in train] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)]
    for record in train:
        xyz = raw[1]["training", int(record["frame"])][0]
        hand = (xyz[:21] if int(record["hand_side"]) == 0 else xyz[21:])[RHD_OF_CANONICAL]
        np.testing.assert_allclose(record["keypoints_3d"][0], (hand[0] + hand[9]) / 2, atol=1e-6)
        np.testing.assert_allclose(record["keypoints_3d"][1:], hand[1:], atol=1e-6)
        np.testing.assert_allclose(record["keypoints_3d_raw"][0], hand[0], atol=1e-6)  # raw keeps the wrist


def test_parallel_workers_write_the_same_records(raw, converted, tmp_path):
    spec = rhd.conversion_spec(raw[0], ConversionOptions(image_size=SIZE, num_points=POINTS))
    build_converted_dataset(spec, tmp_path, workers=2)
    for split in ("train", "test"):
        for a, b in zip(read_records(converted, split), read_records(tmp_path, split), strict=True):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_refuses_incomplete_raw_folder_and_leaves_nothing(raw, tmp_path):
    import shutil

    broken = tmp_path / "raw"
    shutil.copytree(raw[0], broken)
    (broken / "evaluation" / "mask" / "00005.png").unlink()
    with pytest.raises(RawDatasetError, match="evaluation/mask/00005.png"):
        rhd.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    shutil.rmtree(broken / "training" / "depth")
    with pytest.raises(RawDatasetError, match="training/depth"):
        rhd.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    # A file that breaks during conversion: the run fails and leaves no dataset behind.
    shutil.rmtree(broken)
    shutil.copytree(raw[0], broken)
    (broken / "evaluation" / "depth" / "00005.png").write_bytes(b"not a png")
    spec = rhd.conversion_spec(broken, ConversionOptions(image_size=SIZE, num_points=POINTS))
    out = tmp_path / "out"
    with pytest.raises(RawDatasetError, match="00005.png"):
        build_converted_dataset(spec, out, workers=1)
    assert nothing_left_behind(out)


def test_training_side_loads_it_by_name(converted):
    from jaxhands.configs import get_config
    from jaxhands.data import pipeline
    from jaxhands.training.experiment import build_sources

    config = get_config("spurr18_2d_to_3d_var1")
    config.dataset, config.data_dir = "rhd", str(converted)
    train, test = build_sources(config)
    assert (len(train), len(test)) == (3, 2)
    batches = pipeline.make_eval_iterator(test, global_batch_size=2, process_index=0, process_count=1)
    batch = next(iter(batches))
    records = read_records(converted, "test")
    for name in ("image", "depth", "mask", "keypoints_2d", "keypoints_3d", "visible", "points", "intrinsics"):
        np.testing.assert_array_equal(batch[name], np.stack([r[name] for r in records]), err_msg=name)
    np.testing.assert_array_equal(batch["hand_side"], [0, 1])


def test_builds_the_splits_the_raw_folder_holds(raw, tmp_path):
    """An evaluation-only download converts to a test-only dataset, named as such; asking for
    a split whose folder is missing names it (issue 18)."""
    import shutil

    from jaxhands.data import load_split
    from jaxhands.data.storage import DatasetNotFoundError

    partial = tmp_path / "raw"
    shutil.copytree(raw[0], partial)
    shutil.rmtree(partial / "training")
    options = ConversionOptions(image_size=SIZE, num_points=POINTS)
    spec = rhd.conversion_spec(partial, options)
    assert list(spec.splits) == ["test"] and spec.config_name.endswith("_test_only")
    with pytest.raises(RawDatasetError, match=r"split 'train' \(.*training\) asked for"):
        rhd.conversion_spec(partial, options, splits=["train", "test"])
    result = build_converted_dataset(spec, tmp_path / "out", workers=1)
    assert len(load_split(result.path, "test")) == len(rhd.conversion_spec(raw[0], options).splits["test"])
    with pytest.raises(DatasetNotFoundError, match="has no split 'train'; splits: \\['test'\\]"):
        load_split(result.path, "train")
    # A folder with neither split names both.
    shutil.rmtree(partial / "evaluation")
    with pytest.raises(RawDatasetError, match="training.*evaluation|evaluation.*training"):
        rhd.conversion_spec(partial, options)
