"""Errors a user fixes outside the code (issue 14, items 5 and 8): a full disk ends
train.py in one line naming the file, the free space and the way forward (no traceback),
and the checkpoint before it stays usable; `disk_full` finds the OSError however deeply a
library wrapped it; a folder that is no workdir is one line too, with the traceback only
when JAXHANDS_TRACEBACK=1 asks for it."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap

import pytest

from jaxhands.cli_errors import disk_full, disk_full_message
from tests.command_lines import ROOT, script_env

# train.py as a user runs it, except that the metrics log's third write finds the disk full.
FULL_AFTER_TWO_RECORDS = textwrap.dedent("""
    import errno, runpy, sys
    from jaxhands.training import metrics_log

    writes = []
    original = metrics_log.MetricsWriter.write

    def write(self, step, metrics, **extra):
        writes.append(step)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return original(self, step, metrics, **extra)

    metrics_log.MetricsWriter.write = write
    if __name__ == "__main__":
        sys.argv = ["train.py", *sys.argv[1:]]
        runpy.run_path("train.py", run_name="__main__")
""")


def test_train_py_reports_a_full_disk_in_one_line(tmp_path):
    script = tmp_path / "full_disk_train.py"
    script.write_text(FULL_AFTER_TWO_RECORDS)
    workdir = tmp_path / "run"
    env = script_env()
    run = subprocess.run([sys.executable, str(script), "--config=spurr18_2d_to_3d_var1",
                          f"--config.data_dir={tmp_path / 'data'}", "--config.synthetic_num_train=64",
                          "--config.synthetic_num_test=16", "--config.batch_size=8", "--config.num_train_steps=10",
                          "--config.log_every=2", "--config.checkpoint_every=2", "--config.eval_every=0",
                          "--config.mlp_width=16", "--config.mlp_layers=2", f"--workdir={workdir}", "--noprogress"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: disk full writing ") and "metrics.jsonl" in last, last
    assert "GiB free on" in last and "run the same command again" in last, last
    steps = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps and steps[-1] == 4, steps  # the save of step 4 comes after its (good) log record


def test_disk_full_finds_the_cause_through_wrappers():
    cause = OSError(errno.ENOSPC, "No space left on device", "/x/ckpt")
    try:
        try:
            raise cause
        except OSError as err:
            raise RuntimeError("orbax: save failed") from err
    except RuntimeError as wrapped:
        assert disk_full(wrapped) is cause
    if sys.version_info >= (3, 11):  # exception groups (asyncio, trio) hold it among others
        group = ExceptionGroup("async", [ValueError("a"), RuntimeError("b")])  # noqa: F821
        group.exceptions[1].__context__ = cause
        assert disk_full(group) is cause
    assert disk_full(RuntimeError("other")) is None
    assert disk_full(OSError(errno.EACCES, "Permission denied")) is None
    message = disk_full_message("eval.py", cause, "/definitely/not/here")
    assert message.startswith("eval.py: disk full writing /x/ckpt (No space left on device);")
    assert " free on /" in message


def test_reporting_user_errors_ends_an_absl_main_in_one_line(tmp_path):
    """eval.py and sample.py run their main through it."""
    from jaxhands.cli_errors import reporting_user_errors

    def main(argv):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "eval" / "metrics.json"))
        except OSError as err:
            raise ValueError("numpy could not save") from err
    with pytest.raises(SystemExit) as stop:
        reporting_user_errors("eval.py", main, lambda: tmp_path)(["eval.py"])
    assert str(stop.value).startswith(f"eval.py: disk full writing {tmp_path / 'eval' / 'metrics.json'}")
    with pytest.raises(KeyError):
        reporting_user_errors("eval.py", lambda argv: {}["x"], lambda: tmp_path)(["eval.py"])


def test_a_folder_that_is_no_workdir_is_one_line_unless_tracebacks_are_asked_for(tmp_path):
    """eval.py / sample.py on a folder without a run: one line naming it; with
    JAXHANDS_TRACEBACK=1 the traceback too."""
    env = script_env()
    env.pop("JAXHANDS_TRACEBACK", None)
    for script in ("eval.py", "sample.py"):
        run = subprocess.run([sys.executable, script, f"--workdir={tmp_path}"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert run.stderr.strip() == (f"{script}: {tmp_path / 'config.json'} not found: is {tmp_path} a training "
                                      "workdir (python train.py --workdir ...)?")
    run = subprocess.run([sys.executable, "eval.py", f"--workdir={tmp_path}"], cwd=ROOT,
                         env=dict(env, JAXHANDS_TRACEBACK="1"), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" in run.stderr and "NotAWorkdirError" in run.stderr
