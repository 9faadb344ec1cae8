"""Input pipeline: deterministic order, resume, multi-process sharding, eval padding."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxhands.data import schema
from jaxhands.data.augment import AugmentConfig, augment_with_config
from jaxhands.data.pipeline import (
    augment_rng,
    epoch_permutation,
    make_eval_iterator,
    make_train_iterator,
    num_eval_steps,
    stream_records,
)
from jaxhands.data.storage import load_split
from jaxhands.data.synthetic_builder import build_synthetic_dataset
from jaxhands.synthetic import generate_sample

NUM_RECORDS = 10
AUGMENT = AugmentConfig(rotation_max_deg=45, scale_range=(1.0, 1.2), shift_max=0.05, flip_prob=0.5, hue_max=0.1)


@pytest.fixture(scope="module")
def source():
    """An in-memory random-access source of 10 tiny real samples."""
    return [generate_sample(i, seed=2, image_size=24, num_points=8) for i in range(NUM_RECORDS)]


def _batches(source, steps, **kwargs):
    kwargs.setdefault("process_index", 0)
    kwargs.setdefault("process_count", 1)
    kwargs.setdefault("num_threads", 0)
    with make_train_iterator(source, num_steps=steps, **kwargs) as iterator:
        return list(iterator)


def _assert_batches_equal(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def _concat(batches):
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


def test_epoch_permutation_is_a_seeded_permutation():
    perm = epoch_permutation(NUM_RECORDS, seed=5, epoch=0)
    assert sorted(perm.tolist()) == list(range(NUM_RECORDS))
    np.testing.assert_array_equal(perm, epoch_permutation(NUM_RECORDS, seed=5, epoch=0))
    assert not np.array_equal(perm, epoch_permutation(NUM_RECORDS, seed=5, epoch=1))
    assert not np.array_equal(perm, epoch_permutation(NUM_RECORDS, seed=6, epoch=0))


def test_global_batches_follow_the_concatenated_epoch_permutations(source):
    batches = _batches(source, 5, global_batch_size=4, seed=9)
    first, second = epoch_permutation(NUM_RECORDS, 9, 0), epoch_permutation(NUM_RECORDS, 9, 1)
    stream = np.concatenate([first, second])
    for step, batch in enumerate(batches):
        np.testing.assert_array_equal(batch["record_index"], stream[4 * step:4 * step + 4])
        assert batch["valid"].all()
        for row, record in enumerate(batch["record_index"]):  # no augmentation: the records themselves
            for name in schema.FEATURES:
                np.testing.assert_array_equal(batch[name][row], source[record][name])
    # Step 2 straddles the epoch boundary: positions 8, 9 of epoch 0 then 0, 1 of epoch 1.
    np.testing.assert_array_equal(batches[2]["record_index"], [first[8], first[9], second[0], second[1]])
    np.testing.assert_array_equal(stream_records(np.arange(20), NUM_RECORDS, 9), stream)
    assert batches[0]["image"].shape == (4, 24, 24, 3) and batches[0]["image"].dtype == np.uint8


def test_augmentation_is_drawn_from_seed_and_stream_position(source):
    batch = _batches(source, 1, global_batch_size=4, seed=3, start_step=3, augment_config=AUGMENT)[0]
    for row in range(4):
        position = 3 * 4 + row
        record = int(stream_records([position], NUM_RECORDS, 3)[0])
        expected = augment_with_config(source[record], AUGMENT, augment_rng(3, position))
        for name in schema.FEATURES:
            np.testing.assert_array_equal(batch[name][row], expected[name], err_msg=name)


def test_resume_continues_the_exact_same_stream(source):
    fresh = _batches(source, 6, global_batch_size=4, seed=1, augment_config=AUGMENT)
    resumed = _batches(source, 2, global_batch_size=4, seed=1, augment_config=AUGMENT, start_step=4)
    _assert_batches_equal(resumed[0], fresh[4])
    _assert_batches_equal(resumed[1], fresh[5])


@pytest.mark.parametrize("process_count", [2, 4])
def test_process_shards_concatenate_to_the_global_batch(source, process_count):
    single = _batches(source, 3, global_batch_size=8, seed=4, augment_config=AUGMENT, start_step=1)
    shards = [_batches(source, 3, global_batch_size=8, seed=4, augment_config=AUGMENT, start_step=1,
                       process_index=p, process_count=process_count) for p in range(process_count)]
    for step in range(3):
        assert shards[0][step]["image"].shape[0] == 8 // process_count
        _assert_batches_equal(_concat([shard[step] for shard in shards]), single[step])


def test_indivisible_global_batch_is_rejected(source):
    with pytest.raises(ValueError, match="global_batch_size 6 is not divisible by the process count 4"):
        make_train_iterator(source, global_batch_size=6, seed=0, process_index=0, process_count=4)
    with pytest.raises(ValueError, match="process_index must be in"):
        make_train_iterator(source, global_batch_size=4, seed=0, process_index=2, process_count=2)


def test_process_defaults_come_from_jax(source):
    explicit = _batches(source, 1, global_batch_size=4, seed=0)
    with make_train_iterator(source, global_batch_size=4, seed=0, num_steps=1, num_threads=0) as iterator:
        _assert_batches_equal(next(iterator), explicit[0])


def test_eval_iterator_is_in_order_and_pads_the_last_batch(source):
    assert num_eval_steps(NUM_RECORDS, 4) == 3
    with make_eval_iterator(source, global_batch_size=4, process_index=0, process_count=1, num_threads=0) as it:
        batches = list(it)
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[2]["valid"], [True, True, False, False])
    np.testing.assert_array_equal(batches[2]["record_index"], [8, 9, -1, -1])
    merged = _concat(batches)
    np.testing.assert_array_equal(merged["record_index"][merged["valid"]], np.arange(NUM_RECORDS))
    for record in range(NUM_RECORDS):
        np.testing.assert_array_equal(merged["image"][record], source[record]["image"])
        np.testing.assert_array_equal(merged["keypoints_3d"][record], source[record]["keypoints_3d"])
    # Two processes: shard rows concatenate to the same global batches.
    shards = []
    for p in range(2):
        with make_eval_iterator(source, global_batch_size=4, process_index=p, process_count=2,
                                num_threads=0) as it:
            shards.append(list(it))
    for step in range(3):
        _assert_batches_equal(_concat([shards[0][step], shards[1][step]]), batches[step])


def test_threads_and_worker_processes_do_not_change_the_stream(source):
    reference = _batches(source, 4, global_batch_size=4, seed=8, augment_config=AUGMENT)
    threaded = _batches(source, 4, global_batch_size=4, seed=8, augment_config=AUGMENT, num_threads=2)
    workers = _batches(source, 4, global_batch_size=4, seed=8, augment_config=AUGMENT, num_threads=1,
                       num_workers=2)
    for a, b, c in zip(reference, threaded, workers):
        _assert_batches_equal(a, b)
        _assert_batches_equal(a, c)
        assert type(c["image"]) is np.ndarray  # copied out of grain's shared memory


def test_reads_tfds_shards_end_to_end(tmp_path):
    tfds.disable_progress_bar()
    result = build_synthetic_dataset(tmp_path, image_size=24, num_points=8, seed=2, num_train=6, num_test=3,
                                     workers=1)
    train = load_split(result.path, "train")
    batch = _batches(train, 1, global_batch_size=4, seed=0)[0]
    for row, record in enumerate(batch["record_index"]):
        expected = generate_sample(int(record), seed=2, image_size=24, num_points=8)
        for name in schema.FEATURES:
            np.testing.assert_array_equal(batch[name][row], expected[name])
        assert batch["hand_side"].dtype == np.int32
    with make_eval_iterator(load_split(result.path, "test"), global_batch_size=2, process_index=0,
                            process_count=1) as it:
        evals = list(it)
    np.testing.assert_array_equal(_concat(evals)["record_index"], [0, 1, 2, -1])
    np.testing.assert_array_equal(evals[0]["keypoints_3d"][1],
                                  generate_sample(7, seed=2, image_size=24, num_points=8)["keypoints_3d"])


def test_a_pipeline_decodes_only_the_fields_it_keeps(tmp_path):
    """A pipeline that keeps some fields reads the shards with the others left encoded
    (storage.CheckedSource.reading_only) and yields exactly the batches of a full read."""
    tfds.disable_progress_bar()
    result = build_synthetic_dataset(tmp_path, image_size=24, num_points=8, seed=2, num_train=6, num_test=3,
                                     workers=1)
    train = load_split(result.path, "train")
    fields = ("depth", "keypoints_3d", "keypoints_2d", "visible", "intrinsics", "hand_side")
    narrow = train.reading_only(fields)
    record = narrow[0]
    assert isinstance(record["image"], bytes) and isinstance(record["points"], bytes)  # never decompressed
    np.testing.assert_array_equal(record["depth"], train[0]["depth"])
    assert train.reading_only(None) is train and narrow.reading_only(fields) is narrow
    kwargs = dict(global_batch_size=4, seed=0, fields=fields, augment_config=AUGMENT)
    narrowed = _batches(train, 2, **kwargs)

    class FullReads(list):  # a source without reading_only: every field decoded
        pass
    full = _batches(FullReads(train[i] for i in range(len(train))), 2, **kwargs)
    assert sorted(narrowed[0]) == sorted(full[0]) and "image" not in narrowed[0]
    for a, b in zip(narrowed, full):
        _assert_batches_equal(a, b)


def test_a_pose_only_pipeline_reads_its_records_once_and_yields_the_same_batches(source):
    """Records without images, depth or clouds in the fields a pipeline reads are read
    once into memory (pipeline.RecordsInMemory); the stream is exactly the one read from
    the source every time."""
    from jaxhands.data import pipeline

    class CountingSource(list):
        reads = 0

        def __getitem__(self, i):
            type(self).reads += 1
            return super().__getitem__(i)

    fields = ("keypoints_3d", "keypoints_2d", "visible", "intrinsics", "hand_side")
    cases = [(source, dict(fields=fields)),  # synthetic records, no augmentation
             # skeleton-only records (no image frame) with the rotation that moves their keypoints
             (_skeleton_records(10), dict(fields=fields, augment_config={"rotation_max_deg": 180.0}))]
    for records, extra in cases:
        counting = type("Counting", (CountingSource,), {"reads": 0})(records)
        kwargs = dict(global_batch_size=4, seed=3, **extra)
        held = _batches(counting, 8, **kwargs)  # 32 rows over three epochs of 10 records
        assert type(counting).reads == 10 + 1  # record 0 sized the split, then one read each
        original = pipeline._held_in_memory
        try:
            pipeline._held_in_memory = lambda s, f: s  # every row read from the source
            streamed = _batches(records, 8, **kwargs)
        finally:
            pipeline._held_in_memory = original
        for a, b in zip(held, streamed):
            _assert_batches_equal(a, b)
    # Held records come out as copies: writing into a batch cannot change a later epoch's.
    records = pipeline.RecordsInMemory(source, frozenset(fields))
    records[0]["keypoints_3d"][:] = 0.0
    np.testing.assert_array_equal(records[0]["keypoints_3d"], source[0]["keypoints_3d"].astype(np.float32))
    # A field of an image's size keeps the records on disk (rotating synthetic records
    # reads their mask, the image frame), and so does a split too large to hold.
    assert pipeline._held_in_memory(source, frozenset(fields) | {"mask"}) is source
    assert pipeline._held_in_memory(source, None) is source
    limit = pipeline.IN_MEMORY_MAX_BYTES
    try:
        pipeline.IN_MEMORY_MAX_BYTES = 100
        assert pipeline._held_in_memory(source, frozenset(fields)) is source
    finally:
        pipeline.IN_MEMORY_MAX_BYTES = limit


def _skeleton_records(count):
    """Records shaped like a skeleton-only source (no image/depth/mask/points) with metadata."""
    rng = np.random.default_rng(0)
    k = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]], np.float32)
    records = []
    for i in range(count):
        xyz = (rng.uniform(-0.08, 0.08, (21, 3)) + [0, 0, 0.5]).astype(np.float32)
        uv = xyz[:, :2] / xyz[:, 2:] * 800.0 + [320, 240]
        records.append({"keypoints_3d": xyz, "keypoints_2d": uv.astype(np.float32), "visible": np.ones(21, bool),
                        "intrinsics": k, "hand_side": 0, "index": np.int64(100 + i), "sequence": "B1Counting"})
    return records


def test_sources_with_partial_and_extra_fields():
    records = _skeleton_records(6)
    batch = _batches(records, 1, global_batch_size=4, seed=0)[0]
    assert set(batch) == {"keypoints_3d", "keypoints_2d", "visible", "intrinsics", "hand_side", "index", "valid",
                          "record_index"}  # the text field is left out
    np.testing.assert_array_equal(batch["index"], 100 + batch["record_index"])
    assert batch["hand_side"].dtype == np.int32 and batch["index"].dtype == np.int64

    rotated = _batches(records, 1, global_batch_size=4, seed=0, augment_config={"rotation_max_deg": 180.0})[0]
    np.testing.assert_array_equal(rotated["record_index"], batch["record_index"])
    np.testing.assert_allclose(rotated["keypoints_3d"][..., 2], batch["keypoints_3d"][..., 2], atol=1e-6)
    assert not np.allclose(rotated["keypoints_3d"], batch["keypoints_3d"], atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(rotated["keypoints_3d"][..., :2], axis=-1),
                               np.linalg.norm(batch["keypoints_3d"][..., :2], axis=-1), atol=1e-5)
    k = rotated["intrinsics"][:, None]
    uv = rotated["keypoints_3d"][..., :2] / rotated["keypoints_3d"][..., 2:] * k[..., [0, 1], [0, 1]] \
        + k[..., [0, 1], [2, 2]]
    np.testing.assert_allclose(rotated["keypoints_2d"], uv, atol=1e-3)
    with pytest.raises(ValueError, match="skeleton-only"):
        _batches(records, 1, global_batch_size=4, seed=0, augment_config={"flip_prob": 1.0})


@pytest.mark.parametrize("mode, keep, dropped", [
    ("depth_cube", ("depth", "keypoints_3d", "hand_side"), ("image", "points")),
    ("rgb_keypoints", ("image", "keypoints_3d", "hand_side"), ("depth", "mask", "points")),
])
def test_unneeded_fields_are_dropped_without_changing_the_kept_ones(source, mode, keep, dropped):
    """`fields` drops what neither the method nor the crop/augmentation reads; the kept
    fields are bit-identical to a full pipeline's (same crop boxes, same draws)."""
    from jaxhands.data.hand_crop import HandCropConfig

    crop = HandCropConfig(mode=mode, out_size=16)
    common = dict(global_batch_size=4, seed=5, augment_config=AUGMENT, hand_crop=crop)
    full = _batches(source, 3, **common)
    trimmed = _batches(source, 3, fields=keep, **common)
    for a, b in zip(full, trimmed, strict=True):
        for name in keep:
            np.testing.assert_array_equal(b[name], a[name], err_msg=name)
        assert not set(dropped) & set(b), sorted(b)
    with make_eval_iterator(source, global_batch_size=4, process_index=0, process_count=1, num_threads=0,
                            hand_crop=crop, fields=keep) as evals, \
         make_eval_iterator(source, global_batch_size=4, process_index=0, process_count=1, num_threads=0,
                            hand_crop=crop) as reference:
        for a, b in zip(reference, evals, strict=True):
            for name in keep:
                np.testing.assert_array_equal(b[name], a[name], err_msg=name)
            assert not set(dropped) & set(b)


def test_a_cloud_no_field_reads_is_not_redrawn(source):
    """points_from_depth with `fields` lacking "points" (Yang's S1) skips the cloud and the
    depth it is drawn from; every kept field equals the full pipeline's (the cloud is
    drawn after the other augmentations). With "points" kept, the cloud is re-drawn."""
    import dataclasses

    from jaxhands.data.hand_crop import HandCropConfig

    common = dict(global_batch_size=4, seed=5, hand_crop=HandCropConfig(mode="rgb_keypoints", out_size=16),
                  augment_config=dataclasses.replace(AUGMENT, points_from_depth=True))
    keep = ("image", "keypoints_3d", "hand_side")
    full = _batches(source, 2, **common)
    trimmed = _batches(source, 2, fields=keep, **common)
    for a, b in zip(full, trimmed, strict=True):
        for name in keep:
            np.testing.assert_array_equal(b[name], a[name], err_msg=name)
        assert not {"points", "depth"} & set(b), sorted(b)
    redrawn = _batches(source, 2, fields=keep + ("points",), **common)
    stored = _batches(source, 2, fields=keep + ("points",), **dict(common, augment_config=AUGMENT))
    for a, b in zip(redrawn, stored, strict=True):
        np.testing.assert_array_equal(a["image"], b["image"])
        assert not np.allclose(a["points"], b["points"])
