"""Shared test fixtures, and the test processes' XLA settings."""

from __future__ import annotations

import os
import pathlib

import pytest

from tests.command_lines import compile_fast_in_this_process, share_compilations_across_processes

# Tests run tiny shapes for a few steps, so XLA's CPU code generation is most of their time;
# level 0 skips LLVM's optimisation passes. Set before anything imports jax (this file is
# imported first, in every xdist worker), so the pytest processes compile like the entry
# points the tests start (tests/command_lines.py). Values move by float reassociation only
# (the pinned losses are recorded at this level: tests/training/pinned_losses.py).
compile_fast_in_this_process()
# ... and a compiled program is kept on disk for the run, so the workers and the entry points
# they start do not compile the same one twice (tests/command_lines.py).
share_compilations_across_processes()


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """Path of the real data folder (../shared/data), from JAXHANDS_SHARED_DATA.

    CI sets the variable and .ci/run fails if the folder is missing; elsewhere the
    tests that need it are skipped with this reason.
    """
    root = os.environ.get("JAXHANDS_SHARED_DATA")
    if not root:
        pytest.skip("JAXHANDS_SHARED_DATA is not set (point it at ../shared/data to run real-data tests)")
    path = pathlib.Path(root)
    if not path.is_dir():
        pytest.fail(f"JAXHANDS_SHARED_DATA={root!r} is not a directory")
    return path
