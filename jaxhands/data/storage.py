"""Prepared TFDS datasets on disk: atomic preparation, lookup and random-access reading.

A prepared dataset is a TFDS version directory `<data_dir>/<name>/<config>/<version>`
holding `dataset_info.json`, `features.json` and array_record shards. It is read
without TensorFlow through `tfds.builder_from_directory(path).as_data_source(split)`.

`prepare_atomically` is the one way converters write datasets (the synthetic builder
and every `data_prep/<dataset>.py`): the builder runs in a private temporary data
dir `<data_dir>/.tmp-<name>-<random>/`, and only the finished version directory is
moved into place with one rename. An interrupted or failed run therefore never
leaves a directory that looks prepared, and the temporary dir is removed on any
exception (including KeyboardInterrupt); a hard kill can leave a `.tmp-*` dir,
which is never read and which a later run of the same dataset removes once it is
more than a day old (younger ones may belong to a run still in progress).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import pathlib
import shutil
import socket
import uuid
from typing import Any, Callable

import numpy as np

INFO_FILE = "dataset_info.json"
log = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"
# Both builders are TFDS ShardBasedBuilders writing shards of at most ~256 MiB straight
# from their generators. TFDS's GeneratorBasedBuilder first buffers a whole split in
# memory and, past 1 GiB, spills it through tf.io.gfile, i.e. needs TensorFlow
# (20 000 synthetic samples at 128 px are 2.6 GB, RHD's 41 258 crops far more).
MAX_SHARD_BYTES = 256 << 20


def samples_per_shard(image_size: int, num_points: int, *, extra_bytes: int = 1024,
                      max_shard_bytes: int | None = None) -> int:
    """Samples per array_record shard: ~MAX_SHARD_BYTES of uncompressed schema features
    (image uint8 x3, depth float32, mask uint8; points float32 x3; `extra_bytes` for the rest)."""
    limit = MAX_SHARD_BYTES if max_shard_bytes is None else max_shard_bytes
    per_sample = image_size * image_size * (3 + 4 + 1) + num_points * 12 + extra_bytes
    return max(1, limit // per_sample)


class DatasetNotFoundError(FileNotFoundError):
    """No prepared dataset where one was expected."""


class OutputDirError(OSError):
    """The output directory cannot be created or written."""


def is_prepared(version_dir: str | os.PathLike) -> bool:
    """Whether `version_dir` is a complete prepared dataset (renames make this atomic)."""
    return (pathlib.Path(version_dir) / INFO_FILE).is_file()


def find_prepared(root: str | os.PathLike, max_depth: int = 3) -> list[pathlib.Path]:
    """Prepared version directories at or below `root` (at most `max_depth` levels), sorted.

    Temporary `.tmp-*` build directories are skipped.
    """
    root = pathlib.Path(root)
    found = []
    frontier = [root]
    for _ in range(max_depth + 1):
        next_frontier = []
        for directory in frontier:
            if is_prepared(directory):
                found.append(directory)
                continue
            if directory.is_dir():
                next_frontier.extend(
                    child for child in directory.iterdir()
                    if child.is_dir() and not child.name.startswith(_TMP_PREFIX))
        frontier = next_frontier
    return sorted(found)


def resolve_dataset_dir(dataset: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The version directory of `dataset`.

    `dataset` is a prepared version directory, or a directory holding exactly one
    prepared dataset below it (e.g. the `--out` of `python -m data_prep`), or a
    name `<name>[/<config>[/<version>]]` under `data_dir` matching exactly one
    prepared dataset.
    """
    candidates = []
    path = pathlib.Path(dataset)
    if data_dir is not None and not path.is_absolute():
        path = pathlib.Path(data_dir) / path
    if path.is_dir():
        candidates = find_prepared(path)
    if len(candidates) == 1:
        return candidates[0]
    where = f"{dataset!r}" + (f" under data_dir {os.fspath(data_dir)!r}" if data_dir is not None else "")
    if not candidates:
        raise DatasetNotFoundError(
            f"no prepared dataset (a directory with {INFO_FILE}) at {where}; "
            f"prepare one with `python -m data_prep <dataset> --out DIR`")
    raise DatasetNotFoundError(
        f"{where} holds {len(candidates)} prepared datasets, name one of: "
        + ", ".join(os.fspath(c) for c in candidates))


def load_split(dataset: str | os.PathLike, split: str, *, data_dir: str | os.PathLike | None = None):
    """Random-access records (len(), [i] -> dict of numpy arrays) of one split.

    `dataset` is resolved by `resolve_dataset_dir`. Raises DatasetNotFoundError
    naming the available splits if `split` is not one of them.
    """
    import tensorflow_datasets as tfds

    version_dir = resolve_dataset_dir(dataset, data_dir)
    builder = tfds.builder_from_directory(os.fspath(version_dir))
    splits = sorted(builder.info.splits.keys())
    if split not in splits:
        raise DatasetNotFoundError(f"dataset {os.fspath(version_dir)} has no split {split!r}; splits: {splits}")
    info = builder.info.splits[split]
    return CheckedSource(builder.as_data_source(split), split,
                         tuple(os.fspath(p) for p in info.filepaths), tuple(int(n) for n in info.shard_lengths),
                         os.fspath(version_dir))


@functools.lru_cache(maxsize=32)
def _feature_names(version_dir: str) -> frozenset[str]:
    import tensorflow_datasets as tfds

    return frozenset(tfds.builder_from_directory(version_dir).info.features.keys())


@functools.lru_cache(maxsize=32)
def _data_source_skipping(version_dir: str, split: str, skipped: frozenset[str]):
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(version_dir)
    return builder.as_data_source(split, decoders={name: tfds.decode.SkipDecoding() for name in skipped})


class CorruptShardError(RuntimeError):
    """A dataset shard file cannot be read (truncated or overwritten)."""


@dataclasses.dataclass(frozen=True)
class CheckedSource:
    """A split's random-access records whose read errors name the shard file and the fix.

    array_record reports a damaged file as "Corrupted Riegeli/records file: chunk header
    hash mismatch ..." without its path; this names the file holding the record and says
    how to rebuild it."""

    source: Any
    split: str
    filepaths: tuple[str, ...]
    shard_lengths: tuple[int, ...]
    version_dir: str | None = None  # the dataset's directory (for `reading_only`)
    skipped: frozenset[str] = frozenset()  # fields left undecoded (their encoded bytes in the records)

    def __len__(self) -> int:
        return len(self.source)

    def reading_only(self, fields) -> "CheckedSource":
        """The same records with only `fields` decoded (None: all); the others stay encoded
        bytes, which a pipeline that never reads them drops. A depth batch then skips
        decompressing the colour image and the cloud: 0.60 -> 0.29 ms a record."""
        if fields is None or self.version_dir is None:
            return self
        skipped = frozenset(_feature_names(self.version_dir) - set(fields))
        if skipped == self.skipped:
            return self
        return dataclasses.replace(self, source=_data_source_skipping(self.version_dir, self.split, skipped),
                                   skipped=skipped)

    def _shard_of(self, index: int) -> str:
        ends = np.cumsum(self.shard_lengths)
        shard = int(np.searchsorted(ends, index, side="right"))
        return self.filepaths[min(shard, len(self.filepaths) - 1)] if self.filepaths else "?"

    def _corrupt(self, index: int, err: Exception) -> CorruptShardError:
        path = self._shard_of(index)
        return CorruptShardError(
            f"cannot read record {index} of split {self.split!r} from {path} ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:160] if str(err) else ''}); the shard is damaged: delete "
            f"{os.path.dirname(path)} and rebuild it (python -m data_prep ... --overwrite, or rerun training "
            "for the built-in synthetic dataset)")

    def __getitem__(self, index):
        try:
            return self.source[index]
        except (RuntimeError, OSError, ValueError) as err:  # array_record: RuntimeError; a lost record: ValueError
            raise self._corrupt(int(index), err) from None

    def __getitems__(self, indices):
        try:
            return self.source.__getitems__(indices)
        except (RuntimeError, OSError, ValueError) as err:  # array_record: RuntimeError; a lost record: ValueError
            raise self._corrupt(int(list(indices)[0]), err) from None


@dataclasses.dataclass(frozen=True)
class PrepareResult:
    path: pathlib.Path  # the prepared version directory
    created: bool  # False when a complete dataset was already there


def _make_dir(path: pathlib.Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputDirError(
            f"cannot create output directory {os.fspath(path)}: {error.strerror or error}") from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(f"output directory {os.fspath(path)} is not writable")


_OWNER_FILE = "owner"  # "<hostname> <pid>" of the process building into a temporary dir


def _owner_is_gone(tmp_dir: pathlib.Path) -> bool:
    """True when the build that owns `tmp_dir` ran on this host and its process has ended."""
    try:
        host, pid = (tmp_dir / _OWNER_FILE).read_text().split()
        pid = int(pid)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return False  # another machine's build on a shared filesystem: only age tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _remove_stale_tmp_dirs(data_dir: pathlib.Path, name: str) -> None:
    """Removes `.tmp-<name>-*` dirs left by hard-killed builds: at once where the owning
    process (same host) has ended, otherwise once older than a day."""
    import time

    for stale in data_dir.glob(f"{_TMP_PREFIX}{name}-*"):
        if stale.is_dir() and (_owner_is_gone(stale) or time.time() - stale.stat().st_mtime > 86400):
            log.info("removing %s, left by a build that did not finish", stale)
            shutil.rmtree(stale, ignore_errors=True)


def exit_with_parent(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """A pool worker's initializer: the worker ends itself once `parent_pid` is gone. A
    parent killed outright (kill -9, the OOM killer) runs no cleanup, and its spawned
    workers would otherwise wait on their task queue for ever."""
    import threading
    import time

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class _DropCustomConfigWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Using custom data configuration")


@contextlib.contextmanager
def without_custom_config_warning():
    """TFDS warns "Using custom data configuration: ..." for every config it was not
    shipped with; ours are all built from the dataset's parameters, so the warning (twice
    per run, once per builder) says nothing. Dropped while a builder is constructed."""
    absl_logger, drop = logging.getLogger("absl"), _DropCustomConfigWarning()
    absl_logger.addFilter(drop)
    try:
        yield
    finally:
        absl_logger.removeFilter(drop)


def prepare_atomically(make_builder: Callable[[pathlib.Path], object], data_dir: str | os.PathLike, *,
                       overwrite: bool = False) -> PrepareResult:
    """Prepares the dataset of `make_builder(data_dir)` under `data_dir`, all or nothing.

    make_builder: data_dir -> a `tfds.core.DatasetBuilder` whose `download_and_prepare()`
      writes the dataset; it is called once with `data_dir` (to find the final path)
      and once with the private temporary dir (to build).
    overwrite: replace a complete dataset that is already there (it stays readable
      until the new one is complete).
    """
    data_dir = pathlib.Path(data_dir)
    _make_dir(data_dir)
    final = pathlib.Path(os.fspath(make_builder(data_dir).data_dir))
    if is_prepared(final) and not overwrite:
        return PrepareResult(final, created=False)
    name = final.parent.parent.name
    _remove_stale_tmp_dirs(data_dir, name)
    tmp_root = data_dir / f"{_TMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
    log.info("preparing dataset %s (first use; later runs read it from there)", final)
    try:
        _make_dir(tmp_root)
        (tmp_root / _OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}")
        builder = make_builder(tmp_root)
        builder.download_and_prepare()
        built = pathlib.Path(os.fspath(builder.data_dir))
        if not is_prepared(built):
            raise RuntimeError(f"builder {builder.name} finished without writing {INFO_FILE} in {built}")
        final.parent.mkdir(parents=True, exist_ok=True)
        if is_prepared(final):
            if not overwrite:  # another run finished the same dataset meanwhile: keep it
                return PrepareResult(final, created=False)
            final.rename(tmp_root / "replaced")
        built.rename(final)
        log.info("dataset ready: %s", final)
        return PrepareResult(final, created=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
