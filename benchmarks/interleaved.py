"""Timing two (or more) implementations fairly on a shared machine: the sides alternate
within every round (the order flips each round, so a slow drift of the machine falls on
both), and the reported figures are the medians over rounds - of each side's time and of
the per-round ratio - so one busy moment cannot flip a comparison."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def interleaved_times(runners: dict[str, Callable[[int], None]], steps: int, rounds: int,
                      warmup_steps: int = 1) -> dict[str, list[float]]:
    """{name: [seconds of `steps` steps, one per round]}; each runner(n) runs n steps and
    returns once they are done (block_until_ready). Warm-up (compilation) is untimed."""
    if rounds < 1 or steps < 1:
        raise ValueError(f"interleaved_times: rounds and steps must be >= 1, got {rounds}, {steps}")
    for run in runners.values():
        run(warmup_steps)
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            runners[name](steps)
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """Median over rounds of times[numerator] / times[denominator] (same round)."""
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))


def describe(times: dict[str, list[float]], name: str) -> str:
    values = times[name]
    return (f"median {1000 * statistics.median(values):.1f} ms over {len(values)} rounds "
            f"(min {1000 * min(values):.1f}, max {1000 * max(values):.1f})")
