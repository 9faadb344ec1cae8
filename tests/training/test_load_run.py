"""The post-training API: load_run reads exactly the trained parameters (no optimizer state,
no data), evaluate_workdir scores them, and the README's script runs as written."""

from __future__ import annotations

import json
import pathlib
import re

import jax
import numpy as np
import pytest

import jaxhands
from jaxhands.evaluation.metrics import evaluate_keypoints
from jaxhands.training import sharding
from jaxhands.training.experiment import build_experiment
from jaxhands.training.loop import initial_state, train
from tests.command_lines import script_env
from tests.training.tiny_configs import tiny_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run checkpointed at steps 4 and 8, and its final train state."""
    root = tmp_path_factory.mktemp("load_run")
    config = tiny_config(root / "data", num_train_steps=8, checkpoint_every=4)
    result = train(config, root / "run", progress=False)
    return root / "run", config, result.state


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(tree))]


def test_load_run_restores_the_trained_parameters_bit_for_bit(trained):
    workdir, config, state = trained
    run = jaxhands.load_run(workdir)
    assert run.step == 8 and run.config.to_dict() == config.to_dict()
    assert type(run.method).__name__ == "CrossModalVAE"
    for got, want in zip(_leaves(run.params), _leaves(state.params), strict=True):
        np.testing.assert_array_equal(got, want)
    early = jaxhands.load_run(workdir, step=4)
    assert early.step == 4
    assert any(not np.array_equal(a, b) for a, b in zip(_leaves(early.params), _leaves(run.params)))


def test_untrained_run_is_the_state_training_started_from(trained):
    workdir, config, _ = trained
    run = jaxhands.load_run(workdir, untrained=True)
    start = initial_state(build_experiment(config), config, sharding.make_mesh())
    assert run.step == 0
    for got, want in zip(_leaves(run.params), _leaves(start.params), strict=True):
        np.testing.assert_array_equal(got, want)


def test_missing_step_and_missing_workdir_fail_clearly(trained, tmp_path):
    workdir, _, _ = trained
    with pytest.raises(ValueError, match=r"no checkpoint at step 5 .*saved steps: \[4, 8\]"):
        jaxhands.load_run(workdir, step=5)
    with pytest.raises(FileNotFoundError, match="is .* a training workdir"):
        jaxhands.load_run(tmp_path)


def test_restore_reads_params_model_state_and_step_only(trained):
    from jaxhands.training.checkpoints import Checkpointer

    workdir, _, state = trained
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
                            {"params": state.params, "step": state.step})
    checkpointer = Checkpointer(workdir)
    try:
        restored = checkpointer.restore_subset(abstract)
    finally:
        checkpointer.close()
    assert set(restored) == {"params", "step"} and int(restored["step"]) == 8


def test_evaluate_workdir_scores_the_saved_predictions(trained):
    workdir, _, _ = trained
    result = jaxhands.evaluate_workdir(workdir)
    saved = np.load(workdir / "eval" / "predictions.npz")
    brute = evaluate_keypoints(saved["pred"], saved["gt"], saved["visible"])
    assert result["mean_epe_mm"] == pytest.approx(float(brute["mean_epe_mm"]), rel=1e-6)
    assert json.loads((workdir / "eval" / "metrics.json").read_text())["mean_epe_mm"] == result["mean_epe_mm"]
    assert result["step"] == 8 and result["num_samples"] == 40
    # The same run, step 4, in memory: a different (earlier) model, nothing written.
    early = jaxhands.evaluate_run(jaxhands.load_run(workdir, step=4))
    assert early["step"] == 4 and early["mean_epe_mm"] != result["mean_epe_mm"]
    assert not (workdir / "eval_step4").exists()


def test_readme_post_training_script_runs(trained, capsys):
    workdir, _, _ = trained
    readme = (ROOT / "README.md").read_text()
    script = re.search(r"<!-- post-training script -->\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(script.strip().splitlines()) <= 10
    exec(compile(script.replace('"workdirs/default"', repr(str(workdir))), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "step 8" in out and "mean EPE" in out


def test_sample_command_line_draws_prior_samples_and_walks(trained):
    import subprocess
    import sys

    workdir, _, _ = trained
    env = script_env()
    run = subprocess.run([sys.executable, "sample.py", f"--workdir={workdir}", "--num_prior=4", "--walk_steps=3",
                          "--pairs=1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    saved = np.load(workdir / "samples" / "samples.npz")
    assert saved["prior"].shape == (4, 21, 3) and saved["walks"].shape == (1, 3, 21, 3)
    # A walk starts and ends at the two inputs' reconstructions: distinct poses.
    assert not np.allclose(saved["walks"][0, 0], saved["walks"][0, -1])
    assert (workdir / "samples" / "prior.png").stat().st_size > 1000
