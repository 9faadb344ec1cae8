"""Run the entry points (train.py, eval.py, sample.py) as a user does, for the methods'
end-to-end tests."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_script(script: str, *args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    """`python script args...` in the repository root on the CPU; asserts exit status 0,
    showing the end of stderr otherwise."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, (script, run.stderr[-3000:])
    return run


def logged_phases(workdir: pathlib.Path) -> list[set[str]]:
    """For each row of <workdir>/metrics.jsonl, the phases whose loss it logs."""
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [{k.split("/")[0] for k in row if k.endswith("/loss")} for row in rows]
