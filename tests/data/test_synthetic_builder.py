"""The synthetic TFDS builder: round trip, identity of configs, atomic and re-runnable builds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxhands.data import schema
from jaxhands.data.storage import DatasetNotFoundError, load_split, resolve_dataset_dir
from jaxhands.data.synthetic_builder import (
    SyntheticHandsConfig,
    StaleDatasetError,
    build_synthetic_dataset,
    ensure_synthetic_dataset,
)
from jaxhands.synthetic import generate_sample
from tests.data.fake_hands import (
    GenerationFailed,
    failing_generate_sample,
    fake_generate_sample,
    forbidden_generate_sample,
    interrupted_generate_sample,
)

TINY = dict(image_size=32, num_points=16, seed=3, num_train=8, num_test=4)


@pytest.fixture(autouse=True)
def _quiet_tfds():
    tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """8 train / 4 test samples at 32 px from the real generator."""
    root = tmp_path_factory.mktemp("synthetic")
    result = build_synthetic_dataset(root, **TINY, workers=1)
    return root, result


def _assert_record_equals(record, expected, index):
    for name in schema.FEATURES:
        np.testing.assert_array_equal(np.asarray(record[name]), expected[name], err_msg=f"{name} of sample {index}")
    assert int(record["index"]) == index


def test_round_trip_values_equal_generator_output(tiny_dataset):
    root, result = tiny_dataset
    assert result.created
    builder = tfds.builder_from_directory(str(result.path))
    assert set(builder.info.splits.keys()) == {"train", "test"}
    train = builder.as_data_source("train")
    test = builder.as_data_source("test")
    assert (len(train), len(test)) == (8, 4)
    seen = []
    for split, source, offset in (("train", train, 0), ("test", test, 8)):
        for r in range(len(source)):
            record = source[r]
            expected = generate_sample(offset + r, seed=3, image_size=32, num_points=16)
            _assert_record_equals(record, expected, offset + r)
            seen.append(int(record["index"]))
    assert seen == list(range(12))  # disjoint index ranges, stored in index order


def test_dataset_identity_version_and_metadata(tiny_dataset):
    root, result = tiny_dataset
    assert result.path == root / "synthetic_hands" / "img32_pts16_seed3_train8_test4" / "1.0.0"
    builder = tfds.builder_from_directory(str(result.path))
    assert str(builder.info.version) == "1.0.0"
    assert dict(builder.info.metadata) == {**TINY, "background": "textured", "num_backgrounds": 0, "hand_shapes": "stb",
                                           "generator": "jaxhands.synthetic.generate_sample"}
    assert set(builder.info.features.keys()) == set(schema.FEATURES) | {"index"}
    assert builder.info.features["image"].shape == (32, 32, 3)
    assert builder.info.features["points"].shape == (16, 3)
    files = sorted(p.name for p in result.path.iterdir())
    assert any(name.startswith("synthetic_hands-train.array_record") for name in files)


def test_different_configs_never_share_a_directory():
    names = {SyntheticHandsConfig(**{**TINY, key: value}).name
             for key, value in [("image_size", 64), ("num_points", 32), ("seed", 4), ("num_train", 9),
                                ("num_test", 5), ("seed", 3), ("background", "plain"),
                                ("hand_shapes", "anthropometric")]}
    assert len(names) == 8
    # The default background keeps the names datasets were first written under.
    assert SyntheticHandsConfig(**TINY).name == "img32_pts16_seed3_train8_test4"
    with pytest.raises(ValueError, match="background must be one of"):
        SyntheticHandsConfig(**TINY, background="noisy")
    with pytest.raises(ValueError, match="hand_shapes must be one of"):
        SyntheticHandsConfig(**TINY, hand_shapes="mano")


def test_plain_background_dataset_matches_the_generator_with_that_config(tmp_path):
    from jaxhands.synthetic import SyntheticConfig

    path = ensure_synthetic_dataset(tmp_path, **{**TINY, "num_train": 3, "num_test": 1}, workers=1,
                                    background="plain")
    assert path.parent.name.endswith("_bgplain")
    records = load_split(path, "train")
    for i in range(3):
        expected = generate_sample(i, seed=3, image_size=32, num_points=16, config=SyntheticConfig(background="plain"))
        _assert_record_equals(records[i], expected, i)
    # Re-opening verifies sample 0 against the same (plain) generator: no StaleDatasetError.
    assert ensure_synthetic_dataset(tmp_path, **{**TINY, "num_train": 3, "num_test": 1}, background="plain") == path


def test_anthropometric_dataset_matches_the_generator_with_that_config(tmp_path):
    from jaxhands.synthetic import SyntheticConfig

    tiny = {**TINY, "num_train": 2, "num_test": 1}
    path = ensure_synthetic_dataset(tmp_path, **tiny, workers=1, hand_shapes="anthropometric")
    assert path.parent.name.endswith("_shapesanthropometric")
    records = load_split(path, "train")
    config = SyntheticConfig(hand_shapes="anthropometric")
    for i in range(2):
        _assert_record_equals(records[i], generate_sample(i, seed=3, image_size=32, num_points=16, config=config), i)
    # Not the default generator's hands: the same index under "stb" is another skeleton.
    assert not np.allclose(records[0]["keypoints_3d"],
                           generate_sample(0, seed=3, image_size=32, num_points=16)["keypoints_3d"], atol=1e-3)
    assert ensure_synthetic_dataset(tmp_path, **tiny, hand_shapes="anthropometric") == path


def test_shared_contents_dataset_stores_content_ids_and_tag_images(tmp_path):
    """num_backgrounds = K names its own dataset and stores each record's content_id and
    tag_image exactly as the generator makes them (spec A8.1)."""
    from jaxhands.synthetic import SyntheticConfig

    config = SyntheticConfig(background="plain", num_backgrounds=2)
    path = ensure_synthetic_dataset(tmp_path, **{**TINY, "num_train": 3, "num_test": 1}, workers=1,
                                    background="plain", num_backgrounds=2)
    assert path.parent.name.endswith("_bgplain_contents2")
    assert SyntheticHandsConfig(**TINY, num_backgrounds=2).name != SyntheticHandsConfig(**TINY).name
    records = load_split(path, "train")
    for i in range(3):
        expected = generate_sample(i, seed=3, image_size=32, num_points=16, config=config)
        _assert_record_equals(records[i], expected, i)
        assert int(records[i]["content_id"]) == i % 2
        np.testing.assert_array_equal(records[i]["tag_image"], expected["tag_image"])
    np.testing.assert_array_equal(records[0]["tag_image"], records[2]["tag_image"])
    with pytest.raises(ValueError, match="num_backgrounds"):
        SyntheticHandsConfig(**TINY, num_backgrounds=-2)


@pytest.mark.parametrize("field, value", [("image_size", 4), ("image_size", 8), ("num_points", 0), ("seed", -1),
                                          ("num_train", 0), ("num_test", -1)])
def test_bad_sizes_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SyntheticHandsConfig(**{**TINY, field: value})


def test_second_run_reuses_a_complete_dataset(tiny_dataset):
    root, result = tiny_dataset
    info = result.path / "dataset_info.json"
    before = info.stat().st_mtime_ns
    again = build_synthetic_dataset(root, **TINY, generate_fn=forbidden_generate_sample)
    assert (again.path, again.created) == (result.path, False)
    assert info.stat().st_mtime_ns == before


@pytest.mark.parametrize("generate_fn, error", [(failing_generate_sample, GenerationFailed),
                                                (interrupted_generate_sample, KeyboardInterrupt)])
def test_failed_build_leaves_nothing_and_rerun_works(tmp_path, generate_fn, error):
    with pytest.raises(error):
        build_synthetic_dataset(tmp_path, **TINY, generate_fn=generate_fn, workers=1)
    assert list(tmp_path.iterdir()) == []  # no dataset dir, no temporary dir
    with pytest.raises(DatasetNotFoundError):
        load_split(tmp_path, "train")
    result = build_synthetic_dataset(tmp_path, **TINY, generate_fn=fake_generate_sample, workers=1)
    assert result.created
    record = load_split(result.path, "train")[5]
    _assert_record_equals(record, fake_generate_sample(5, seed=3, image_size=32, num_points=16), 5)
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic_hands"]


def test_overwrite_replaces_a_complete_dataset(tmp_path):
    first = build_synthetic_dataset(tmp_path, **TINY, generate_fn=fake_generate_sample, workers=1)
    second = build_synthetic_dataset(tmp_path, **TINY, workers=1, overwrite=True)
    assert second.created and second.path == first.path
    _assert_record_equals(load_split(second.path, "test")[0], generate_sample(8, seed=3, image_size=32,
                                                                              num_points=16), 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic_hands"]


def test_parallel_generation_matches_in_process(tmp_path):
    config = dict(image_size=32, num_points=16, seed=5, num_train=12, num_test=3)
    serial = build_synthetic_dataset(tmp_path / "serial", **config, workers=1)
    parallel = build_synthetic_dataset(tmp_path / "parallel", **config, workers=2)
    for split, size in (("train", 12), ("test", 3)):
        a, b = load_split(serial.path, split), load_split(parallel.path, split)
        assert len(a) == len(b) == size
        for i in range(size):
            _assert_record_equals(b[i], {name: np.asarray(a[i][name]) for name in schema.FEATURES},
                                  int(a[i]["index"]))


def test_failure_in_a_worker_process_propagates_and_cleans_up(tmp_path):
    with pytest.raises(GenerationFailed, match="sample 5"):
        build_synthetic_dataset(tmp_path, **TINY, generate_fn=failing_generate_sample, workers=2)
    assert list(tmp_path.iterdir()) == []


def test_num_test_zero_writes_only_train(tmp_path):
    result = build_synthetic_dataset(tmp_path, **{**TINY, "num_test": 0}, generate_fn=fake_generate_sample,
                                     workers=1)
    assert set(tfds.builder_from_directory(str(result.path)).info.splits.keys()) == {"train"}


def test_ensure_builds_once_and_detects_a_changed_generator(tmp_path):
    config = dict(image_size=32, num_points=16, num_train=4, num_test=2, seed=1)
    path = ensure_synthetic_dataset(tmp_path, **config, generate_fn=fake_generate_sample, workers=1)
    assert path == ensure_synthetic_dataset(tmp_path, **config, generate_fn=fake_generate_sample)
    with pytest.raises(StaleDatasetError, match="--overwrite"):
        ensure_synthetic_dataset(tmp_path, **config)  # the real generator makes other samples


def test_load_split_resolution_and_errors(tiny_dataset, tmp_path):
    root, result = tiny_dataset
    assert resolve_dataset_dir(root) == result.path  # the --out dir holding one dataset
    assert resolve_dataset_dir("synthetic_hands", data_dir=root) == result.path
    assert len(load_split(root, "test")) == 4
    with pytest.raises(DatasetNotFoundError, match=r"no split 'validation'.*\['test', 'train'\]"):
        load_split(result.path, "validation")
    with pytest.raises(DatasetNotFoundError, match="no prepared dataset"):
        load_split(tmp_path, "train")
    second = build_synthetic_dataset(tmp_path, **{**TINY, "num_train": 2, "num_test": 1},
                                     generate_fn=fake_generate_sample, workers=1)
    build_synthetic_dataset(tmp_path, **{**TINY, "num_train": 3, "num_test": 1},
                            generate_fn=fake_generate_sample, workers=1)
    with pytest.raises(DatasetNotFoundError, match="holds 2 prepared datasets"):
        load_split(tmp_path, "train")
    assert len(load_split(second.path, "train")) == 2
    info = json.loads((second.path / "dataset_info.json").read_text())
    assert info["name"] == "synthetic_hands"


def test_large_splits_are_written_shard_by_shard_in_index_order(tmp_path, monkeypatch):
    """Splits are cut into shards written straight from the generator (TFDS's
    GeneratorBasedBuilder buffered a split in memory and needed TensorFlow past 1 GiB)."""
    from jaxhands.data import storage

    per_sample = 32 * 32 * 8 + 16 * 12 + 1024
    monkeypatch.setattr(storage, "MAX_SHARD_BYTES", 3 * per_sample)  # 3 samples a shard
    assert storage.samples_per_shard(32, 16) == 3
    result = build_synthetic_dataset(tmp_path, **TINY, generate_fn=fake_generate_sample, workers=1)
    builder = tfds.builder_from_directory(str(result.path))
    assert builder.info.splits["train"].shard_lengths == [3, 3, 2]
    assert builder.info.splits["test"].shard_lengths == [3, 1]
    assert len(list(result.path.glob("*-train.array_record-*"))) == 3
    for split, offset in (("train", 0), ("test", 8)):
        source = builder.as_data_source(split)
        assert [int(source[r]["index"]) for r in range(len(source))] == list(range(offset, offset + len(source)))
        expected = fake_generate_sample(offset + 2, seed=3, image_size=32, num_points=16)
        _assert_record_equals(source[2], expected, offset + 2)


def test_a_corrupted_shard_names_its_file_and_the_fix(tiny_dataset, tmp_path):
    """Issue 14 item 4: a truncated array_record shard fails with an error naming the shard
    and how to rebuild it (array_record's own message names neither)."""
    import shutil

    from jaxhands.data.storage import CorruptShardError

    _, result = tiny_dataset
    copy = tmp_path / "copy"
    shutil.copytree(result.path, copy)
    shard = sorted(copy.glob("synthetic_hands-train.array_record-*"))[0]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    source = load_split(copy, "train")
    with pytest.raises(CorruptShardError, match="rebuild") as error:
        source[1]
    assert str(shard) in str(error.value) and "record 1 of split 'train'" in str(error.value)
    intact = load_split(result.path, "train")  # the wrapper changes nothing for a good shard
    np.testing.assert_array_equal(intact[2]["keypoints_3d"], intact.source[2]["keypoints_3d"])
