"""An experiment = a method + its train/test data, built from a config.

Methods come from jaxhands.methods.registry (`config.method`); datasets are resolved by
`config.dataset`: "synthetic" (built on first use), "stb_skeletons" (real STB
joints), or the name/path of a dataset written by `python -m data_prep`.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Iterator

import jax
import ml_collections
import numpy as np

from jaxhands.data import pipeline
from jaxhands.data.hand_crop import HandCropConfig, crop_hand
from jaxhands.data.streams import POSE_FIELDS, POSE_STREAMS, PoseRecords, TrainStreams, validation_split
from jaxhands.data.stb_skeletons import STBSkeletonSource
from jaxhands.methods.registry import build_method

# Fields every method may read; methods add modality fields (image, depth, points, ...).
LABEL_FIELDS = ("keypoints_3d", "keypoints_2d", "visible", "intrinsics", "hand_side")


def data_root(config: ml_collections.ConfigDict) -> pathlib.Path:
    root = config.data_dir or os.environ.get("JAXHANDS_DATA_DIR", "") or "~/.cache/jaxhands/datasets"
    return pathlib.Path(root).expanduser()


def hand_crop_config(config: ml_collections.ConfigDict) -> HandCropConfig:
    """The config's `hand_crop`; its output is `config.image_size` pixels."""
    fields = config.hand_crop.to_dict()
    if "out_size" in fields and fields["out_size"] != config.image_size:
        raise ValueError(f"config.hand_crop.out_size ({fields['out_size']}) must equal config.image_size "
                         f"({config.image_size}): the crop is the network's input; drop out_size")
    fields["out_size"] = config.image_size
    return HandCropConfig.from_mapping(fields)


def stored_image_size(config: ml_collections.ConfigDict) -> int:
    """Side of the synthetic frames on disk: `synthetic_image_size` when set; else twice
    `image_size` with a hand crop (the crop is cut from them, not upsampled), else
    `image_size`. Without a crop the stored size must be the network's."""
    cropped = hand_crop_config(config).enabled
    size = config.synthetic_image_size or (2 * config.image_size if cropped else config.image_size)
    if size != config.image_size and not cropped:
        raise ValueError(f"config.synthetic_image_size ({size}) differs from config.image_size "
                         f"({config.image_size}) but config.hand_crop.mode is 'none': only a crop "
                         "changes the image size between the stored frames and the network")
    return size


def _dataset_sources(config: ml_collections.ConfigDict, name: str, splits: tuple[str, ...]) -> dict:
    """{split: random-access source} of dataset `name` (synthetic, stb_skeletons, a name
    under the data root or a path) for the requested splits."""
    if name == "synthetic":
        from jaxhands.data import ensure_synthetic_dataset, load_split

        def build():
            return ensure_synthetic_dataset(
                data_root(config), image_size=stored_image_size(config), num_points=config.num_points,
                num_train=config.synthetic_num_train, num_test=config.synthetic_num_test,
                seed=config.synthetic_seed, background=config.synthetic_background,
                num_backgrounds=config.synthetic_num_backgrounds, hand_shapes=config.synthetic_hand_shapes)
        if jax.process_count() > 1:
            # Process 0 builds (on the shared filesystem); the others wait, then read.
            from jax.experimental import multihost_utils

            if jax.process_index() == 0:
                build()
            multihost_utils.sync_global_devices("jaxhands: synthetic dataset ready")
        path = build()
        return {split: load_split(path, split) for split in splits}
    if name == "stb_skeletons":
        root = config.data_dir or None
        return {split: STBSkeletonSource(split, root) for split in splits}
    from jaxhands.data import load_split

    path = pathlib.Path(name).expanduser()
    if not path.exists():
        path = data_root(config) / name
    return {split: load_split(path, split) for split in splits}


def build_sources(config: ml_collections.ConfigDict, *, test_dataset: str | None = None, need_train: bool = True):
    """(train source, test source): random-access sources of schema records, both from
    config.dataset, or the test split from `test_dataset` (a name or a path: train on A,
    test on B). need_train=False skips the training split (None), so a dataset that has
    only a test split can be evaluated. The records config.validation_fraction holds out
    are not in the train source (`build_split_sources`)."""
    train, _, test = build_split_sources(config, test_dataset=test_dataset, need_train=need_train)
    return train, test


def build_split_sources(config: ml_collections.ConfigDict, *, test_dataset: str | None = None,
                        need_train: bool = True):
    """(train, validation, test) sources: `build_sources`'s, and the training records held
    out by config.validation_fraction (None when it is 0, or without the training split)."""
    if test_dataset is None or test_dataset == config.dataset:
        sources = _dataset_sources(config, config.dataset, ("train", "test") if need_train else ("test",))
        train, test = sources.get("train"), sources["test"]
    else:
        train = _dataset_sources(config, config.dataset, ("train",))["train"] if need_train else None
        test = _dataset_sources(config, test_dataset, ("test",))["test"]
    validation = None
    if train is not None and config.validation_fraction:
        # What is held out for validation is not training data for anything (methods,
        # baselines, the mean pose), so a selected checkpoint never saw it.
        train, validation = validation_split(train, config.validation_fraction)
    return train, validation, test


@dataclasses.dataclass
class Experiment:
    config: ml_collections.ConfigDict
    method: Any
    train_source: Any
    test_source: Any
    fields: tuple[str, ...]
    test_dataset: str | None = None  # the test split's dataset when it is not config.dataset
    validation_source: Any = None  # records held out of the training split (config.validation_fraction)

    def _select(self, batch: dict, stream: str = "train") -> dict:
        """The method's fields of a batch; a pose-only stream's batches hold pose fields only."""
        wanted = tuple(f for f in self.fields if f in POSE_FIELDS) if stream in POSE_STREAMS else self.fields
        missing = [f for f in wanted if f not in batch]
        if missing:
            dataset = self.test_dataset if stream == "test" and self.test_dataset else self.config.dataset
            raise KeyError(f"dataset {dataset!r} lacks field(s) {missing} that method "
                           f"{self.config.method!r} needs; it has {sorted(batch)}")
        out = {k: batch[k] for k in wanted}
        # keypoints_defined [B, 21]: False for canonical joints a dataset lacks (NYU, ICVL),
        # which hold zeros and are masked out of pose losses and metrics.
        for extra in ("labelled", "valid", "record_index", "keypoints_defined"):
            if extra in batch:
                out[extra] = batch[extra]
        return out

    def streams(self) -> TrainStreams:
        """The named training streams (jaxhands.data.streams) over this experiment's train split."""
        c = self.config

        crop = hand_crop_config(c)
        # Pose-only records (the poses stream, cropped once on reading) have no image frame:
        # of the augmentations only the in-plane rotation is defined for them.
        pose_augment = None if c.augment is None else dict(
            dict(c.augment), scale_range=(1.0, 1.0), shift_max=0.0, flip_prob=0.0, hue_max=0.0, points_from_depth=False)

        def make_iterator(source, seed, position, batch_size, fields):
            poses_only = isinstance(source, PoseRecords)
            return pipeline.make_train_iterator(
                source, global_batch_size=batch_size, seed=seed, start_step=position,
                process_index=jax.process_index(), process_count=jax.process_count(),
                augment_config=pose_augment if poses_only else c.augment,
                hand_crop=HandCropConfig() if poses_only else crop, fields=fields, num_threads=c.data_threads)

        def crop_pose_record(record):
            """The record's pose fields in the crop's frame (the poses stream crops once, on reading)."""
            if not crop.enabled:
                return record
            arrays = {k: np.asarray(v) for k, v in record.items() if not isinstance(v, (str, bytes))}
            # The box needs the image's size (and, for depth, its pixels); only the pose fields move.
            return crop_hand(arrays, crop, images=False)
        return TrainStreams(self.train_source, seed=c.seed, batch_size=c.batch_size,
                            labelled_fraction=c.labelled_fraction, fields=self.fields, make_iterator=make_iterator,
                            labelled_rows=c.stream_labelled_rows, prepare_pose_record=crop_pose_record)

    def train_batches(self, start_step: int) -> Iterator[dict]:
        """This process's rows of the global batches for steps start_step, start_step+1, ...

        Step s draws from the stream its phase names (`Phase.stream`); each stream is a pure
        function of (seed, its own position), and a stream's position at start_step is the
        number of earlier steps that read it (`PhaseSchedule.count_before`), so resuming
        at any step continues every stream exactly. Nothing is read from the device.
        """
        phases, schedule = self.method.phases, self.method.phase_schedule
        streams = self.streams()
        names = sorted({p.stream for p in phases})
        iterators = {}
        for name in names:
            readers = [k for k, p in enumerate(phases) if p.stream == name]
            iterators[name] = streams.batches(name, schedule.count_before(start_step, readers))
        if len(names) == 1:
            for batch in iterators[names[0]]:
                yield self._select(batch, names[0])
            return
        step = start_step
        while True:
            for k in schedule.indices(np.arange(step, step + 1024)):
                yield self._select(next(iterators[phases[k].stream]), phases[k].stream)
            step += 1024

    def eval_batches(self, *, box_jitter: float = 0.0, split: str = "test") -> Iterator[dict]:
        """Test batches in order (split="validation": the held-out training records'), the
        last padded, each with a `valid` row mask; cropped around the hand as in training,
        the boxes perturbed by `box_jitter` (a fraction of the side,
        jaxhands.data.hand_crop.jitter_box) when it is > 0."""
        if box_jitter and not hand_crop_config(self.config).enabled:
            raise ValueError(f"box_jitter={box_jitter} needs a hand crop, but config.hand_crop.mode is 'none'")
        if split not in ("test", "validation"):
            raise ValueError(f"eval_batches: split must be 'test' or 'validation', got {split!r}")
        source = self.test_source if split == "test" else self.validation_source
        if source is None:
            raise ValueError("eval_batches(split='validation'): no validation split; set config.validation_fraction")
        for batch in pipeline.make_eval_iterator(source, global_batch_size=self.config.batch_size,
                                                 hand_crop=hand_crop_config(self.config), box_jitter=box_jitter,
                                                 fields=self.fields):
            yield self._select(batch, "test")

    def example_batch(self) -> dict:
        batch = next(iter(self.eval_batches()))
        batch.pop("valid")
        if self.config.labelled_fraction < 1.0:
            batch["labelled"] = np.ones(batch["keypoints_3d"].shape[0], bool)
        return batch


def check_invariance_joints(config: ml_collections.ConfigDict, example: dict, *, dataset: str | None = None) -> None:
    """The T/S invariances need their root and reference-bone joints in the data: a dataset
    without a wrist (NYU, ICVL) must name other joints, or normalisation would use zeros."""
    if "keypoints_defined" not in example:
        return
    from jaxhands.geometry import layouts
    from jaxhands.methods.modalities import Invariances

    inv = Invariances.from_config(config)
    defined = np.asarray(example["keypoints_defined"]).all(axis=0)
    needed = {"invariances.root": [inv.root] if inv.translation else [],
              "invariances.reference_bone": list(inv.reference_bone) if inv.scale else []}
    for field, joints in needed.items():
        missing = [layouts.JOINT_NAMES[j] for j in joints if not defined[j]]
        if missing:
            have = [n for n, d in zip(layouts.JOINT_NAMES, defined) if d]
            raise ValueError(f"config.{field} uses joint(s) {missing} that dataset {dataset or config.dataset!r} "
                             "does not have; "
                             f"choose among {have} (e.g. --config.{field}=...)")


def build_experiment(config: ml_collections.ConfigDict, *, extra_fields: tuple[str, ...] = (),
                     test_dataset: str | None = None, need_train: bool = True) -> Experiment:
    """The method, its data sources and batches of the labels plus the fields the method
    reads; extra_fields adds ones it does not (e.g. an evaluation's tag images).
    test_dataset / need_train: see `build_sources` (evaluating on another dataset)."""
    method = build_method(config)
    train_source, validation_source, test_source = build_split_sources(config, test_dataset=test_dataset,
                                                                        need_train=need_train)
    fields = tuple(dict.fromkeys(LABEL_FIELDS + tuple(method.batch_fields) + tuple(extra_fields)))
    experiment = Experiment(config, method, train_source, test_source, fields, test_dataset, validation_source)
    check_invariance_joints(config, experiment.example_batch(), dataset=test_dataset or config.dataset)
    return experiment
