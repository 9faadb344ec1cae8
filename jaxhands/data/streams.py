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
    poses         the poses of the labelled records only, read once into memory
                  (PoseRecords): no image, depth or cloud is decoded per step (a pose
                  prior's or a GAN's pose-only stream)
    all_poses     the poses of every training record, likewise: pose data unpaired
                  with images (Yang & Yao's semi-supervised disentangling step, Sec. 4.4;
                  in the synthetic setting, a pool of poses as large as the images')

The semi-supervised split is a fixed seeded subset of `labelled_fraction` of the training
records, the same whatever the step or the number of processes. Streams differ in their
seed (`config.seed + STREAM_SEED_OFFSET[name]`), so two streams never replay one order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from jaxhands.data.pipeline import RecordsInMemory

STREAMS = ("train", "labelled", "unlabelled", "labelled_mix", "poses", "all_poses")
STREAM_SEED_OFFSET = {"train": 0, "labelled": 1, "unlabelled": 2, "labelled_mix": 3, "poses": 4, "all_poses": 5}
POSE_STREAMS = ("poses", "all_poses")
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

    def reading_only(self, fields) -> "RecordSubset":
        """The subset of `source.reading_only(fields)` (storage.CheckedSource), when it has one."""
        narrow = getattr(self.source, "reading_only", None)
        return self if narrow is None else dataclasses.replace(self, source=narrow(fields))


class PoseRecords(RecordsInMemory):
    """The pose fields of a subset's records, read once and held in memory (a few hundred
    bytes a record), so the `poses` stream decodes no image, depth map or cloud per step.

    prepare(record) -> record: applied once per record as it is read (the hand crop,
    which moves keypoints_2d and the intrinsics into the crop; the stream's iterator
    must then not crop again)."""

    def __init__(self, subset: RecordSubset, prepare: Callable[[dict], dict] | None = None):
        super().__init__(subset, POSE_FIELDS, prepare)
        self.indices = subset.indices


def labelled_mask(num_records: int, fraction: float, seed: int) -> np.ndarray:
    """[num_records] bool: the fixed seeded subset of `fraction` of the records that keeps its
    labels (also the draw of the validation records, `validation_split`)."""
    order = np.random.default_rng([seed, 7]).permutation(num_records)
    labelled = np.zeros(num_records, bool)
    labelled[order[: int(round(fraction * num_records))]] = True
    return labelled


def labelled_records(source, labelled_fraction: float, seed: int):
    """The records of `source` that keep their labels in a run with this labelled_fraction
    and seed (`labelled_mask`, as the run's "labelled" stream draws them): `source` itself at
    fraction 1. What a baseline beside a semi-supervised run may fit its poses on."""
    if labelled_fraction >= 1.0:
        return source
    return RecordSubset(source, np.flatnonzero(labelled_mask(len(source), labelled_fraction, seed)))


VALIDATION_SEED = 11  # the held-out records do not depend on config.seed: every seed selects on the same ones


def validation_split(source, fraction: float) -> tuple[RecordSubset, RecordSubset]:
    """(training records, validation records) of `source`: a fixed random `fraction` of its
    records held out, both in record order. ValueError unless each part gets a record."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"config.validation_fraction must be in (0, 1) to hold records out, got {fraction}")
    num = len(source)
    held = labelled_mask(num, fraction, VALIDATION_SEED)  # the same seeded draw of a fixed fraction
    if held.all() or not held.any():
        raise ValueError(f"config.validation_fraction={fraction} of {num} training records leaves "
                         f"{int(held.sum())} for validation and {int((~held).sum())} for training; each needs one")
    return RecordSubset(source, np.flatnonzero(~held)), RecordSubset(source, np.flatnonzero(held))


# make_iterator(source, seed, start_position, global_batch_size, fields) -> iterator of
# this process's rows of each global batch (jaxhands.data.pipeline.make_train_iterator);
# a PoseRecords source holds records already prepared (cropped) once.
MakeIterator = Callable[[Any, int, int, int, Sequence[str]], Iterator[dict]]


class TrainStreams:
    """The named streams over one training source."""

    def __init__(self, source, *, seed: int, batch_size: int, labelled_fraction: float, fields: Sequence[str],
                 make_iterator: MakeIterator, labelled_rows: int = 0,
                 prepare_pose_record: Callable[[dict], dict] | None = None):
        self.source, self.seed, self.batch_size = source, seed, batch_size
        self.fields = tuple(fields)
        self.semi = labelled_fraction < 1.0
        self.is_labelled = (labelled_mask(len(source), labelled_fraction, seed) if self.semi
                            else np.ones(len(source), bool))
        self.make_iterator = make_iterator
        self.labelled_rows = labelled_rows
        self._pose_records: PoseRecords | None = None
        self._all_pose_records: PoseRecords | None = None
        self.prepare_pose_record = prepare_pose_record

    def _subset(self, labelled: bool) -> RecordSubset:
        indices = np.flatnonzero(self.is_labelled if labelled else ~self.is_labelled)
        if not len(indices):
            raise ValueError(f"stream {'labelled' if labelled else 'unlabelled'}: no such training records "
                             f"(of {len(self.source)}; labelled fraction {self.is_labelled.mean():.3f})")
        return RecordSubset(self.source, indices)

    def pose_records(self) -> PoseRecords:
        """The labelled records' pose fields, in memory (read on first use)."""
        if self._pose_records is None:
            self._pose_records = PoseRecords(self._subset(labelled=True), self.prepare_pose_record)
        return self._pose_records

    def all_pose_records(self) -> PoseRecords:
        """Every training record's pose fields, in memory (read on first use); the same
        object as pose_records() when every record is labelled."""
        if not self.semi:
            return self.pose_records()
        if self._all_pose_records is None:
            self._all_pose_records = PoseRecords(RecordSubset(self.source, np.arange(len(self.source))),
                                                 self.prepare_pose_record)
        return self._all_pose_records

    def labelled_poses(self) -> np.ndarray:
        """[N, 21, 3] metres: keypoints_3d of every labelled training record, in record order
        (a data-dependent initialisation's input, jaxhands.methods.base.InitialisesFromPoses)."""
        records = self.pose_records()
        return np.stack([np.asarray(records[i]["keypoints_3d"], np.float32) for i in range(len(records))])

    def _flag(self, batch: dict) -> dict:
        if self.semi:
            batch["labelled"] = self.is_labelled[np.asarray(batch["record_index"])]
        return batch

    def _from_subset(self, batch: dict, subset: RecordSubset | PoseRecords) -> dict:
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
        if name in POSE_STREAMS:
            records = self.pose_records() if name == "poses" else self.all_pose_records()
            fields = tuple(f for f in self.fields if f in POSE_FIELDS)
            it = self.make_iterator(records, seed, position, self.batch_size, fields)
            if name == "all_poses":  # unpaired pose data: every row is usable, none carries an image
                return ({**b, "record_index": records.indices[np.asarray(b["record_index"])].astype(np.int32)}
                        for b in it)
            return (self._from_subset(b, records) for b in it)
        if name in ("labelled", "unlabelled"):
            subset = self._subset(labelled=name == "labelled")
            it = self.make_iterator(subset, seed, position, self.batch_size, self.fields)
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
