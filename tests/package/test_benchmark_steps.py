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
