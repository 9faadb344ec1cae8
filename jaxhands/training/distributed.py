"""Multi-process start-up through jax.distributed.

Explicit launches pass coordinator address, process count and id (flags of
train.py); `auto` lets jax detect SLURM, Open MPI or a TPU pod. A process that
cannot reach the others fails after `timeout_s` with an error naming the
coordinator instead of hanging.
"""

from __future__ import annotations

import logging
import sys

import jax

log = logging.getLogger("jaxhands.distributed")


def maybe_initialize_distributed(*, coordinator_address=None, num_processes=None, process_id=None,
                                 auto: bool = False, timeout_s: int = 300, heartbeat_timeout_s: int = 100) -> bool:
    explicit = [coordinator_address, num_processes, process_id]
    if any(v is not None for v in explicit):
        if any(v is None for v in explicit):
            raise ValueError("multi-process launch needs all of --coordinator_address, --num_processes and "
                             f"--process_id; got {coordinator_address=}, {num_processes=}, {process_id=}")
        if not 0 <= process_id < num_processes:
            raise ValueError(f"--process_id={process_id} must lie in [0, {num_processes})")
    elif not auto:
        return False
    kwargs = {}
    if coordinator_address is not None:
        kwargs = dict(coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id)
    # XLA's coordination client aborts the whole process (no Python exception) when the
    # others do not show up in time, so say beforehand what a deadline error means.
    print(f"jaxhands: joining {num_processes or '?'} processes at {coordinator_address or 'an auto-detected coordinator'} "
          f"as process {process_id if process_id is not None else '?'}; if the others do not connect within "
          f"{timeout_s}s (or one stops responding for {heartbeat_timeout_s}s later) this process aborts with "
          "DEADLINE_EXCEEDED: check that every process was launched with the same coordinator address.",
          file=sys.stderr, flush=True)
    try:
        jax.distributed.initialize(initialization_timeout=timeout_s, heartbeat_timeout_seconds=heartbeat_timeout_s,
                                   **kwargs)
    except Exception as e:  # re-raised with the launch parameters: jax's own message omits them
        raise RuntimeError(
            f"jax.distributed.initialize failed (coordinator {coordinator_address or 'auto-detected'}, "
            f"{num_processes or '?'} processes, this is process {process_id if process_id is not None else '?'}, "
            f"timeout {timeout_s}s): {e}") from e
    log.info("process %d of %d, %d local / %d global devices", jax.process_index(), jax.process_count(),
             jax.local_device_count(), jax.device_count())
    return True
