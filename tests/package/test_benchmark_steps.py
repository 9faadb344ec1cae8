"""The train-step benchmarks run against the library's current API (they once broke
silently when interface v2 replaced make_optimizer): each script's jaxhands side builds,
compiles and times a few steps at a tiny size. Timings stay in benchmarks/, never here."""

from __future__ import annotations

import re

import pytest

from tests.command_lines import run_script


@pytest.mark.parametrize("script, args", [
    ("benchmarks/train_step_2d3d.py", ["--batch=4", "--steps=1"]),
    ("benchmarks/train_step_rgb3d.py", ["--size=32", "--width=4", "--batch=2", "--steps=1"]),
])
def test_train_step_benchmark_runs(script, args):
    out = run_script(script, *args).stdout
    rate = re.search(r"jaxhands \(jax jit\)\s*:.*?([\d.]+) samples/s|jaxhands \(jit\):\s*([\d.]+) samples/s", out)
    assert rate, out
    assert float(rate.group(1) or rate.group(2)) > 0, out
