"""Shared test fixtures."""

from __future__ import annotations

import os
import pathlib

import pytest


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
