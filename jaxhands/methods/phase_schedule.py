"""Which phase of a method trains at each global step, decided on the host.

A schedule is a list of stages, each a cyclic pattern of phase indices run for a number
of steps (the last stage runs until training ends):

    alternating(3)                         # 0 1 2 0 1 2 ...  (Spurr et al. Alg. 1)
    staged([((0,), 10_000),                # pose VAE alone for 10k steps,
            ((1, 2), 10_000),              # then discriminator / generator alternately,
            ((3,), None)])                 # then the joint phase until the end

`index(step)` is plain integer arithmetic: the loop picks the compiled phase without a
device round-trip, and the data layer counts how many batches each named stream has
served before any step (`count_before`) to resume exactly. `traced(step)` gives the same
choice as a traceable function, for the single-function `lax.switch` step used in tests.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Stage:
    pattern: tuple[int, ...]  # phase indices, cycled through one per step
    num_steps: int | None  # None: until training ends (last stage only)


@dataclasses.dataclass(frozen=True)
class PhaseSchedule:
    stages: tuple[Stage, ...]

    def __post_init__(self):
        if not self.stages:
            raise ValueError("PhaseSchedule needs at least one stage")
        for k, stage in enumerate(self.stages):
            if not stage.pattern:
                raise ValueError(f"PhaseSchedule stage {k}: empty phase pattern")
            if stage.num_steps is None and k != len(self.stages) - 1:
                raise ValueError(f"PhaseSchedule stage {k}: only the last stage may run until the end (num_steps None)")
            if stage.num_steps is not None and stage.num_steps <= 0:
                raise ValueError(f"PhaseSchedule stage {k}: num_steps must be positive, got {stage.num_steps}")

    @property
    def num_phases_used(self) -> int:
        return 1 + max(max(s.pattern) for s in self.stages)

    def _starts(self) -> list[int]:
        starts, at = [], 0
        for stage in self.stages:
            starts.append(at)
            at += stage.num_steps or 0
        return starts

    @property
    def stage_ends(self) -> tuple[int, ...]:
        """The global steps at which a stage other than the last ends (the loop checkpoints
        and keeps them: a later stage can restart from, or be judged at, a stage's end)."""
        return tuple(self._starts()[1:])

    def stage_at(self, step: int) -> int:
        """Index of the stage that holds global `step` (steps past a finite last stage stay in it)."""
        starts = self._starts()
        k = int(np.searchsorted(np.asarray(starts), int(step), side="right")) - 1
        return max(0, min(k, len(self.stages) - 1))

    def index(self, step: int) -> int:
        """The phase trained at global `step` (a Python int; no JAX op)."""
        k = self.stage_at(step)
        stage = self.stages[k]
        return stage.pattern[(int(step) - self._starts()[k]) % len(stage.pattern)]

    def indices(self, steps) -> np.ndarray:
        """Vectorised `index` over an integer array of steps (numpy)."""
        steps = np.asarray(steps, np.int64)
        starts = np.asarray(self._starts(), np.int64)
        k = np.clip(np.searchsorted(starts, steps, side="right") - 1, 0, len(self.stages) - 1)
        out = np.empty(steps.shape, np.int64)
        for j, stage in enumerate(self.stages):
            here = k == j
            out[here] = np.asarray(stage.pattern, np.int64)[(steps[here] - starts[j]) % len(stage.pattern)]
        return out

    def count_before(self, step: int, phases: Sequence[int]) -> int:
        """How many steps in [0, step) run one of `phases`: a stream's position at `step`."""
        wanted = set(int(p) for p in phases)
        total, starts = 0, self._starts()
        for j, stage in enumerate(self.stages):
            begin = starts[j]
            last = j == len(self.stages) - 1  # the last stage continues past its num_steps
            end = step if last else min(step, begin + stage.num_steps)
            n = max(0, end - begin)
            full, rest = divmod(n, len(stage.pattern))
            total += full * sum(p in wanted for p in stage.pattern)
            total += sum(p in wanted for p in stage.pattern[:rest])
        return total

    def traced(self, step) -> jnp.ndarray:
        """The same choice as a traceable int32 (for `lax.switch`)."""
        step = jnp.asarray(step, jnp.int32)
        starts = self._starts()
        out = jnp.zeros((), jnp.int32)
        for j, stage in enumerate(self.stages):
            pattern = jnp.asarray(stage.pattern, jnp.int32)
            here = pattern[(step - starts[j]) % len(stage.pattern)]
            out = here if j == 0 else jnp.where(step >= starts[j], here, out)
        return out


def single() -> PhaseSchedule:
    """One phase, every step."""
    return PhaseSchedule((Stage((0,), None),))


def alternating(num_phases: int) -> PhaseSchedule:
    """Phases 0, 1, ..., n-1, 0, 1, ... one per step."""
    return PhaseSchedule((Stage(tuple(range(num_phases)), None),))


def staged(stages: Sequence[tuple[Sequence[int], int | None]]) -> PhaseSchedule:
    """Stages of (phase pattern, steps); the last stage's steps may be None (until the end)."""
    return PhaseSchedule(tuple(Stage(tuple(int(p) for p in pattern), n) for pattern, n in stages))
