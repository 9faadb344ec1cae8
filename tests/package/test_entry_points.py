"""The console entry points (`jaxhands-train`, `jaxhands-eval`, `jaxhands-sample`) and the
top-level scripts run the same commands from jaxhands/cli."""

from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys

import pytest

from tests.command_lines import script_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMANDS = {"jaxhands-train": ("jaxhands.cli.train:run", "Train a jaxhands experiment."),
            "jaxhands-eval": ("jaxhands.cli.eval:run", "Evaluate a trained experiment"),
            "jaxhands-sample": ("jaxhands.cli.sample:run", "Sample a trained cross-modal VAE")}


def test_the_installed_entry_points_name_the_cli_modules():
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")
                 if ep.name.startswith("jaxhands-")}
    assert installed == {"jaxhands-data-prep": "data_prep.__main__:main",
                         **{name: target for name, (target, _) in COMMANDS.items()}}, \
        "reinstall (pip install -e .) after changing [project.scripts]"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_entry_point_and_script_print_the_same_usage(name):
    target, first_line = COMMANDS[name]
    module, function = target.split(":")
    env = script_env()
    # The entry point as pip's wrapper calls it (argv[0] is the command's name) ...
    entry = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = [{name!r}, '--help']; "
                            f"from {module} import {function}; {function}()"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    # ... and the script at the repository root.
    script = subprocess.run([sys.executable, name.removeprefix("jaxhands-") + ".py", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    for run in (entry, script):  # (absl's --help exits 1 after printing the usage)
        assert "Traceback" not in run.stderr, run.stderr[-2000:]
        assert run.stdout.startswith(first_line), (run.stdout[:300], run.stderr[-1000:])
        assert "--workdir" in run.stdout
