"""The test run's own settings (tests/conftest.py, tests/command_lines.py): what keeps CI
inside its 20 minutes must not be lost silently."""

import os
import pathlib

import pytest

from tests.command_lines import COMPILE_CACHE_VARIABLE, FAST_COMPILE_FLAG, script_env


def test_the_run_shares_one_compilation_cache_and_fast_compiles_with_the_entry_points_it_starts():
    if os.environ.get("JAXHANDS_TEST_COMPILE_CACHE") == "0":
        pytest.skip("the shared compilation cache was turned off (JAXHANDS_TEST_COMPILE_CACHE=0)")
    import jax

    folder = os.environ.get(COMPILE_CACHE_VARIABLE)
    assert folder and pathlib.Path(folder).is_dir(), folder
    assert jax.config.jax_compilation_cache_dir == folder  # this worker's jax reads it
    child = script_env(xla_flags="--xla_force_host_platform_device_count=2")
    assert child[COMPILE_CACHE_VARIABLE] == folder  # so does every entry point a test starts
    assert child["XLA_FLAGS"].split().count(FAST_COMPILE_FLAG) == 1
    assert FAST_COMPILE_FLAG in os.environ["XLA_FLAGS"].split()
