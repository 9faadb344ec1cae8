"""Input pipeline: random-access records -> deterministic, sharded, augmented numpy batches.

The training stream is a pure function of (seed, step):

- records are visited epoch after epoch; epoch e is the permutation
  `epoch_permutation(num_records, seed, e)` (numpy PCG64 seeded by (seed, e));
- the epochs are concatenated into one infinite stream and the global batch at
  step s is stream positions [s*B, (s+1)*B). Batches wrap across epoch boundaries
  (nothing is dropped: every record appears exactly once per epoch);
- process p of P gets rows [p*B/P, (p+1)*B/P) of every global batch, so the
  concatenation of the processes' batches in process order is the global batch;
- the augmentation of the record at stream position g is drawn from a numpy
  Generator seeded by (seed, g), so it does not depend on the process layout,
  the number of workers or where the run was resumed.

A resumed run therefore only needs `start_step`. Batches are dicts of the records'
numeric fields (schema fields with the schema's dtypes, plus a source's extra
numeric fields; text fields are left out) stacked on a leading [B/P] axis (image
stays uint8; models normalise), plus `valid` (bool [B/P], all True in training)
and `record_index` (int32 [B/P], the record's index in the split; -1 for eval
padding).

Parallelism is grain's: `num_threads` threads per process build records, and
`num_workers` > 0 moves whole batches to that many worker processes (spawned, each
importing jaxhands; their interleaving is deterministic, so the output does not
depend on the worker count).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any, Callable, Mapping, Sequence

import grain
import numpy as np

from jaxhands.data.augment import AugmentConfig, augment_with_config
from jaxhands.data.hand_crop import HandCropConfig, crop_hand
from jaxhands.data.schema import FEATURES

# Distinct stream tags so the permutation and augmentation generators never share a seed.
_PERMUTATION_STREAM = 0
_AUGMENT_STREAM = 1
_BOX_JITTER_STREAM = 2
# An "infinite" stream: far more steps than any run, small enough for int64 positions.
_MAX_STEPS = 2**40
# Per-record fields of kilobytes or more. A training pipeline that needs none of them
# (2D -> 3D lifting, pose priors) reads its records once into memory (RecordsInMemory):
# reading a record from its shard costs more than the step of a small model.
LARGE_FIELDS = frozenset({"image", "depth", "mask", "points", "tag_image"})
# Above this estimated size a split stays on disk (the few large pose-only sets).
IN_MEMORY_MAX_BYTES = 512 * 2**20

Batch = dict[str, np.ndarray]


def epoch_permutation(num_records: int, seed: int, epoch: int) -> np.ndarray:
    """The visiting order of epoch `epoch`: a permutation of range(num_records), int64."""
    return np.random.default_rng([seed, _PERMUTATION_STREAM, epoch]).permutation(num_records)


def stream_records(positions: Sequence[int] | np.ndarray, num_records: int, seed: int) -> np.ndarray:
    """Record indices at global stream positions (epochs concatenated), int64 [len(positions)]."""
    positions = np.asarray(positions, np.int64)
    epochs, offsets = np.divmod(positions, num_records)
    out = np.empty_like(positions)
    for epoch in np.unique(epochs):
        chosen = epochs == epoch
        out[chosen] = epoch_permutation(num_records, seed, int(epoch))[offsets[chosen]]
    return out


def augment_rng(seed: int, position: int) -> np.random.Generator:
    """The augmentation Generator of the record at global stream position `position`."""
    return np.random.default_rng([seed, _AUGMENT_STREAM, position])


def fields_to_process(keep_fields, hand_crop: HandCropConfig, augment_config: AugmentConfig | None):
    """The record fields a pipeline must read to produce `keep_fields` (None: all).

    Besides the kept ones: what the hand crop needs for its box (2D keypoints, or depth
    with intrinsics and mask), what augmentation needs (intrinsics; an image frame to
    flip or zoom; depth to re-draw points), and `keypoints_defined`. Everything else is
    dropped before cropping and augmenting: a depth model's pipeline never resamples
    the colour image (measured: the 64 px depth crop cost 10.6 ms a sample with the
    image, most of it the image's area-filtered resampling).
    """
    if keep_fields is None:
        return None
    needed = set(keep_fields) | {"keypoints_defined"}
    if hand_crop.mode == "rgb_keypoints":
        needed |= {"keypoints_2d", "visible"}
    elif hand_crop.mode == "depth_cube":
        needed |= {"depth", "intrinsics", "mask"}
    if augment_config is not None and augment_config.enabled:
        needed.add("intrinsics")
        if augment_config.points_from_depth:
            needed.add("depth")
        if augment_config.geometric and not needed & {"image", "depth", "mask"}:
            needed.add("mask")  # the image frame's size (flip and zoom are defined in it)
    return frozenset(needed)


def _batchable_record(record: Mapping[str, Any], fields=None) -> dict[str, np.ndarray]:
    """The numeric fields of a decoded record as numpy arrays, schema fields with the
    schema's dtypes (TFDS returns Python ints for scalars).

    Sources may lack schema fields (skeleton-only sources have no image) and may add
    their own (converted datasets' metadata); text fields are left out of batches
    (look them up through `record_index`).
    """
    out = {}
    for name, value in record.items():
        if fields is not None and name not in fields:
            continue
        if name in FEATURES:
            out[name] = np.asarray(value, dtype=FEATURES[name][0])
        else:
            value = np.asarray(value)
            if value.dtype.kind not in "OSU":
                out[name] = value
    return out


class RecordsInMemory:
    """The records of `source`, only `fields` of each (as `_batchable_record` gives them),
    read once and held in memory; indexing returns copies, so augmentation cannot alter
    the held records. `in_memory` marks sources a pipeline must not cache again.

    prepare(record) -> record: applied to each record as it is read, before the fields
    are picked (the pose streams' hand crop, jaxhands.data.streams.PoseRecords)."""

    in_memory = True

    def __init__(self, source, fields, prepare: Callable[[dict], dict] | None = None):
        self._records = [_batchable_record(source[i] if prepare is None else prepare(source[i]), fields)
                         for i in range(len(source))]

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._records[int(i)].items()}


def _held_in_memory(source, fields):
    """`source` read into memory when the fields the pipeline reads of it hold none of
    LARGE_FIELDS and the whole split fits IN_MEMORY_MAX_BYTES (both judged on record 0:
    a skeleton-only source has no `mask` even where augmentation would read one); else
    `source`."""
    if fields is None or getattr(source, "in_memory", False):
        return source
    first = _batchable_record(source[0], fields)
    if first.keys() & LARGE_FIELDS or sum(v.nbytes for v in first.values()) * len(source) > IN_MEMORY_MAX_BYTES:
        return source
    return RecordsInMemory(source, fields)


def resolve_process(process_index: int | None, process_count: int | None) -> tuple[int, int]:
    """(process_index, process_count), defaulting to jax.process_index()/process_count()."""
    if process_index is None or process_count is None:
        import jax  # deferred: only multi-host callers that rely on the defaults need it

        process_index = jax.process_index() if process_index is None else process_index
        process_count = jax.process_count() if process_count is None else process_count
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index must be in [0, {process_count}), got {process_index}")
    return process_index, process_count


def local_batch_size(global_batch_size: int, process_count: int) -> int:
    """B / P, raising if the global batch does not split evenly over the processes."""
    if global_batch_size < 1:
        raise ValueError(f"global_batch_size must be >= 1, got {global_batch_size}")
    if global_batch_size % process_count:
        raise ValueError(
            f"global_batch_size {global_batch_size} is not divisible by the process count "
            f"{process_count}: every process must get the same number of rows")
    return global_batch_size // process_count


def _reading_only(source, fields):
    """`source` decoding only `fields` where it can (storage.CheckedSource.reading_only):
    the record fields a pipeline drops are then never decompressed."""
    narrow = getattr(source, "reading_only", None)
    return source if narrow is None else narrow(fields)


class _TrainRecord:
    """Local stream row -> augmented record (picklable, for grain worker processes)."""

    def __init__(self, source, *, seed: int, global_batch_size: int, local_batch: int,
                 process_index: int, augment_config: AugmentConfig, hand_crop: HandCropConfig,
                 fields=None):
        self._fields = fields_to_process(fields, hand_crop, augment_config)
        self._source = _held_in_memory(_reading_only(source, self._fields), self._fields)
        self._hand_crop = hand_crop
        self._num_records = len(source)
        self._seed = seed
        self._global_batch_size = global_batch_size
        self._local_batch = local_batch
        self._process_index = process_index
        self._augment_config = augment_config
        self._permutations: dict[int, np.ndarray] = {}

    def _permutation(self, epoch: int) -> np.ndarray:
        # Consecutive rows share an epoch; keep the current and previous one (batches
        # straddle epoch boundaries, and threads may still be finishing the old epoch).
        cached = self._permutations.get(epoch)
        if cached is None:
            cached = epoch_permutation(self._num_records, self._seed, epoch)
            self._permutations = {e: p for e, p in self._permutations.items() if e >= epoch - 1}
            self._permutations[epoch] = cached
        return cached

    def __call__(self, row: int) -> dict[str, np.ndarray]:
        step, column = divmod(row, self._local_batch)
        position = step * self._global_batch_size + self._process_index * self._local_batch + column
        epoch, offset = divmod(position, self._num_records)
        record_index = int(self._permutation(epoch)[offset])
        sample = _batchable_record(self._source[record_index], self._fields)
        if self._hand_crop.enabled:
            sample = crop_hand(sample, self._hand_crop)
        if self._augment_config.enabled:
            sample = augment_with_config(sample, self._augment_config, augment_rng(self._seed, position))
        sample["valid"] = np.bool_(True)
        sample["record_index"] = np.int32(record_index)
        return sample


class _EvalRecord:
    """Local eval row -> record in split order; rows past the end repeat the last
    record with valid=False and record_index=-1."""

    def __init__(self, source, *, global_batch_size: int, local_batch: int, process_index: int,
                 hand_crop: HandCropConfig, box_jitter: float = 0.0, fields=None):
        self._fields = fields_to_process(fields, hand_crop, None)
        self._source = _reading_only(source, self._fields)
        self._hand_crop = hand_crop
        self._box_jitter = box_jitter
        self._num_records = len(source)
        self._global_batch_size = global_batch_size
        self._local_batch = local_batch
        self._process_index = process_index

    def __call__(self, row: int) -> dict[str, np.ndarray]:
        step, column = divmod(row, self._local_batch)
        position = step * self._global_batch_size + self._process_index * self._local_batch + column
        valid = position < self._num_records
        record_index = min(position, self._num_records - 1)
        sample = _batchable_record(self._source[record_index], self._fields)
        if self._hand_crop.enabled:
            # The jitter of record i is a pure function of i: every run sees the same boxes.
            rng = np.random.default_rng([_BOX_JITTER_STREAM, record_index]) if self._box_jitter else None
            sample = crop_hand(sample, self._hand_crop, box_jitter=self._box_jitter, rng=rng)
        sample["valid"] = np.bool_(valid)
        sample["record_index"] = np.int32(position if valid else -1)
        return sample


def _ensure_absl_flags_parsed() -> None:
    """grain's mp_prefetch reads its absl flags (worker profiling, with jax installed) and
    fails with UnparsedFlagAccessError in programs not started through absl.app; such
    programs get grain's defaults, exactly as if absl had parsed an empty command line."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def _close_and_drop(holder: list) -> None:
    if holder:
        holder.pop().close()


class BatchIterator:
    """Iterator over one process's numpy batches; `close()` (or `with`) stops grain's workers.

    Batches from worker processes arrive in grain's shared memory; they are copied
    into ordinary arrays here so the shared segments are released at once, and a
    batch kept by the caller (for logging, say) never pins shared memory.
    """

    def __init__(self, grain_iterator, *, copy_out: bool):
        # The grain iterator lives only in this list so that closing (explicitly, or at
        # interpreter exit through the finalizer) also drops it while modules are intact:
        # grain's iterators close themselves again in __del__, which fails at teardown.
        self._holder = [grain_iterator]
        self._copy_out = copy_out
        self._finalizer = weakref.finalize(self, _close_and_drop, self._holder)

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> Batch:
        if not self._holder:
            raise ValueError("the batch iterator is closed")
        batch = next(self._holder[0])
        if self._copy_out:
            batch = {name: np.array(value) for name, value in batch.items()}
        return batch

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> BatchIterator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _to_iterator(dataset: grain.MapDataset, *, num_threads: int, num_workers: int,
                 prefetch_batches: int) -> BatchIterator:
    read_options = grain.ReadOptions(num_threads=num_threads,
                                     prefetch_buffer_size=max(prefetch_batches, num_threads))
    iter_dataset = dataset.to_iter_dataset(read_options)
    if num_workers > 0:
        _ensure_absl_flags_parsed()
        iter_dataset = iter_dataset.mp_prefetch(
            grain.MultiprocessingOptions(num_workers=num_workers, per_worker_buffer_size=prefetch_batches))
    return BatchIterator(iter(iter_dataset), copy_out=num_workers > 0)


def _check_parallelism(num_threads: int, num_workers: int, prefetch_batches: int) -> None:
    if num_threads < 0 or num_workers < 0 or prefetch_batches < 1:
        raise ValueError(
            f"need num_threads >= 0, num_workers >= 0 and prefetch_batches >= 1, got "
            f"{num_threads}, {num_workers}, {prefetch_batches}")


def make_train_iterator(
    source,
    *,
    global_batch_size: int,
    seed: int,
    start_step: int = 0,
    num_steps: int | None = None,
    process_index: int | None = None,
    process_count: int | None = None,
    augment_config: AugmentConfig | Mapping[str, Any] | None = None,
    hand_crop: HandCropConfig | Mapping[str, Any] | None = None,
    fields: Sequence[str] | None = None,
    num_threads: int = 1,
    num_workers: int = 0,
    prefetch_batches: int = 2,
) -> BatchIterator:
    """This process's training batches for steps start_step, start_step + 1, ...

    source: random-access records (len() and [i]), e.g. `load_split(path, "train")`.
    global_batch_size: B over all processes; must be divisible by process_count.
    seed: the stream seed (permutations and augmentation).
    start_step: first step to produce (resume = same seed + the step to continue at).
    num_steps: how many steps to produce (None: endless).
    process_index, process_count: default to jax.process_index() / jax.process_count().
    augment_config: AugmentConfig or a mapping of its fields; None = no augmentation.
    hand_crop: HandCropConfig or a mapping of its fields (jaxhands.data.hand_crop): the
      papers' crop around the hand, applied before augmentation; None = no crop.
    fields: the record fields the batches must hold (None: every numeric field); the
      others are dropped before cropping and augmenting (`fields_to_process`), so a
      batch may also hold the few the crop and augmentation needed.
    num_threads, num_workers, prefetch_batches: grain parallelism (threads per process,
      worker processes computing whole batches, buffered batches per worker/thread pool).

    Each batch is {field: [B/P, ...]} for the records' numeric fields, plus `valid` and
    `record_index`. Close the
    iterator (`.close()` or `with`) to stop worker processes early.
    """
    if len(source) == 0:
        raise ValueError("make_train_iterator: the source has no records")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0, got {start_step}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    _check_parallelism(num_threads, num_workers, prefetch_batches)
    process_index, process_count = resolve_process(process_index, process_count)
    local_batch = local_batch_size(global_batch_size, process_count)
    stop_step = _MAX_STEPS if num_steps is None else start_step + num_steps
    augment = AugmentConfig.from_mapping(augment_config)
    if augment.points_from_depth and fields is not None and "points" not in fields:
        # Nothing reads the re-drawn cloud (e.g. Yang's S1, which decodes no cloud): skip the
        # depth crop and warp it needs. The cloud is drawn last, so the other augmentations
        # draw the same parameters either way.
        augment = dataclasses.replace(augment, points_from_depth=False)
    record_fn = _TrainRecord(source, seed=seed, global_batch_size=global_batch_size, local_batch=local_batch,
                             process_index=process_index,
                             augment_config=augment,
                             hand_crop=HandCropConfig.from_mapping(hand_crop), fields=fields)
    dataset = (grain.MapDataset.range(start_step * local_batch, stop_step * local_batch)
               .map(record_fn)
               .batch(local_batch, drop_remainder=True))
    return _to_iterator(dataset, num_threads=num_threads, num_workers=num_workers,
                        prefetch_batches=prefetch_batches)


def num_eval_steps(num_records: int, global_batch_size: int) -> int:
    """Number of eval batches covering every record once: ceil(num_records / B)."""
    return -(-num_records // global_batch_size)


def make_eval_iterator(
    source,
    *,
    global_batch_size: int,
    process_index: int | None = None,
    process_count: int | None = None,
    hand_crop: HandCropConfig | Mapping[str, Any] | None = None,
    box_jitter: float = 0.0,
    fields: Sequence[str] | None = None,
    num_threads: int = 1,
    num_workers: int = 0,
    prefetch_batches: int = 2,
) -> BatchIterator:
    """This process's eval batches: the records in split order, no shuffle or augmentation.

    The global batch at step s holds records [s*B, (s+1)*B); the last one is padded
    (with copies of the last record) and `valid` (bool [B/P]) marks the real rows, so
    summing a metric over `valid` rows of all processes counts every record once.
    Yields `num_eval_steps(len(source), global_batch_size)` batches. `hand_crop` crops
    each record around its hand exactly as in training (see make_train_iterator);
    `box_jitter` > 0 perturbs each ground-truth box (hand_crop.jitter_box, seeded by the
    record index) to measure the cost of a detector-quality box.
    """
    num_records = len(source)
    if num_records == 0:
        raise ValueError("make_eval_iterator: the source has no records")
    _check_parallelism(num_threads, num_workers, prefetch_batches)
    process_index, process_count = resolve_process(process_index, process_count)
    local_batch = local_batch_size(global_batch_size, process_count)
    steps = num_eval_steps(num_records, global_batch_size)
    record_fn = _EvalRecord(source, global_batch_size=global_batch_size, local_batch=local_batch,
                            process_index=process_index, hand_crop=HandCropConfig.from_mapping(hand_crop),
                            box_jitter=float(box_jitter), fields=fields)
    dataset = (grain.MapDataset.range(0, steps * local_batch)
               .map(record_fn)
               .batch(local_batch, drop_remainder=True))
    return _to_iterator(dataset, num_threads=num_threads, num_workers=num_workers,
                        prefetch_batches=prefetch_batches)
