"""A dataset build killed outright (kill -9) leaves nothing running and nothing behind
(issue 14, item 2): its spawned generation workers end themselves once their parent is
gone, and the next build of that dataset removes the dead build's temporary directory at
once (its owner file names a process that no longer exists) and builds it."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from jaxhands.data import storage
from jaxhands.data.synthetic_builder import build_synthetic_dataset
from tests.command_lines import script_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIZE = dict(image_size=32, num_points=32, num_train=200, num_test=8)

SLOW_BUILD = textwrap.dedent("""
    import sys, time
    from jaxhands.data.synthetic_builder import build_synthetic_dataset
    from jaxhands.synthetic import generate_sample

    def slow(index, **kwargs):  # picklable by reference: the workers re-import this script
        time.sleep(0.2)
        return generate_sample(index, **kwargs)

    if __name__ == "__main__":
        build_synthetic_dataset(sys.argv[1], workers=2, generate_fn=slow, **{SIZE!r})
""").replace("{SIZE!r}", repr(SIZE))


def _children(pid: int) -> list[int]:
    out = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper, it runs nothing)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_kill_9_during_a_build_leaves_no_process_and_the_next_build_cleans_up(tmp_path):
    script = tmp_path / "slow_build.py"
    script.write_text(SLOW_BUILD)
    data_dir = tmp_path / "data"
    env = script_env()
    build = subprocess.Popen([sys.executable, str(script), str(data_dir)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        workers: list[int] = []
        while time.time() < deadline and build.poll() is None:
            tmp_dirs = list(data_dir.glob(".tmp-*")) if data_dir.exists() else []
            workers = _children(build.pid)
            if tmp_dirs and len(workers) >= 2:
                break
            time.sleep(0.1)
        assert build.poll() is None and tmp_dirs and len(workers) >= 2, "the build never got under way"
        time.sleep(1.0)  # the workers are generating
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
    deadline = time.time() + 15
    while time.time() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers), "generation workers outlived their killed parent"
    stale = list(data_dir.glob(".tmp-*"))
    assert len(stale) == 1 and (stale[0] / "owner").exists()

    result = build_synthetic_dataset(data_dir, workers=1, **SIZE)
    assert result.created and storage.is_prepared(result.path)
    assert not list(data_dir.glob(".tmp-*")), "the dead build's temporary directory is still there"


def test_a_live_or_foreign_build_keeps_its_temporary_directory(tmp_path):
    import socket

    live = tmp_path / ".tmp-synthetic_hands-live"
    foreign = tmp_path / ".tmp-synthetic_hands-foreign"
    for directory, owner in ((live, f"{socket.gethostname()} {os.getpid()}"), (foreign, "another-host 1")):
        directory.mkdir()
        (directory / "owner").write_text(owner)
    storage._remove_stale_tmp_dirs(tmp_path, "synthetic_hands")
    assert live.exists() and foreign.exists()
