"""A damaged latest checkpoint (issue 14, item 1): evaluation and training fall back to the
newest step that restores, with one warning naming both; training moves the damaged
step aside, writes it again, and ends with exactly the parameters of an undamaged run; a
damaged step asked for by number fails in one line naming it."""

from __future__ import annotations

import logging
import shutil

import jax
import numpy as np
import pytest

import jaxhands
from jaxhands.training.checkpoints import CheckpointDamagedError
from jaxhands.training.loop import train
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config


def _config(root):
    return tiny_config(root / "data", num_train_steps=8, checkpoint_every=4, max_checkpoints_to_keep=5)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("damage")
    train(_config(root), root / "ref", progress=False)
    return root


def _damage(step_dir, how):
    if how == "state_deleted":  # a half-deleted step
        shutil.rmtree(step_dir / "state")
    elif how == "files_truncated":  # a full disk while a copy was written
        for path in (step_dir / "state").rglob("*"):
            if path.is_file():
                path.write_bytes(b"")
    else:  # "arrays_deleted": the array data gone, the metadata left
        for path in (step_dir / "state").rglob("*"):
            if path.is_file() and path.parent.name != "state":
                path.unlink()


@pytest.mark.parametrize("how", ["state_deleted", "files_truncated", "arrays_deleted"])
def test_damaged_latest_step_falls_back_and_training_recovers_exactly(reference, tmp_path, how, caplog):
    workdir = tmp_path / how
    shutil.copytree(reference / "ref", workdir)
    _damage(workdir / "checkpoints" / "8", how)

    with caplog.at_level(logging.WARNING, logger="jaxhands.train"):
        run = jaxhands.load_run(workdir)
    assert run.step == 4
    assert any("step 8" in r.getMessage() and "using step 4" in r.getMessage() for r in caplog.records)
    with pytest.raises(CheckpointDamagedError, match="checkpoint step 8 .* does not restore"):
        jaxhands.load_run(workdir, step=8)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jaxhands.train"):
        train(_config(reference), workdir, progress=False)  # resumes from 4, writes 8 again
    assert (workdir / "checkpoints_damaged" / "8").is_dir()
    assert any("moved damaged checkpoint" in r.getMessage() for r in caplog.records)
    resumed, uninterrupted = jaxhands.load_run(workdir), jaxhands.load_run(reference / "ref")
    assert resumed.step == 8
    for a, b in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(uninterrupted.params)):
        np.testing.assert_array_equal(a, b)


def test_when_no_step_restores_the_newest_error_is_raised(reference, tmp_path):
    workdir = tmp_path / "all_damaged"
    shutil.copytree(reference / "ref", workdir)
    for step in ("4", "8"):
        _damage(workdir / "checkpoints" / step, "state_deleted")
    with pytest.raises(KeyError, match="state"):
        jaxhands.load_run(workdir)


def test_eval_cli_names_a_damaged_step_in_one_line(reference, tmp_path):
    import pathlib
    import subprocess
    import sys

    workdir = tmp_path / "cli"
    shutil.copytree(reference / "ref", workdir)
    _damage(workdir / "checkpoints" / "8", "files_truncated")
    root = pathlib.Path(__file__).resolve().parents[2]
    env = script_env()
    run = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}", "--step=8"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "eval.py: checkpoint step 8" in run.stderr and "does not restore" in run.stderr
