"""Data parallelism gives the parameters of single-device training (issue: pod-scale).

Each run is a subprocess because the number of host devices is fixed when JAX starts.
"""

import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from jaxhands.training.experiment import build_experiment
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("parallel_data")
    build_experiment(tiny_config(d))  # builds the tiny synthetic dataset once
    return d


def run(args, devices, env_extra=None, timeout=240):
    env = script_env(xla_flags=f"--xla_force_host_platform_device_count={devices}", **(env_extra or {}))
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def train_params(data_dir, workdir, parallel, devices, out):
    run(["-m", "tests.training.run_training", "--data-dir", str(data_dir), "--workdir", str(workdir),
         "--parallel", parallel, "--out", str(out)], devices)
    loaded = np.load(out)
    assert int(loaded["devices"]) == devices
    return {k: loaded[k] for k in loaded.files if k != "devices"}


def assert_same_params(a, b, rtol=2e-4, atol=2e-6):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


def test_mesh_and_pmap_on_8_devices_match_one_device(data_dir, tmp_path):
    one = train_params(data_dir, tmp_path / "one", "mesh", 1, tmp_path / "one.npz")
    mesh8 = train_params(data_dir, tmp_path / "mesh8", "mesh", 8, tmp_path / "mesh8.npz")
    pmap8 = train_params(data_dir, tmp_path / "pmap8", "pmap", 8, tmp_path / "pmap8.npz")
    # The same global batch gives the same parameters on 1 and 8 devices, both ways.
    assert_same_params(one, mesh8)
    assert_same_params(one, pmap8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_two_processes(workdir, data_dir, *extra_args):
    port = free_port()
    env = script_env(xla_flags="--xla_force_host_platform_device_count=1", JAXHANDS_DATA_DIR=str(data_dir))
    return [subprocess.Popen(
        [sys.executable, "train.py", "--config", "tests/training/tiny_train_config.py", "--workdir", str(workdir),
         "--progress=false", "--coordinator_address", f"127.0.0.1:{port}", "--num_processes", "2",
         "--process_id", str(i), "--distributed_timeout_s", "60", *extra_args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]


def launch_two_processes(workdir, data_dir, steps, timeout=300):
    procs = start_two_processes(workdir, data_dir, f"--config.num_train_steps={steps}")
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-4000:]


def checkpoint_params(workdir, data_dir):
    """The latest checkpoint restored as a single-process run would (topology changes:
    saved by 2 processes, restored by 1)."""
    import jax

    from jaxhands.training import sharding
    from jaxhands.training.checkpoints import Checkpointer
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import initial_state, restore_latest

    config = tiny_config(data_dir)
    checkpointer = Checkpointer(workdir)
    state = restore_latest(checkpointer, initial_state(build_experiment(config), config, sharding.make_mesh()))
    checkpointer.close()
    flat = {jax.tree_util.keystr(p): np.asarray(v)
            for p, v in jax.tree_util.tree_leaves_with_path(jax.device_get(state.params))}
    return int(state.step), flat


def test_two_processes_match_one_and_resume(data_dir, tmp_path):
    single = train_params(data_dir, tmp_path / "single", "mesh", 1, tmp_path / "single.npz")  # 6 steps
    launch_two_processes(tmp_path / "multi", data_dir, steps=3)
    step, _ = checkpoint_params(tmp_path / "multi", data_dir)
    assert step == 3
    launch_two_processes(tmp_path / "multi", data_dir, steps=6)  # resumes at 3
    step, multi = checkpoint_params(tmp_path / "multi", data_dir)
    assert step == 6
    assert_same_params(single, multi)


def test_sigterm_to_one_process_stops_both_at_one_saved_step(data_dir, tmp_path):
    """A pod preemption: one host gets SIGTERM; JAX's preemption sync manager makes every
    process stop at the same step, and that step is checkpointed."""
    workdir = tmp_path / "multi"
    procs = start_two_processes(workdir, data_dir, "--config.num_train_steps=100000", "--config.log_every=1",
                                "--config.checkpoint_every=100000")
    metrics, deadline = workdir / "metrics.jsonl", time.time() + 240
    while time.time() < deadline and not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    procs[1].terminate()
    errs = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [143, 143], errs[0][-3000:] + errs[1][-3000:]
    step, _ = checkpoint_params(workdir, data_dir)
    assert step >= 2
    for err in errs:
        assert f"stopped by preemption at step {step}; checkpoint saved" in err


def test_missing_process_fails_with_clear_timeout(data_dir, tmp_path):
    port = free_port()
    env = script_env(JAXHANDS_DATA_DIR=str(data_dir))
    proc = subprocess.run(
        [sys.executable, "train.py", "--config", "tests/training/tiny_train_config.py", "--workdir", str(tmp_path),
         "--progress=false", "--coordinator_address", f"127.0.0.1:{port}", "--num_processes", "2",
         "--process_id", "1", "--distributed_timeout_s", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f"joining 2 processes at 127.0.0.1:{port} as process 1" in proc.stderr
    assert "DEADLINE_EXCEEDED" in proc.stderr
