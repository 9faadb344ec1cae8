"""Named training data streams: which records a phase's batches come from.

A phase names its stream (`jaxhands.methods.base.Phase.stream`); every stream is a pure
function of (seed, its own position), so a resumed run continues each stream exactly
where it stopped (the position of a stream at step s = the steps before s whose phase
reads it, `PhaseSchedule.count_before`).

    train         every training record; with labelled_fraction < 1 each row carries
                  `labelled` (False = its labels must not be used: losses mask it)
    labelled      the labelled subset only (all rows `labelled`)
    unlabelled    the records without labels (no row `labelled`)
    labelled_mix  `stream_labelled_rows` labelled rows + the rest from every record, per
                  batch (Crossing Nets' k labelled pairs in each batch)
    poses         the poses of the labelled records only: no image, depth or cloud is
                  decoded (a pose prior's or a GAN's pose-only stream)

The semi-supervised split is a fixed seeded subset of `labelled_fraction` of the training
records, the same whatever the step or the number of processes. Streams differ in their
seed (`config.seed + STREAM_SEED_OFFSET[name]`), so two streams never replay one order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Sequence

import numpy as np

STREAMS = ("train", "labelled", "unlabelled", "labelled_mix", "poses")
STREAM_SEED_OFFSET = {"train": 0, "labelled": 1, "unlabelled": 2, "labelled_mix": 3, "poses": 4}
POSE_FIELDS = ("keypoints_3d", "keypoints_2d", "visible", "hand_side", "intrinsics")


@dataclasses.dataclass(frozen=True)
class RecordSubset:
    """The records `indices` of a random-access source, as a source of its own."""

    source: Any
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        return self.source[int(self.indices[i])]


def labelled_mask(num_records: int, fraction: float, seed: int) -> np.ndarray:
    """[num_records] bool: the fixed seeded subset of `fraction` of the records that keeps its labels."""
    order = np.random.default_rng([seed, 7]).permutation(num_records)
    labelled = np.zeros(num_records, bool)
    labelled[order[: int(round(fraction * num_records))]] = True
    return labelled


# make_iterator(source, seed, start_position, global_batch_size, fields) -> iterator of
# this process's rows of each global batch (jaxhands.data.pipeline.make_train_iterator).
MakeIterator = Callable[[Any, int, int, int, Sequence[str]], Iterator[dict]]


class TrainStreams:
    """The named streams over one training source."""

    def __init__(self, source, *, seed: int, batch_size: int, labelled_fraction: float, fields: Sequence[str],
                 make_iterator: MakeIterator, labelled_rows: int = 0):
        self.source, self.seed, self.batch_size = source, seed, batch_size
        self.fields = tuple(fields)
        self.semi = labelled_fraction < 1.0
        self.is_labelled = (labelled_mask(len(source), labelled_fraction, seed) if self.semi
                            else np.ones(len(source), bool))
        self.make_iterator = make_iterator
        self.labelled_rows = labelled_rows

    def _subset(self, labelled: bool) -> RecordSubset:
        indices = np.flatnonzero(self.is_labelled if labelled else ~self.is_labelled)
        if not len(indices):
            raise ValueError(f"stream {'labelled' if labelled else 'unlabelled'}: no such training records "
                             f"(of {len(self.source)}; labelled fraction {self.is_labelled.mean():.3f})")
        return RecordSubset(self.source, indices)

    def _flag(self, batch: dict) -> dict:
        if self.semi:
            batch["labelled"] = self.is_labelled[np.asarray(batch["record_index"])]
        return batch

    def _from_subset(self, batch: dict, subset: RecordSubset) -> dict:
        """record_index back in the full split; `labelled` from the split."""
        batch["record_index"] = subset.indices[np.asarray(batch["record_index"])].astype(np.int32)
        return self._flag(batch) if self.semi else batch

    def batches(self, name: str, position: int) -> Iterator[dict]:
        """This process's rows of the stream's batches number position, position + 1, ..."""
        if name not in STREAMS:
            raise ValueError(f"unknown data stream {name!r}; streams: {', '.join(STREAMS)}")
        seed = self.seed + STREAM_SEED_OFFSET[name]
        if name == "train":
            return (self._flag(b) for b in self.make_iterator(self.source, seed, position, self.batch_size, self.fields))
        if name in ("labelled", "unlabelled", "poses"):
            subset = self._subset(labelled=name != "unlabelled")
            fields = tuple(f for f in self.fields if f in POSE_FIELDS) if name == "poses" else self.fields
            it = self.make_iterator(subset, seed, position, self.batch_size, fields)
            return (self._from_subset(b, subset) for b in it)
        return self._mixed(seed, position)

    def _mixed(self, seed: int, position: int) -> Iterator[dict]:
        k = self.labelled_rows
        if not 0 < k < self.batch_size:
            raise ValueError(f"stream labelled_mix: config.stream_labelled_rows must be in (0, batch_size="
                             f"{self.batch_size}), got {k}")
        subset = self._subset(labelled=True)
        labelled = self.make_iterator(subset, seed, position, k, self.fields)
        rest = self.make_iterator(self.source, seed + 1000, position, self.batch_size - k, self.fields)
        for a, b in zip(labelled, rest):
            a, b = self._from_subset(a, subset), self._flag(b)
            yield {key: np.concatenate([a[key], b[key]]) for key in a if key in b}
