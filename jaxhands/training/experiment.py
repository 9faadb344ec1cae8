"""An experiment = a method + its train/test data, built from a config.

Methods register here by name (`config.method`); datasets are resolved by
`config.dataset`: "synthetic" (built on first use), "stb_skeletons" (real STB
joints), or the name/path of a dataset written by `python -m data_prep`.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Callable, Iterator

import jax
import ml_collections
import numpy as np

from jaxhands.data import pipeline
from jaxhands.data.hand_crop import HandCropConfig
from jaxhands.data.stb_skeletons import STBSkeletonSource

_METHODS: dict[str, Callable[[ml_collections.ConfigDict], Any]] = {}

# Fields every method may read; methods add modality fields (image, depth, points, ...).
LABEL_FIELDS = ("keypoints_3d", "keypoints_2d", "visible", "intrinsics", "hand_side")


def register_method(name: str, factory: Callable[[ml_collections.ConfigDict], Any]) -> None:
    _METHODS[name] = factory


def build_method(config: ml_collections.ConfigDict):
    if not _METHODS:
        _register_builtin_methods()
    if config.method not in _METHODS:
        raise ValueError(f"config.method={config.method!r} is unknown; known methods: {sorted(_METHODS)}")
    return _METHODS[config.method](config)


def _register_builtin_methods() -> None:
    from jaxhands.methods.cross_modal import CrossModalVAE

    register_method("cross_modal", CrossModalVAE)
    from jaxhands.methods.latent_alignment import LatentAlignment

    register_method("latent_alignment", LatentAlignment)


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


def build_sources(config: ml_collections.ConfigDict):
    """(train source, test source): random-access sources of schema records."""
    name = config.dataset
    if name == "synthetic":
        from jaxhands.data import ensure_synthetic_dataset, load_split

        def build():
            return ensure_synthetic_dataset(
                data_root(config), image_size=stored_image_size(config), num_points=config.num_points,
                num_train=config.synthetic_num_train, num_test=config.synthetic_num_test,
                seed=config.synthetic_seed, background=config.synthetic_background)
        if jax.process_count() > 1:
            # Process 0 builds (on the shared filesystem); the others wait, then read.
            from jax.experimental import multihost_utils

            if jax.process_index() == 0:
                build()
            multihost_utils.sync_global_devices("jaxhands: synthetic dataset ready")
        path = build()
        return load_split(path, "train"), load_split(path, "test")
    if name == "stb_skeletons":
        root = config.data_dir or None
        return STBSkeletonSource("train", root), STBSkeletonSource("test", root)
    from jaxhands.data import load_split

    path = pathlib.Path(name).expanduser()
    if not path.exists():
        path = data_root(config) / name
    return load_split(path, "train"), load_split(path, "test")


@dataclasses.dataclass(frozen=True)
class RecordSubset:
    """The records `indices` of a random-access source, as a source of its own."""

    source: Any
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        return self.source[int(self.indices[i])]


def _from_subset(batch: dict, subset: RecordSubset) -> dict:
    """A labelled-subset batch: every row labelled, record_index back in the full split."""
    batch["record_index"] = subset.indices[np.asarray(batch["record_index"])].astype(np.int32)
    batch["labelled"] = np.ones(len(batch["record_index"]), bool)
    return batch


@dataclasses.dataclass
class Experiment:
    config: ml_collections.ConfigDict
    method: Any
    train_source: Any
    test_source: Any
    fields: tuple[str, ...]

    def _select(self, batch: dict) -> dict:
        missing = [f for f in self.fields if f not in batch]
        if missing:
            raise KeyError(f"dataset {self.config.dataset!r} lacks field(s) {missing} that method "
                           f"{self.config.method!r} needs; it has {sorted(batch)}")
        out = {k: batch[k] for k in self.fields}
        # keypoints_defined [B, 21]: False for canonical joints a dataset lacks (NYU, ICVL),
        # which hold zeros and are masked out of pose losses and metrics.
        for extra in ("labelled", "valid", "record_index", "keypoints_defined"):
            if extra in batch:
                out[extra] = batch[extra]
        return out

    def _labelled_mask(self, indices: np.ndarray) -> np.ndarray:
        """Semi-supervised split: a fixed seeded subset of `labelled_fraction` of the train
        records keeps its labels (the same subset whatever the step or process count)."""
        fraction = self.config.labelled_fraction
        n = len(self.train_source)
        order = np.random.default_rng([self.config.seed, 7]).permutation(n)
        labelled = np.zeros(n, bool)
        labelled[order[: int(round(fraction * n))]] = True
        return labelled[indices]

    def _stream(self, source, seed: int, start_step: int):
        c = self.config
        return pipeline.make_train_iterator(
            source, global_batch_size=c.batch_size, seed=seed, start_step=start_step,
            process_index=jax.process_index(), process_count=jax.process_count(),
            augment_config=c.augment, hand_crop=hand_crop_config(c), fields=self.fields,
            num_threads=c.data_threads)

    def _phase_needs_labels(self, steps: np.ndarray) -> np.ndarray:
        """[len(steps)] bool: whether the phase run at each step reads labels."""
        needs = np.array([getattr(p, "needs_labels", True) for p in self.method.phases])
        if len(needs) == 1:
            return np.full(len(steps), bool(needs[0]))
        return needs[np.asarray(self.method.phase_index(np.asarray(steps, np.int64)))]

    def train_batches(self, start_step: int) -> Iterator[dict]:
        """This process's rows of the global batches for steps start_step, start_step+1, ...

        Semi-supervised (labelled_fraction < 1): phases that read labels get batches of the
        labelled subset only and label-free phases batches of every training record: two
        streams, each a pure function of (seed, its own position), so resuming at any step
        continues both exactly. With one phase that mixes both kinds of term (the joint
        schedule), batches come from every record with a per-row `labelled` flag; with
        config.labelled_only (the supervised baseline) every phase sees the labelled subset.
        """
        c = self.config
        if c.labelled_fraction >= 1.0:
            for batch in self._stream(self.train_source, c.seed, start_step):
                yield self._select(batch)
            return
        # The split is computed once; batches look their rows up in it.
        is_labelled = self._labelled_mask(np.arange(len(self.train_source)))
        labelled_source = RecordSubset(self.train_source, np.flatnonzero(is_labelled))
        phases = self.method.phases
        split = len(phases) > 1 and any(not getattr(p, "needs_labels", True) for p in phases)
        if c.labelled_only or not split:
            source = labelled_source if c.labelled_only else self.train_source
            for batch in self._stream(source, c.seed, start_step):
                if source is labelled_source:
                    batch = _from_subset(batch, labelled_source)
                else:
                    batch["labelled"] = is_labelled[np.asarray(batch["record_index"])]
                yield self._select(batch)
            return
        # How many batches each stream has produced before start_step.
        done = self._phase_needs_labels(np.arange(start_step))
        labelled_it = self._stream(labelled_source, c.seed, int(done.sum()))
        all_it = self._stream(self.train_source, c.seed + 1, int(start_step - done.sum()))
        step = start_step
        while True:
            chunk = self._phase_needs_labels(np.arange(step, step + 1024))
            for needs in chunk:
                if needs:
                    batch = _from_subset(next(labelled_it), labelled_source)
                else:
                    batch = next(all_it)
                    batch["labelled"] = is_labelled[np.asarray(batch["record_index"])]
                yield self._select(batch)
            step += len(chunk)

    def eval_batches(self, *, box_jitter: float = 0.0) -> Iterator[dict]:
        """Test batches in order, the last padded, each with a `valid` row mask; cropped
        around the hand as in training, the boxes perturbed by `box_jitter` (a fraction
        of the side, jaxhands.data.hand_crop.jitter_box) when it is > 0."""
        if box_jitter and not hand_crop_config(self.config).enabled:
            raise ValueError(f"box_jitter={box_jitter} needs a hand crop, but config.hand_crop.mode is 'none'")
        for batch in pipeline.make_eval_iterator(self.test_source, global_batch_size=self.config.batch_size,
                                                 hand_crop=hand_crop_config(self.config), box_jitter=box_jitter,
                                                 fields=self.fields):
            yield self._select(batch)

    def example_batch(self) -> dict:
        batch = next(iter(self.eval_batches()))
        batch.pop("valid")
        if self.config.labelled_fraction < 1.0:
            batch["labelled"] = np.ones(batch["keypoints_3d"].shape[0], bool)
        return batch


def check_invariance_joints(config: ml_collections.ConfigDict, example: dict) -> None:
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
            raise ValueError(f"config.{field} uses joint(s) {missing} that dataset {config.dataset!r} does not have; "
                             f"choose among {have} (e.g. --config.{field}=...)")


def build_experiment(config: ml_collections.ConfigDict) -> Experiment:
    method = build_method(config)
    train_source, test_source = build_sources(config)
    fields = tuple(dict.fromkeys(LABEL_FIELDS + tuple(getattr(method, "batch_fields", ()))))
    experiment = Experiment(config, method, train_source, test_source, fields)
    check_invariance_joints(config, experiment.example_batch())
    return experiment
