"""Synthetic generator speed: samples/s on one core at 64/128/256 px, and per-stage times.

    python benchmarks/synthetic_generator.py [--samples 200] [--sizes 64 128 256]

Reports wall-clock and process CPU time (the CPU time is the better single-core figure
on a shared machine: it excludes time spent waiting for other processes). Set
OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1 for a strictly single-threaded run; the
generator itself makes no BLAS calls.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from jaxhands.synthetic import appearance, generate_sample, generator, render

TARGET_SAMPLES_PER_S = 200.0  # at 128 x 128 on one core


class StageClock:
    """Accumulates wall and CPU seconds per named stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name, function, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
        return result


def _rgb(rng, scene, depth, ids):
    normals, hand_pixels = render.hand_pixel_normals(depth, ids, scene.capsules, scene.intrinsics)
    return appearance.compose_image(rng, *depth.shape, hand_pixels, normals, (1.0, 6.0))


def stage_times(size: int, count: int, seed: int = 0) -> StageClock:
    """The stages of generate_sample timed separately (same work, same order)."""
    clock = StageClock()
    for index in range(count):
        scene = clock.run("pose + camera", generator.sample_scene, index, seed=seed, image_size=size)
        depth, ids = clock.run("render depth", render.render_depth, scene.capsules, scene.intrinsics, size, size)
        clock.run("rgb", _rgb, np.random.default_rng([seed, index, 1]), scene, depth, ids)
        clock.run("points", generator.surface_points, np.random.default_rng([seed, index, 2]), scene, depth, 256)
    return clock


def full_rates(size: int, count: int, blocks: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """generate_sample rates (samples/s) by wall clock and by CPU time, one per block."""
    generate_sample(0, seed=seed, image_size=size)  # warm-up
    per_block = max(1, count // blocks)
    wall_rates, cpu_rates = [], []
    for block in range(blocks):
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(block * per_block, (block + 1) * per_block):
            generate_sample(index, seed=seed, image_size=size)
        wall_rates.append(per_block / (time.perf_counter() - wall))
        cpu_rates.append(per_block / (time.process_time() - cpu))
    return np.array(wall_rates), np.array(cpu_rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=6, help="timed blocks per size (median and best reported)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    args = parser.parse_args()
    print(f"synthetic generator, one process, {args.samples} samples per size in {args.blocks} blocks, 256 points; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine: noisy numbers; "
          "CPU-time rates exclude waiting for other processes, 'best' is the least disturbed block)")
    for size in args.sizes:
        wall_rates, cpu_rates = full_rates(size, args.samples, args.blocks)
        clock = stage_times(size, args.samples // 2)
        stages = ", ".join(f"{name} {2e3 * t / args.samples:.2f}" for name, t in clock.cpu.items())
        print(f"{size:4d} px: samples/s wall median {np.median(wall_rates):6.1f} | CPU median "
              f"{np.median(cpu_rates):6.1f}, best {cpu_rates.max():6.1f}")
        print(f"          CPU ms/sample by stage: {stages}")
        if size == 128:
            print(f"          target >= {TARGET_SAMPLES_PER_S:.0f} samples/s at 128 px: median CPU rate is "
                  f"{np.median(cpu_rates) / TARGET_SAMPLES_PER_S:.2f}x the target")


if __name__ == "__main__":
    main()
