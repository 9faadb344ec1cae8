"""SIGTERM / Ctrl-C end training after the current step with a checkpoint at that step."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import jax
import numpy as np
import pytest

from jaxhands.training.checkpoints import Checkpointer
from jaxhands.training.loop import train
from jaxhands.training.preemption import TrainingStopped
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("datasets"))


def logged_steps(workdir: pathlib.Path) -> list[int]:
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


def signal_when_logged(workdir: pathlib.Path, send, min_records: int = 1, timeout: float = 300.0):
    """Calls `send()` from a thread once `workdir`'s metrics log has `min_records` records."""
    def watch():
        deadline = time.time() + timeout
        while time.time() < deadline and len(logged_steps(workdir)) < min_records:
            time.sleep(0.02)
        send()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def leaves(params):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(params))]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_after_the_step_with_a_checkpoint_there(tmp_path, data_dir, signum):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")
    config = tiny_config(data_dir, num_train_steps=100_000, log_every=1, checkpoint_every=100_000)
    workdir = tmp_path / "stopped"
    handler_before = signal.getsignal(signum)
    watcher = signal_when_logged(workdir, lambda: os.kill(os.getpid(), signum), min_records=3)
    with pytest.raises(TrainingStopped) as stopped:
        train(config, workdir, progress=False)
    watcher.join()
    assert stopped.value.reason == signal.Signals(signum).name
    assert stopped.value.exit_status == 128 + signum
    k = stopped.value.step
    assert 3 <= k < 100_000
    assert signal.getsignal(signum) == handler_before  # our handlers are gone again
    # The checkpoint is at the stop step (not a checkpoint_every boundary) and holds exactly
    # the state of k uninterrupted steps.
    checkpointer = Checkpointer(workdir)
    assert checkpointer.latest_step() == k
    checkpointer.close()
    reference = train(config, tmp_path / "reference", stop_after=k, progress=False)
    restored = train(config, workdir, stop_after=0, progress=False)  # restores, trains nothing
    assert int(restored.state.step) == k
    for a, b in zip(leaves(restored.state.params), leaves(reference.state.params)):
        np.testing.assert_array_equal(a, b)
    # Resuming continues from k.
    resumed = train(config, workdir, stop_after=2, progress=False)
    assert int(resumed.state.step) == k + 2


def test_train_py_exits_143_on_sigterm_and_resumes(tmp_path, data_dir):
    env = script_env(JAXHANDS_DATA_DIR=str(data_dir))
    workdir = tmp_path / "run"
    command = [sys.executable, "train.py", "--config", "tests/training/tiny_train_config.py", "--workdir",
               str(workdir), "--progress=false", "--config.log_every=1", "--config.checkpoint_every=100000"]
    proc = subprocess.Popen([*command, "--config.num_train_steps=100000"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watcher = signal_when_logged(workdir, proc.terminate, min_records=2)
    _, err = proc.communicate(timeout=300)
    watcher.join()
    assert proc.returncode == 143, err[-3000:]
    checkpointer = Checkpointer(workdir)
    step = checkpointer.latest_step()
    checkpointer.close()
    assert step is not None and step >= 2
    assert f"stopped by SIGTERM at step {step}; checkpoint saved" in err
    # The same command (shorter schedule) resumes there and finishes normally.
    done = subprocess.run([*command, f"--config.num_train_steps={step + 1}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming from checkpoint at step {step}" in done.stderr
