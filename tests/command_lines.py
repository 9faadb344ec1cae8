"""Run the entry points (train.py, eval.py, sample.py, data_prep) as a user does, for the
end-to-end tests: one environment for every child process (`script_env`)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The entry-point tests run tiny shapes for a few steps, so XLA's CPU code generation is
# most of their time; level 0 skips LLVM's optimisations (the dVAE synthesis train.py
# test: 28.9 -> 18.3 s on 2 cores). Results move by floating-point reordering only. The
# pytest processes compile at the same level (tests/conftest.py).
FAST_COMPILE_FLAG = "--xla_backend_optimization_level=0"


def compile_fast_in_this_process() -> None:
    """Adds FAST_COMPILE_FLAG to this process's XLA_FLAGS (once); must run before jax starts
    its backend (tests/conftest.py, the pinned-loss recorder)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if FAST_COMPILE_FLAG not in flags.split():
        os.environ["XLA_FLAGS"] = " ".join(f for f in (flags, FAST_COMPILE_FLAG) if f)


# One persistent XLA compilation cache for a whole test run, shared by the pytest workers and
# every entry point they start: the end-to-end tests compile the same programs again in each
# process (train.py's eval step in eval.py, a config's step in the test that runs it in-process
# and the one that runs its command line). JAX keys an entry by the program and the compile
# options, so a hit is the executable a fresh compile would give; the values cannot move.
COMPILE_CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
# Programs that compile faster than this are not worth a disk write and a read.
COMPILE_CACHE_MIN_SECONDS = "0.2"


def share_compilations_across_processes() -> pathlib.Path | None:
    """Points this process's JAX (and, through the environment, every child's) at one
    compilation cache for the test run, unless the caller set one: the first process
    (pytest's controller, before its xdist workers start) creates a temporary folder and
    removes it when it exits; the workers and the entry points inherit the variable. Returns
    the folder this process created, or None. Must run before jax is imported.
    JAXHANDS_TEST_COMPILE_CACHE=0 turns it off (to time the tests without it)."""
    if os.environ.get(COMPILE_CACHE_VARIABLE) or os.environ.get("JAXHANDS_TEST_COMPILE_CACHE") == "0":
        return None
    import atexit
    import shutil
    import tempfile

    folder = pathlib.Path(tempfile.mkdtemp(prefix="jaxhands-test-xla-cache-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[COMPILE_CACHE_VARIABLE] = str(folder)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", COMPILE_CACHE_MIN_SECONDS)
    return folder


def script_env(*, xla_flags: str = "", fast_compile: bool = True, **variables: str) -> dict[str, str]:
    """The environment of an entry point started by a test: this checkout importable, the
    CPU backend, fast XLA compilation (`fast_compile=False`: XLA's default optimisation, for
    a process whose run time, not its compile time, dominates), plus `xla_flags` (e.g. a host
    device count) and `variables` on top of the test process's own."""
    inherited = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if f != FAST_COMPILE_FLAG)
    flags = " ".join(f for f in (inherited, FAST_COMPILE_FLAG if fast_compile else "", xla_flags) if f)
    return dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu", XLA_FLAGS=flags, **variables)


def run_script(script: str, *args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    """`python script args...` in the repository root on the CPU; asserts exit status 0,
    showing the end of stderr otherwise."""
    run = subprocess.run([sys.executable, script, *args], cwd=ROOT, env=script_env(), capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, (script, run.stderr[-3000:])
    return run


def load_benchmark(name: str):
    """benchmarks/<name>.py as a module (the folder is scripts, not a package), for tests of
    the functions a benchmark defines. The folder goes on sys.path, as when a script runs,
    for the benchmarks that import a sibling (dvae_zu.py: dvae_synthesis, results_file)."""
    import importlib.util
    import sys

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.append(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def logged_phases(workdir: pathlib.Path) -> list[set[str]]:
    """For each row of <workdir>/metrics.jsonl, the phases whose loss it logs."""
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [{k.split("/")[0] for k in row if k.endswith("/loss")} for row in rows]


def assert_scores_another_dataset(workdir: pathlib.Path, data_dir: pathlib.Path, num_test: int = 8) -> dict:
    """Issue 18's train-on-A / test-on-B for any method family: builds B (other hands, seed
    7, the run's frame size and point count) and scores the run on B's test split through
    `evaluate_workdir(dataset=B)` (what `eval.py --dataset` calls): the result names B and
    counts B's test hands. Nothing is written (the figures cost CI time); where the files
    go is tested once, in tests/evaluation/test_cross_dataset.py."""
    import numpy as np

    from jaxhands import evaluate_workdir, load_config
    from jaxhands.data import ensure_synthetic_dataset
    from jaxhands.training.experiment import stored_image_size

    config = load_config(workdir)
    other = ensure_synthetic_dataset(data_dir, image_size=stored_image_size(config), num_points=config.num_points,
                                     num_train=8, num_test=num_test, seed=7, background=config.synthetic_background,
                                     num_backgrounds=config.synthetic_num_backgrounds)
    result = evaluate_workdir(workdir, dataset=str(other), write=False)
    assert result["dataset"] == str(other) and result["trained_on"] == config.dataset, result
    assert result["num_samples"] == num_test and np.isfinite(result["mean_epe_mm"]), result
    return result
