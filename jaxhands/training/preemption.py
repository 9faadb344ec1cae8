"""Stop requests: end training at a step boundary with a checkpoint, so nothing is lost.

Cluster schedulers announce preemption with SIGTERM, and a researcher stops a run with
Ctrl-C (SIGINT). Either way the loop should finish the step it is in, save a checkpoint
at that step and return, instead of dying between checkpoints.

`train()` then raises `TrainingStopped` (after the checkpoint is written), so a script
that runs several trainings stops too instead of going on to the next; train.py turns
it into exit status 143 (SIGTERM, preemption) or 130 (Ctrl-C).

* Single process: `StopRequests` installs handlers for SIGTERM and SIGINT that only set
  a flag; the loop polls `requested(step)` after every step. A second Ctrl-C raises
  KeyboardInterrupt at once (the usual escape when a step hangs).
* Several processes (jax.distributed): every process must save the same step, so the
  decision comes from JAX's preemption sync manager (enabled by jax.distributed; it
  catches SIGTERM on any host and agrees on a step all hosts reach), asked through
  orbax's `CheckpointManager.reached_preemption`. No Python handler is installed then:
  it would take SIGTERM away from JAX's.

Handlers are installed only from the main thread (Python's rule) and the previous ones
are restored on exit, so `train()` called from a notebook or a test thread behaves as
before.
"""

from __future__ import annotations

import logging
import signal
import threading

import jax

log = logging.getLogger("jaxhands.train")

# Exit statuses a shell reports for a process killed by these signals (128 + number); a
# pod preemption arrives as SIGTERM.
EXIT_STATUS = {"SIGTERM": 128 + signal.SIGTERM, "SIGINT": 128 + signal.SIGINT, "preemption": 128 + signal.SIGTERM}


class TrainingStopped(Exception):
    """Raised by `train()` after it stopped on request and saved the checkpoint at `step`.

    `reason`: 'SIGTERM', 'SIGINT' or 'preemption'; `exit_status`: what a shell reports for
    a process that signal killed (train.py exits with it)."""

    def __init__(self, reason: str, step: int):
        super().__init__(f"stopped by {reason} at step {step}; checkpoint saved. Resume: rerun the same command.")
        self.reason, self.step = reason, step
        self.exit_status = EXIT_STATUS.get(reason, 1)


class StopRequests:
    """Context manager; `requested(step)` returns the signal name ('SIGTERM', 'SIGINT',
    or 'preemption' on a multi-process run) once a stop was asked for, else None."""

    def __init__(self, reached_preemption=None):
        self._reached_preemption = reached_preemption  # step -> bool, multi-process only
        self._signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequests:
        if jax.process_count() == 1 and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self._signal_name == "SIGINT" and name == "SIGINT":
            raise KeyboardInterrupt  # second Ctrl-C: do not wait for the step
        if self._signal_name is None:
            log.warning("%s received: stopping after this step with a checkpoint (rerun the same command "
                        "to resume)%s", name, "; press Ctrl-C again to abort at once" if name == "SIGINT" else "")
        self._signal_name = self._signal_name or name

    def requested(self, step: int) -> str | None:
        if self._signal_name is not None:
            return self._signal_name
        if jax.process_count() > 1 and self._reached_preemption is not None and self._reached_preemption(step):
            return "preemption"
        return None
