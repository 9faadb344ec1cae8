"""Input pipeline throughput: samples/s of augmented 128x128 batches of 64, and build rate.

    python benchmarks/input_pipeline.py [--data-dir data_cache] [--num-train 2000] [--num-test 200]
                                        [--steps 20] [--workers 2]

Builds the synthetic dataset first if it is absent (reporting the build rate), then
times, after one warm-up batch each:
  - the per-sample parts: record read + decode, augmentation;
  - the pipeline without augmentation (read + batch);
  - the pipeline with augmentation, in-process (0 threads = the calling thread only),
    with 2 grain threads, and with --workers spawned worker processes.
Ratios are against the in-process augmented pipeline. Numbers on a shared machine
are noisy: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]

from jaxhands.data.augment import AugmentConfig, augment_with_config  # noqa: E402
from jaxhands.data.pipeline import make_train_iterator  # noqa: E402
from jaxhands.data.storage import load_split  # noqa: E402
from jaxhands.data.synthetic_builder import build_synthetic_dataset  # noqa: E402

IMAGE_SIZE, NUM_POINTS, BATCH = 128, 256, 64
# Spurr'18-style augmentation, every kind switched on.
AUGMENT = AugmentConfig(rotation_max_deg=45.0, scale_range=(1.0, 1.2), shift_max=0.1, flip_prob=0.5, hue_max=0.1)


def _load() -> str:
    return "load average %.1f %.1f %.1f" % os.getloadavg()


def _time_per_call(fn, repeats: int) -> float:
    fn(0)
    start = time.perf_counter()
    for i in range(repeats):
        fn(i + 1)
    return (time.perf_counter() - start) / repeats


def _pipeline_rate(source, steps: int, **kwargs) -> tuple[float, float]:
    """(first batch seconds, samples/s over the next `steps` batches)."""
    start = time.perf_counter()
    with make_train_iterator(source, global_batch_size=BATCH, seed=0, num_steps=steps + 1, process_index=0,
                             process_count=1, **kwargs) as iterator:
        next(iterator)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps):
            next(iterator)
        return first, steps * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO / "data_cache"))
    parser.add_argument("--num-train", type=int, default=2000)
    parser.add_argument("--num-test", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20, help="timed batches per configuration")
    parser.add_argument("--workers", type=int, default=2, help="grain worker processes for the last row")
    args = parser.parse_args()

    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    print(f"machine: {os.cpu_count()} CPUs, {_load()} (shared: figures are noisy)")
    start = time.perf_counter()
    built = build_synthetic_dataset(args.data_dir, image_size=IMAGE_SIZE, num_points=NUM_POINTS, seed=0,
                                    num_train=args.num_train, num_test=args.num_test)
    if built.created:
        seconds = time.perf_counter() - start
        total = args.num_train + args.num_test
        print(f"built {total} samples at {IMAGE_SIZE} px in {seconds:.1f} s = {total / seconds:.1f} samples/s "
              f"({os.cpu_count()} generation processes)  [{_load()}]")
    else:
        print(f"reusing {built.path}")
    source = load_split(built.path, "train")

    read = _time_per_call(lambda i: source[i % len(source)], 200)
    records = [source[i] for i in range(16)]
    rng = np.random.default_rng(0)
    augment = _time_per_call(lambda i: augment_with_config(records[i % 16], AUGMENT, rng), 100)
    print(f"per sample: read+decode {read * 1e3:.2f} ms, augmentation {augment * 1e3:.2f} ms "
          f"(bound ~{1 / (read + augment):.0f} samples/s per core)  [{_load()}]")

    rows = [("no augmentation, in-process", dict(num_threads=0)),
            ("augmented, in-process", dict(num_threads=0, augment_config=AUGMENT)),
            ("augmented, 2 threads", dict(num_threads=2, augment_config=AUGMENT)),
            (f"augmented, {args.workers} worker processes", dict(num_threads=1, num_workers=args.workers,
                                                               augment_config=AUGMENT))]
    reference = None
    print(f"\npipeline, batch {BATCH} at {IMAGE_SIZE} px, {args.steps} timed batches each:")
    for name, kwargs in rows:
        first, rate = _pipeline_rate(source, args.steps, **kwargs)
        if name == "augmented, in-process":
            reference = rate
        ratio = f"  x{rate / reference:.2f} vs in-process" if reference and name != "augmented, in-process" else ""
        print(f"  {name:38s} {rate:7.1f} samples/s  (first batch {first:.1f} s){ratio}  [{_load()}]")


if __name__ == "__main__":
    main()
