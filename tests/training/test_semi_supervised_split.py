"""Semi-supervised training data: a fixed labelled subset, and the labelled-only baseline."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.training.experiment import build_experiment
from tests.training.tiny_configs import tiny_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("semi_data"))


def _labelled_records(experiment):
    """Train record index -> labelled flag, read off the batches of two epochs."""
    flags = {}
    batches = experiment.train_batches(0)
    for _ in range(2 * len(experiment.train_source) // experiment.config.batch_size):
        batch = next(batches)
        for index, flag in zip(batch["record_index"], batch["labelled"]):
            assert flags.setdefault(int(index), bool(flag)) == bool(flag)  # a record never changes status
    return flags


def test_labelled_subset_is_fixed_and_of_the_requested_size(data_dir):
    experiment = build_experiment(tiny_config(data_dir, labelled_fraction=0.25))
    flags = _labelled_records(experiment)
    assert len(flags) == len(experiment.train_source)  # two epochs visit every record
    assert sum(flags.values()) == round(0.25 * len(experiment.train_source))
    # Resuming at a later step keeps every record's status.
    resumed = next(experiment.train_batches(7))
    for index, flag in zip(resumed["record_index"], resumed["labelled"]):
        assert flags[int(index)] == bool(flag)


def test_labelled_only_draws_every_batch_from_the_labelled_subset(data_dir):
    semi = build_experiment(tiny_config(data_dir, labelled_fraction=0.25))
    labelled = {i for i, flag in _labelled_records(semi).items() if flag}
    wanted = {semi.train_source[i]["keypoints_3d"].tobytes() for i in labelled}

    only = build_experiment(tiny_config(data_dir, labelled_fraction=0.25, labelled_only=True))
    seen = []
    batches = only.train_batches(0)
    for _ in range(len(labelled) // only.config.batch_size):  # one epoch of the subset
        batch = next(batches)
        assert batch["labelled"].all()
        seen += [k.tobytes() for k in np.asarray(batch["keypoints_3d"])]
    assert set(seen) <= wanted
    assert len(set(seen)) == len(seen)  # an epoch of the subset repeats no record


class _TwoPhaseMethod:
    """Alternates a phase that reads labels (even steps) with a label-free one (odd steps)."""

    def __init__(self, method):
        from jaxhands.methods.base import Phase
        from jaxhands.methods.phase_schedule import alternating

        self.batch_fields = getattr(method, "batch_fields", ())
        self.phases = (Phase("supervised", (), None, stream="labelled"),
                       Phase("label-free", (), None, stream="train"))
        self.phase_schedule = alternating(2)


def test_label_free_phases_see_every_image_and_labelled_phases_only_labels(data_dir):
    import dataclasses

    base = build_experiment(tiny_config(data_dir, labelled_fraction=0.25))
    labelled = {i for i, flag in _labelled_records(base).items() if flag}
    experiment = dataclasses.replace(base, method=_TwoPhaseMethod(base.method))
    batches = experiment.train_batches(0)
    seen_unlabelled = False
    history = []
    for step in range(12):
        batch = next(batches)
        indices = [int(i) for i in batch["record_index"]]
        history.append(np.asarray(batch["keypoints_3d"]).copy())
        np.testing.assert_array_equal(batch["labelled"], [i in labelled for i in indices])
        if step % 2 == 0:
            assert set(indices) <= labelled  # the supervised phase sees labelled records only
        else:
            seen_unlabelled |= any(i not in labelled for i in indices)
        # Records carry their full-split index: the keypoints are that record's.
        np.testing.assert_array_equal(batch["keypoints_3d"][0], base.train_source[indices[0]]["keypoints_3d"])
    assert seen_unlabelled
    # Resuming at step 5 continues both streams exactly.
    resumed = experiment.train_batches(5)
    for step in range(5, 12):
        np.testing.assert_array_equal(next(resumed)["keypoints_3d"], history[step])


class _ThreeStreamMethod:
    """Stage 1 (3 steps): the labelled_mix stream; then unlabelled and poses alternately."""

    def __init__(self, method):
        from jaxhands.methods.base import Phase
        from jaxhands.methods.phase_schedule import staged

        self.batch_fields = method.batch_fields
        self.phases = (Phase("mix", (), None, stream="labelled_mix"),
                       Phase("unlabelled", (), None, stream="unlabelled"),
                       Phase("poses", (), None, stream="poses"))
        self.phase_schedule = staged([((0,), 3), ((1, 2), None)])


def test_named_streams_mix_unlabelled_and_poses_resume_exactly(data_dir):
    import dataclasses

    from jaxhands.data.streams import POSE_FIELDS

    # An RGB method (its batches hold images): the poses stream must not decode them.
    base = build_experiment(tiny_config(data_dir, labelled_fraction=0.25, stream_labelled_rows=4,
                                        input_modality="rgb"))
    assert "image" in base.fields
    labelled = {i for i, flag in _labelled_records(base).items() if flag}
    experiment = dataclasses.replace(base, method=_ThreeStreamMethod(base.method))
    batches = experiment.train_batches(0)
    history = []
    for step in range(11):
        batch = next(batches)
        indices = [int(i) for i in batch["record_index"]]
        history.append(indices)
        assert len(indices) == 16
        np.testing.assert_array_equal(batch["keypoints_3d"][1], base.train_source[indices[1]]["keypoints_3d"])
        if step < 3:  # k = 4 labelled rows, then 12 from every record
            assert set(indices[:4]) <= labelled
            np.testing.assert_array_equal(batch["labelled"], [i in labelled for i in indices])
        elif (step - 3) % 2 == 0:
            assert not set(indices) & labelled and not batch["labelled"].any()
            assert "image" in batch
        else:  # poses: the labelled records' joints only, nothing decoded from images
            assert set(indices) <= labelled and set(batch) <= set(POSE_FIELDS) | {"record_index", "labelled", "valid"}
    assert any(i not in labelled for step in range(3) for i in history[step][4:])
    resumed = experiment.train_batches(6)  # mid-stage 2: each stream continues at its own position
    for step in range(6, 11):
        assert [int(i) for i in next(resumed)["record_index"]] == history[step], step


@pytest.mark.parametrize("mode", ["rgb_keypoints", "depth_cube"])
def test_the_poses_stream_holds_the_cropped_pose_fields_without_decoding_per_step(data_dir, mode):
    """The poses stream reads its records once into memory, cropped as every other stream
    crops them: its keypoints_2d / intrinsics / visible equal crop_hand of the record's."""
    from jaxhands.data.hand_crop import crop_hand
    from jaxhands.data.streams import PoseRecords
    from jaxhands.training.experiment import hand_crop_config

    config = tiny_config(data_dir, labelled_fraction=0.5, input_modality="depth" if mode == "depth_cube" else "rgb")
    config.hand_crop.mode = mode
    # The image-frame augmentations do not apply to pose-only records; the stream must not fail on them.
    config.augment.update(dict(flip_prob=0.5, shift_max=0.1, scale_range=(1.0, 1.2)))
    experiment = build_experiment(config)
    streams = experiment.streams()
    records = streams.pose_records()
    assert isinstance(records, PoseRecords) and streams.pose_records() is records  # read once
    assert len(records) == int(streams.is_labelled.sum())
    batch = next(streams.batches("poses", 0))
    assert "image" not in batch and "depth" not in batch
    for row, index in enumerate(batch["record_index"]):
        raw = experiment.train_source[int(index)]
        expected = crop_hand({k: np.asarray(v) for k, v in raw.items() if not isinstance(v, (str, bytes))},
                             hand_crop_config(config))
        for field in ("keypoints_2d", "intrinsics", "keypoints_3d", "visible"):
            np.testing.assert_allclose(batch[field][row], expected[field], rtol=1e-6, atol=1e-5, err_msg=field)
    assert not np.allclose(batch["keypoints_2d"][0], experiment.train_source[int(batch["record_index"][0])][
        "keypoints_2d"], atol=1e-2)  # the crop did move them
    np.testing.assert_allclose(streams.labelled_poses()[:3], [records[i]["keypoints_3d"] for i in range(3)])


def test_the_all_poses_stream_reads_every_records_pose_unpaired(data_dir):
    """all_poses (Yang & Yao's semi-supervised disentangling step): over an epoch it visits
    the poses of the unlabelled records too, each row's record_index is its record in the
    full split and its joints are that record's, and no row is flagged (pose data unpaired
    with images carry no image label)."""
    config = tiny_config(data_dir, labelled_fraction=0.25)
    experiment = build_experiment(config)
    streams = experiment.streams()
    assert len(streams.all_pose_records()) == len(experiment.train_source)
    seen = set()
    batches = streams.batches("all_poses", 0)
    for _ in range(2 * len(experiment.train_source) // config.batch_size):
        batch = next(batches)
        assert "labelled" not in batch and "image" not in batch
        for row, index in enumerate(batch["record_index"]):
            seen.add(int(index))
            np.testing.assert_allclose(batch["keypoints_3d"][row], experiment.train_source[int(index)]["keypoints_3d"],
                                       rtol=1e-6, atol=1e-6)
    assert seen == set(range(len(experiment.train_source)))
    assert (~streams.is_labelled[sorted(seen)]).any()
    labelled_only = {int(i) for _ in range(4) for i in next(streams.batches("poses", 0))["record_index"]}
    assert all(streams.is_labelled[i] for i in labelled_only)
