"""TFDS builder of the synthetic hand dataset (array_record shards, no TensorFlow).

Sample i of a dataset is `generate_sample(i, seed=seed, image_size=S, num_points=P)`
(default generator: `jaxhands.synthetic.generate_sample`), so the dataset is a
pure function of its config. The train split holds indices [0, num_train), the
test split [num_train, num_train + num_test) — disjoint by construction. Records
are stored in index order (`disable_shuffling`), so record r of the train split is
sample r and record r of the test split is sample num_train + r.

Every config value is part of the config name and hence of the directory
`<data_dir>/synthetic_hands/<config name>/<version>`, so datasets of different
sizes or seeds never collide. Generation runs in one pool of spawned worker
processes shared by the splits (spawn, not fork: the caller may have initialised
JAX's threads), which return samples in index order; TFDS encodes and writes them
in the main process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import itertools
import multiprocessing
import os
import pathlib
from typing import Any, Callable

import numpy as np
from etils import epath
import tensorflow_datasets as tfds
import tqdm

from jaxhands.data import schema
from jaxhands.data import storage
from jaxhands.data.storage import PrepareResult, load_split, prepare_atomically
from jaxhands.synthetic.config import BACKGROUNDS, HAND_SHAPES

GenerateFn = Callable[..., dict]

DATASET_NAME = "synthetic_hands"
# Below this many samples a worker pool costs more (spawn + imports) than it saves.
_MIN_SAMPLES_FOR_POOL = 64


class StaleDatasetError(RuntimeError):
    """A prepared synthetic dataset no longer matches what its generator produces."""


def default_generate_fn() -> GenerateFn:
    """`jaxhands.synthetic.generate_sample`, with a clear error if it is missing."""
    try:
        from jaxhands.synthetic import generate_sample
    except ImportError as error:
        raise ImportError(
            "jaxhands.synthetic does not export generate_sample(index, *, seed, image_size, num_points); "
            "the synthetic dataset cannot be generated without it") from error
    return generate_sample


def _check_sizes(image_size: int, num_points: int, seed: int, num_train: int, num_test: int) -> None:
    problems = []
    from jaxhands.synthetic.generator import MIN_IMAGE_SIZE

    if not isinstance(image_size, (int, np.integer)) or image_size < MIN_IMAGE_SIZE:
        problems.append(f"image_size must be an integer >= {MIN_IMAGE_SIZE} (the generator's smallest), "
                        f"got {image_size!r}")
    if not isinstance(num_points, (int, np.integer)) or num_points < 1:
        problems.append(f"num_points must be an integer >= 1, got {num_points!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed must be an integer >= 0, got {seed!r}")
    if not isinstance(num_train, (int, np.integer)) or num_train < 1:
        problems.append(f"num_train must be an integer >= 1, got {num_train!r}")
    if not isinstance(num_test, (int, np.integer)) or num_test < 0:
        problems.append(f"num_test must be an integer >= 0, got {num_test!r}")
    if problems:
        raise ValueError("invalid synthetic dataset config: " + "; ".join(problems))


class SyntheticHandsConfig(tfds.core.BuilderConfig):
    """Image size, point count, seed, split sizes, background and shared contents; all of
    them name the config."""

    def __init__(self, *, image_size: int = 128, num_points: int = 256, seed: int = 0,
                 num_train: int = 2000, num_test: int = 200, background: str = "textured",
                 num_backgrounds: int = 0, hand_shapes: str = "stb"):
        _check_sizes(image_size, num_points, seed, num_train, num_test)
        if background not in BACKGROUNDS:
            raise ValueError(f"invalid synthetic dataset config: background must be one of {BACKGROUNDS}, "
                             f"got {background!r}")
        if not isinstance(num_backgrounds, (int, np.integer)) or num_backgrounds < 0:
            raise ValueError(f"invalid synthetic dataset config: num_backgrounds must be an integer >= 0, got "
                             f"{num_backgrounds!r}")
        if hand_shapes not in HAND_SHAPES:
            raise ValueError(f"invalid synthetic dataset config: hand_shapes must be one of {HAND_SHAPES}, got "
                             f"{hand_shapes!r}")
        shared = f", {num_backgrounds} shared contents" if num_backgrounds else ""
        shapes = f", {hand_shapes} hand shapes" if hand_shapes != "stb" else ""
        super().__init__(
            name=config_name(image_size=image_size, num_points=num_points, seed=seed,
                             num_train=num_train, num_test=num_test, background=background,
                             num_backgrounds=num_backgrounds, hand_shapes=hand_shapes),
            description=(f"{image_size}x{image_size} images, {num_points} points, seed {seed}, "
                         f"{num_train} train / {num_test} test samples, {background} backgrounds{shared}{shapes}"))
        self.background = background
        self.num_backgrounds = int(num_backgrounds)
        self.hand_shapes = hand_shapes
        self.image_size = int(image_size)
        self.num_points = int(num_points)
        self.seed = int(seed)
        self.num_train = int(num_train)
        self.num_test = int(num_test)


def config_name(*, image_size: int, num_points: int, seed: int, num_train: int, num_test: int,
                background: str = "textured", num_backgrounds: int = 0, hand_shapes: str = "stb") -> str:
    # The defaults (textured, no shared contents, STB-like shapes) keep the original
    # names, so existing datasets stay valid.
    suffix = "" if background == "textured" else f"_bg{background}"
    suffix += f"_contents{num_backgrounds}" if num_backgrounds else ""
    suffix += f"_shapes{hand_shapes}" if hand_shapes != "stb" else ""
    return f"img{image_size}_pts{num_points}_seed{seed}_train{num_train}_test{num_test}{suffix}"


def _generator_kwargs(background: str, num_backgrounds: int = 0, hand_shapes: str = "stb") -> dict[str, Any]:
    # Only a non-default background, shared contents or hand shapes need a
    # SyntheticConfig, so generators that take just (index, seed, image_size,
    # num_points) keep working for the default.
    if background == "textured" and not num_backgrounds and hand_shapes == "stb":
        return {}
    from jaxhands.synthetic.config import SyntheticConfig

    return {"config": SyntheticConfig(background=background, num_backgrounds=int(num_backgrounds),
                                      hand_shapes=hand_shapes)}


# Fields of a dataset with shared contents (SyntheticConfig.num_backgrounds > 0), besides the schema's.
CONTENT_FIELDS = ("content_id", "tag_image")


def _generate_checked(index: int, *, generate_fn: GenerateFn, seed: int, image_size: int,
                      num_points: int, background: str = "textured", num_backgrounds: int = 0,
                      hand_shapes: str = "stb") -> dict[str, Any]:
    """One sample with its metadata, validated against the schema (runs in the workers)."""
    sample = generate_fn(index, seed=seed, image_size=image_size, num_points=num_points,
                         **_generator_kwargs(background, num_backgrounds, hand_shapes))
    where = f"synthetic sample {index} (seed {seed})"
    schema.validate_sample(sample, image_size, num_points, where=where)
    example = {name: sample[name] for name in schema.FEATURES}
    if num_backgrounds:
        missing = [name for name in CONTENT_FIELDS if name not in sample]
        if missing:
            raise schema.SchemaError(f"{where}: shared contents asked for, but the generator gave no {missing}")
        example.update({name: sample[name] for name in CONTENT_FIELDS})
    example["index"] = np.int64(index)
    return example


def _content_features(image_size: int) -> dict[str, Any]:
    return {"content_id": tfds.features.Scalar(dtype=np.int32, doc="shared content (background, skin, light): "
                                                                   "index % num_backgrounds"),
            "tag_image": tfds.features.Tensor(shape=(image_size, image_size, 3), dtype=np.uint8, encoding="zlib",
                                              doc="the content's background alone (Yang & Yao's tag image)")}


class SyntheticHands(tfds.core.ShardBasedBuilder):
    """Synthetic rendered hands in the jaxhands sample schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "First release: schema features as zlib/bytes Tensors plus `index`; "
                 "train = indices [0, num_train), test = [num_train, num_train + num_test).",
    }
    # The default config; any other SyntheticHandsConfig works too (TFDS logs
    # "Using custom data configuration" for those).
    BUILDER_CONFIGS = [SyntheticHandsConfig()]

    def __init__(self, *, config: SyntheticHandsConfig, data_dir: str | os.PathLike,
                 generate_fn: GenerateFn | None = None, workers: int | None = None, **kwargs):
        """generate_fn defaults to jaxhands.synthetic.generate_sample (resolved when
        generating). workers: generation processes; None = all CPUs for datasets of
        at least 64 samples, else 1 (in-process)."""
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._generate_fn = generate_fn
        self._workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        kwargs.setdefault("file_format", "array_record")
        # TFDS refuses a second config object with a registered config's name; the name
        # encodes every field, so the registered one is the same config.
        config = next((c for c in self.BUILDER_CONFIGS if c.name == config.name), config)
        with storage.without_custom_config_warning():
            super().__init__(config=config, data_dir=os.fspath(data_dir), **kwargs)

    # TFDS's default resolves a packaged builder's file through `importlib_resources`,
    # a package TFDS does not declare (and jaxhands does not install); our file is known.
    code_path = epath.Path(__file__)

    def download_and_prepare(self, **kwargs):
        """TFDS's download_and_prepare; the splits share one generation pool and one
        progress bar, both closed here."""
        config = self.builder_config
        self._progress = tqdm.tqdm(total=config.num_train + config.num_test, unit=" samples",
                                   desc=f"generating {DATASET_NAME}/{config.name}")
        try:
            return super().download_and_prepare(**kwargs)
        finally:
            self._progress.close()
            self._progress = None
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    # TFDS prints "Downloading and preparing dataset Unknown size ... to <temporary dir>" and
    # "... downloaded and prepared to <temporary dir>": nothing is downloaded, and the path
    # is not where the data ends up. storage.prepare_atomically logs both ends instead.
    def _log_download_bytes(self):
        pass

    def _log_download_done(self):
        pass

    def _generation_pool(self, workers: int) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the caller may have started JAX's threads.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=storage.exit_with_parent,
                initargs=(os.getpid(),))
        return self._pool

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        index_doc = "sample index i: the sample is generate_sample(i, seed=metadata['seed'])"
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Synthetic hands rendered by jaxhands.synthetic in the jaxhands sample schema "
                "(see jaxhands/data/schema.py): image uint8 [H,W,3]; depth float32 [H,W] metres "
                "(0 = none); mask uint8 [H,W] in {0,1}; keypoints_2d float32 [21,2] pixels "
                "(pixel-centre convention); keypoints_3d float32 [21,3] metres, camera frame "
                "x right y down z forward; visible bool [21]; points float32 [N,3] metres; "
                "intrinsics float32 [3,3]; hand_side int32 (0 left, 1 right); index int64. "
                + config.description),
            features=schema.tfds_features(
                config.image_size, config.num_points,
                extra={"index": tfds.features.Scalar(dtype=np.int64, doc=index_doc),
                       **(_content_features(config.image_size) if config.num_backgrounds else {})}),
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(
                image_size=config.image_size, num_points=config.num_points, seed=config.seed,
                num_train=config.num_train, num_test=config.num_test, background=config.background,
                num_backgrounds=config.num_backgrounds, hand_shapes=config.hand_shapes,
                generator=self._generator_name()),
        )

    def _generator_name(self) -> str:
        fn = self._generate_fn
        if fn is None:
            return "jaxhands.synthetic.generate_sample"
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"

    def _shard_iterators_per_split(self, dl_manager):
        del dl_manager  # nothing to download
        config = self.builder_config
        ranges = {"train": (0, config.num_train)}
        if config.num_test:
            ranges["test"] = (config.num_train, config.num_train + config.num_test)
        # Shard by shard, straight from the generator (see storage.MAX_SHARD_BYTES).
        per_shard = storage.samples_per_shard(config.image_size, config.num_points)
        return {split: [functools.partial(self._generate_examples, first, min(first + per_shard, stop), split)
                        for first in range(start, stop, per_shard)]
                for split, (start, stop) in ranges.items()}

    def _generate_examples(self, start: int, stop: int, split: str):
        config = self.builder_config
        generate = functools.partial(
            _generate_checked, generate_fn=self._generate_fn or default_generate_fn(),
            seed=config.seed, image_size=config.image_size, num_points=config.num_points,
            background=config.background, num_backgrounds=config.num_backgrounds, hand_shapes=config.hand_shapes)
        count = stop - start
        workers = self._workers
        if workers is None:
            workers = (os.cpu_count() or 1) if count >= _MIN_SAMPLES_FOR_POOL else 1
        workers = min(workers, count)
        progress = getattr(self, "_progress", None)  # None: TFDS called us outside download_and_prepare
        samples = (map(generate, range(start, stop)) if workers == 1
                   else _generate_in_pool(self._generation_pool(workers), generate, start, stop, workers))
        for index, example in zip(range(start, stop), samples):
            yield index, example
            if progress is not None:
                progress.update()


def _generate_chunk(generate: Callable[[int], dict], indices: range) -> list[dict]:
    return [generate(index) for index in indices]


def _generate_in_pool(pool: concurrent.futures.Executor, generate: Callable[[int], dict], start: int, stop: int,
                      workers: int):
    """generate(i) for i in [start, stop), in order, computed by the pool's processes.

    At most 2 chunks per worker are in flight, so memory stays bounded when the
    writer is slower than the workers. A worker that dies (e.g. a script without an
    `if __name__ == "__main__":` guard re-running itself under spawn) raises
    BrokenProcessPool instead of hanging.
    """
    chunk = max(1, min(16, (stop - start) // (8 * workers)))
    chunks = iter(range(first, min(first + chunk, stop)) for first in range(start, stop, chunk))
    pending = collections.deque(pool.submit(_generate_chunk, generate, c)
                                for c in itertools.islice(chunks, 2 * workers))
    while pending:
        examples = pending.popleft().result()
        for c in itertools.islice(chunks, 1):
            pending.append(pool.submit(_generate_chunk, generate, c))
        yield from examples


def build_synthetic_dataset(data_dir: str | os.PathLike, *, image_size: int = 128, num_points: int = 256,
                            seed: int = 0, num_train: int = 2000, num_test: int = 200,
                            workers: int | None = None, overwrite: bool = False,
                            generate_fn: GenerateFn | None = None, background: str = "textured",
                            num_backgrounds: int = 0, hand_shapes: str = "stb") -> PrepareResult:
    """Writes the synthetic dataset under `data_dir` (atomically; see storage.prepare_atomically).

    Returns the version directory and whether it was created (False: already complete).
    """
    config = SyntheticHandsConfig(image_size=image_size, num_points=num_points, seed=seed,
                                  num_train=num_train, num_test=num_test, background=background,
                                  num_backgrounds=num_backgrounds, hand_shapes=hand_shapes)

    def make_builder(root: pathlib.Path) -> SyntheticHands:
        return SyntheticHands(config=config, data_dir=root, generate_fn=generate_fn, workers=workers)

    return prepare_atomically(make_builder, data_dir, overwrite=overwrite)


def _check_generator_matches(path: pathlib.Path, generate_fn: GenerateFn, *, seed: int, image_size: int,
                             num_points: int, background: str = "textured", num_backgrounds: int = 0,
                             hand_shapes: str = "stb") -> None:
    """Raises StaleDatasetError if train record 0 differs from a freshly generated sample 0.

    Compares the pose, camera and side (tolerant to last-bit float differences between
    machines), which change whenever the generator's sampling changes.
    """
    stored = load_split(path, "train")[0]
    fresh = generate_fn(0, seed=seed, image_size=image_size, num_points=num_points,
                        **_generator_kwargs(background, num_backgrounds, hand_shapes))
    same = (np.allclose(stored["keypoints_3d"], fresh["keypoints_3d"], atol=1e-5)
            and np.allclose(stored["intrinsics"], fresh["intrinsics"], atol=1e-4)
            and int(stored["hand_side"]) == int(fresh["hand_side"]))
    if not same:
        raise StaleDatasetError(
            f"the synthetic dataset at {path} was made by a different version of the generator "
            "(its sample 0 differs from generate_sample(0) now); delete it or rebuild with "
            "`python -m data_prep synthetic --overwrite ...`")


def ensure_synthetic_dataset(data_dir: str | os.PathLike, *, image_size: int, num_points: int,
                             num_train: int, num_test: int, seed: int, workers: int | None = None,
                             generate_fn: GenerateFn | None = None, verify: bool = True,
                             background: str = "textured", num_backgrounds: int = 0,
                             hand_shapes: str = "stb") -> pathlib.Path:
    """The version directory of the synthetic dataset with this config, built if absent.

    verify: check that an existing dataset still matches the generator (one sample).
    """
    result = build_synthetic_dataset(data_dir, image_size=image_size, num_points=num_points, seed=seed,
                                     num_train=num_train, num_test=num_test, workers=workers,
                                     generate_fn=generate_fn, background=background,
                                     num_backgrounds=num_backgrounds, hand_shapes=hand_shapes)
    if verify and not result.created:
        _check_generator_matches(result.path, generate_fn or default_generate_fn(), seed=seed,
                                 image_size=image_size, num_points=num_points, background=background,
                                 num_backgrounds=num_backgrounds, hand_shapes=hand_shapes)
    return result.path
