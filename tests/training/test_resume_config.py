"""Resuming a workdir with a changed config (issue 14, item 3): a change the checkpoint can
take (batch size, number of steps) runs, is logged, and is recorded beside the original
config.json, which stays as it was; one it cannot take (latent_dim) fails in one line
naming the field and both values, from train() and from train.py."""

from __future__ import annotations

import json
import logging

import jax
import pytest

import jaxhands
from jaxhands.configs import workdir_record
from jaxhands.configs.workdir_record import IncompatibleResumeError
from jaxhands.training.loop import train
from tests.training.tiny_configs import tiny_config


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """A workdir trained to step 4 of 8 with batch size 16."""
    root = tmp_path_factory.mktemp("resume")
    train(tiny_config(root / "data"), root / "run", progress=False, stop_after=4)
    return root


def _copy(started, tmp_path):
    import shutil

    workdir = tmp_path / "run"
    shutil.copytree(started / "run", workdir)
    return workdir


def test_compatible_change_runs_and_keeps_the_original_config(started, tmp_path, caplog):
    workdir = _copy(started, tmp_path)
    original = (workdir / "config.json").read_text()
    with caplog.at_level(logging.WARNING, logger="jaxhands.train"):
        result = train(tiny_config(started / "data", batch_size=8, num_train_steps=10), workdir, progress=False)
    assert result.steps_run == 6
    assert (workdir / "config.json").read_text() == original
    assert json.loads(original)["batch_size"] == 16
    rows = workdir_record.read_changes(workdir)
    assert rows == [{"step": 4, "changes": {"batch_size": [16, 8], "num_train_steps": [8, 10]}}]
    assert any("batch_size 16 -> 8" in r.getMessage() and "num_train_steps 8 -> 10" in r.getMessage()
               for r in caplog.records)
    resumed = jaxhands.load_config(workdir)  # what the run last trained with
    assert (resumed.batch_size, resumed.num_train_steps) == (8, 10)
    assert jaxhands.load_config(workdir / "config.json").batch_size == 8

    # Resuming again with the run's own config records nothing new.
    train(resumed, workdir, progress=False)
    assert len(workdir_record.read_changes(workdir)) == 1


def test_incompatible_change_fails_naming_the_field_and_both_values(started, tmp_path):
    workdir = _copy(started, tmp_path)
    with pytest.raises(IncompatibleResumeError, match=r"latent_dim 8 -> 16") as err:
        train(tiny_config(started / "data", latent_dim=16), workdir, progress=False)
    assert "\n" not in str(err.value) and "step 4" in str(err.value)
    assert not (workdir / workdir_record.CHANGES_FILE).exists()


def test_train_py_reports_an_incompatible_resume_in_one_line(started, tmp_path):
    import subprocess
    import sys

    from tests.command_lines import ROOT, script_env

    workdir = _copy(started, tmp_path)
    env = script_env()
    run = subprocess.run([sys.executable, "train.py", f"--config={workdir}", "--config.latent_dim=16",
                          f"--workdir={workdir}", "--noprogress"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 1, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("train.py:")]
    assert len(errors) == 1 and "latent_dim 8 -> 16" in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "Event loop is closed" not in run.stderr, run.stderr[-2000:]


def test_a_damaged_change_record_is_named():
    with pytest.raises(ValueError, match="line 2: not a config change record"):
        import pathlib
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            (pathlib.Path(d) / workdir_record.CHANGES_FILE).write_text('{"step": 1, "changes": {}}\n{"step": 2}\n')
            workdir_record.read_changes(d)


def test_checkpoints_copied_in_without_a_record_resume_and_record_the_config(started, tmp_path, caplog):
    """A shared first stage copied into a new workdir (benchmarks/dvae_semi.py): the run
    resumes from it and writes its config.json, so the workdir can be evaluated."""
    import shutil

    workdir = tmp_path / "copied"
    shutil.copytree(started / "run" / "checkpoints", workdir / "checkpoints")
    with caplog.at_level(logging.WARNING, logger="jaxhands.train"):
        result = train(tiny_config(started / "data", num_train_steps=6), workdir, progress=False)
    assert result.steps_run == 2
    assert any("no config.json" in r.getMessage() for r in caplog.records)
    assert json.loads((workdir / "config.json").read_text())["num_train_steps"] == 6
    assert int(jaxhands.load_run(workdir).step) == 6


def test_every_start_and_resume_records_its_commit_and_command(started, tmp_path):
    import subprocess

    from jaxhands.training.provenance import read_provenance, record_provenance

    workdir = _copy(started, tmp_path)
    train(tiny_config(started / "data"), workdir, progress=False)
    entries = read_provenance(workdir)
    assert [e["start_step"] for e in entries] == [0, 4]
    root = jaxhands.__file__.rsplit("/jaxhands/", 1)[0]
    head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # a checkout (CI's clean clone): the commit the run trained at
        assert entries[-1]["commit"] == head.stdout.strip() and isinstance(entries[-1]["dirty"], bool)
    else:
        assert entries[-1]["commit"] is None and entries[-1]["dirty"] is None
    assert entries[-1]["jax"] == jax.__version__ and entries[-1]["argv"]
    # A fresh start in the same workdir (nothing saved since) replaces the history.
    record_provenance(workdir, 0, ["train.py", "--config=x"], fresh=True)
    assert [e["argv"] for e in read_provenance(workdir)] == [["train.py", "--config=x"]]
    (workdir / "provenance.jsonl").write_text('{"start_step": 0}\n{"start_st')
    with pytest.raises(ValueError, match=r"provenance.jsonl, line 2: not a provenance record"):
        read_provenance(workdir)
    assert read_provenance(tmp_path / "never_trained") == []
