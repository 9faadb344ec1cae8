"""The train-step benchmarks run against the library's current API (they once broke
silently when interface v2 replaced make_optimizer): each script's jaxhands side builds,
compiles and times a few steps at a tiny size. Timings stay in benchmarks/, never here."""

from __future__ import annotations

import re

import pytest

from tests.command_lines import run_script


@pytest.mark.parametrize("script, args", [
    ("benchmarks/train_step_2d3d.py", ["--batch=4", "--steps=1"]),
    ("benchmarks/train_step_rgb3d.py", ["--size=32", "--width=4", "--batch=2", "--steps=1", "--conv", "xla", "im2col"]),
])
def test_train_step_benchmark_runs(script, args):
    out = run_script(script, *args).stdout
    rates = re.findall(r"jaxhands \((?:jax )?jit(?:, resnet_lowering=\w+)?\)\s*:\s*([\d.]+) samples/s", out)
    assert len(rates) == (2 if "im2col" in args else 1), out
    assert all(float(r) > 0 for r in rates), out


def test_conv_lowering_benchmark_checks_both_sides_agree_and_times_them():
    out = run_script("benchmarks/conv_lowering.py", "--size=32", "--batch=2", "--width=4", "--rounds=1",
                     "--steps=1").stdout
    assert re.search(r"trunk im2col / xla: [\d.]+", out), out
    assert len(re.findall(r"ratio [\d.]+", out)) == 11, out  # the 11 distinct convolution shapes


def test_every_benchmarks_jaxhands_import_resolves():
    """Each `from jaxhands.X import Y` in benchmarks/*.py names something that exists (the
    scripts import lazily, inside functions, so nothing else would notice a rename)."""
    import ast
    import importlib
    import pathlib

    missing = []
    for path in sorted((pathlib.Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxhands"):
                module = importlib.import_module(node.module)
                missing += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names
                            if not hasattr(module, alias.name) and not _is_submodule(node.module, alias.name)]
    assert not missing, missing


def _is_submodule(package: str, name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except ModuleNotFoundError:  # `package` is a module, not a package
        return False


def test_interleaved_timing_alternates_the_sides_and_takes_median_ratios():
    from tests.command_lines import load_benchmark

    interleaved = load_benchmark("interleaved")
    calls = []
    runners = {name: (lambda n, name=name: calls.append((name, n))) for name in ("a", "b")}
    times = interleaved.interleaved_times(runners, steps=5, rounds=3, warmup_steps=2)
    # Warm-up once each, then the order flips every round.
    assert calls == [("a", 2), ("b", 2), ("a", 5), ("b", 5), ("b", 5), ("a", 5), ("a", 5), ("b", 5)]
    assert [len(v) for v in times.values()] == [3, 3]
    # One busy round (b's 10 s) does not move the median ratio.
    assert interleaved.median_ratio({"a": [1.0, 1.0, 1.0], "b": [2.0, 10.0, 2.2]}, "b", "a") == 2.2
    with pytest.raises(ValueError, match="rounds"):
        interleaved.interleaved_times(runners, steps=1, rounds=0)
