"""Which code trained a workdir: one line per start or resume in `provenance.jsonl`,

    {"start_step": 0, "time": "2026-12-07T10:00:11+00:00", "argv": ["train.py", "--config=..."],
     "commit": "71e92af...", "dirty": false, "jaxhands": "0.1.0", "jax": "0.8.1", "host": "vm"}

so a results table built from the workdir later can name the commit and the command of
each run, whatever the checkout has moved on to since. `commit` / `dirty` come from the
git checkout the package was imported from (an editable install or a clone on
PYTHONPATH); for an installed wheel they are None and `jaxhands` (the distribution's
version) is what identifies the code. `dirty` is True when tracked files differed from
the commit: the numbers then belong to uncommitted code.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import platform
import subprocess
import sys
from typing import Sequence

from jaxhands.configs.workdir_record import read_json_lines

PROVENANCE_FILE = "provenance.jsonl"
_PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _git(*args: str) -> str | None:
    if not (_PACKAGE_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(_PACKAGE_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git binary, or a hung filesystem
        return None
    return out.stdout if out.returncode == 0 else None


def code_version() -> dict:
    """The commit (None outside a git checkout), whether tracked files differ from it, and
    the jaxhands and jax versions."""
    import importlib.metadata

    import jax

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    try:
        version = importlib.metadata.version("jaxhands")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None,
            "jaxhands": version, "jax": jax.__version__}


def record_provenance(workdir: str | pathlib.Path, start_step: int, argv: Sequence[str] | None = None, *,
                      fresh: bool = False) -> dict:
    """Appends this start (start_step 0) or resume's line; returns it. argv defaults to
    the process's command line. fresh: a run starting with no checkpoint, whose line
    replaces the file (earlier lines described attempts that left nothing)."""
    entry = {"start_step": int(start_step),
             "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "argv": list(sys.argv if argv is None else argv), **code_version(), "host": platform.node()}
    with open(pathlib.Path(workdir) / PROVENANCE_FILE, "w" if fresh else "a") as f:
        f.write(json.dumps(entry) + "\n")
    return entry


def read_provenance(workdir: str | pathlib.Path) -> list[dict]:
    """Every recorded start and resume, oldest first; [] for a workdir from before the record."""
    return read_json_lines(pathlib.Path(workdir) / PROVENANCE_FILE, record="provenance record",
                           expected="one JSON object per line, as record_provenance writes")
