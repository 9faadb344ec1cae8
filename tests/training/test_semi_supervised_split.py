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
