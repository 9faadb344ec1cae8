"""Model selection on a validation split (issue 17): records held out of the training
split, evaluated during training (val/*), and the checkpoint with the lowest validation
EPE kept beside the latest and loadable as step "best"."""

from __future__ import annotations

import json

import numpy as np
import pytest

import jaxhands
from jaxhands.configs.loader import ConfigError
from jaxhands.data.streams import validation_split
from jaxhands.training.checkpoints import BEST_METRIC, Checkpointer
from jaxhands.training.experiment import build_experiment, build_sources
from jaxhands.training.loop import check_model_selection, train
from jaxhands.training.state import TrainState
from tests.training.tiny_configs import tiny_config


def test_validation_split_is_fixed_disjoint_and_complete():
    source = list(range(200))
    train_part, held = validation_split(source, 0.1)
    assert len(held.indices) == 20 and len(train_part.indices) == 180
    assert not set(held.indices) & set(train_part.indices)
    assert sorted([*held.indices, *train_part.indices]) == source
    again = validation_split(source, 0.1)[1]
    np.testing.assert_array_equal(held.indices, again.indices)
    assert held[3] == held.indices[3]  # a random-access source of its own
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="validation_fraction"):
            validation_split(source, bad)
    with pytest.raises(ValueError, match="leaves 0 for validation"):
        validation_split(list(range(3)), 0.1)


def test_held_out_records_are_no_training_data_and_do_not_depend_on_the_seed(tmp_path):
    config = tiny_config(tmp_path / "data", validation_fraction=0.25)
    full = build_sources(tiny_config(tmp_path / "data"))[0]
    experiments = [build_experiment(tiny_config(tmp_path / "data", validation_fraction=0.25, seed=s)) for s in (0, 1)]
    train_source, validation = experiments[0].train_source, experiments[0].validation_source
    assert (len(train_source), len(validation)) == (300, 100)
    assert not set(train_source.indices) & set(validation.indices)
    np.testing.assert_array_equal(experiments[1].validation_source.indices, validation.indices)
    # The baselines' training records (build_sources) leave the validation records out too.
    np.testing.assert_array_equal(build_sources(config)[0].indices, train_source.indices)
    np.testing.assert_array_equal(validation[0]["keypoints_3d"], full[int(validation.indices[0])]["keypoints_3d"])
    assert build_experiment(tiny_config(tmp_path / "data")).validation_source is None


def _state(step: int) -> TrainState:
    return TrainState(step=np.int32(step), params={"w": np.full(2, step, np.float32)}, model_state={},
                      opt_state={}, rng=np.zeros(2, np.uint32))


def test_checkpointer_keeps_the_lowest_metric_beside_the_latest_and_reads_it_back(tmp_path):
    values = {1: 5.0, 2: 2.0, 3: 4.0, 4: 3.0}
    checkpointer = Checkpointer(tmp_path, max_to_keep=1, save_interval_steps=1, async_save=False,
                                keep_best=BEST_METRIC)
    for step, value in values.items():
        checkpointer.save(_state(step), metrics={BEST_METRIC: value})
    checkpointer.save(_state(5))  # saved without a validation EPE (a stop request): not ranked
    assert sorted(checkpointer.manager.all_steps()) == [2, 5]
    checkpointer.close()
    reader = Checkpointer(tmp_path)
    assert reader.best_step(BEST_METRIC) == 2
    with pytest.raises(ValueError, match="no checkpoint .* was saved with 'other'"):
        reader.best_step("other")
    reader.close()



def test_checkpointer_keeps_every_multiple_of_keep_every_beside_the_latest(tmp_path):
    checkpointer = Checkpointer(tmp_path, max_to_keep=1, save_interval_steps=1, async_save=False, keep_every=2)
    for step in range(1, 6):
        checkpointer.save(_state(step))
    assert sorted(checkpointer.manager.all_steps()) == [2, 4, 5]
    checkpointer.close()
    with pytest.raises(ValueError, match="keep_checkpoint_every must be >= 0"):
        Checkpointer(tmp_path / "other", keep_every=-1)
    # Through the loop: config.keep_checkpoint_every.
    config = tiny_config(tmp_path / "data", num_train_steps=7, eval_every=0, checkpoint_every=1,
                         max_checkpoints_to_keep=1, keep_checkpoint_every=3)
    train(config, tmp_path / "run", progress=False)
    assert sorted(int(p.name) for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.isdigit()) == [3, 6, 7]

def test_training_selects_the_step_with_the_lowest_validation_epe(tmp_path):
    config = tiny_config(tmp_path / "data", validation_fraction=0.25, keep_best_checkpoint=True, num_train_steps=12,
                         eval_every=2, checkpoint_every=2, max_checkpoints_to_keep=1, eval_num_batches=2)
    workdir = tmp_path / "run"
    train(config, workdir, progress=False)
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    validation = {r["step"]: r[BEST_METRIC] for r in rows if BEST_METRIC in r}
    assert sorted(validation) == list(range(2, 13, 2)) and not any("eval/mean_epe_mm" in r for r in rows)
    best = min(validation, key=validation.get)
    run = jaxhands.load_run(workdir, "best")
    assert run.step == best
    kept = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert kept == sorted({best, 12})
    assert jaxhands.load_run(workdir).step == 12
    with pytest.raises(ValueError, match="'best'"):
        jaxhands.load_run(workdir, "last")
    # From the command line, a step never saved and a misspelt one fail in one line each.
    import subprocess
    import sys

    from tests.command_lines import ROOT, script_env
    for step, message in (("99", "eval.py: no checkpoint at step 99"), ("lates", "an integer) or 'best', got 'lates'")):
        run = subprocess.run([sys.executable, "eval.py", f"--workdir={workdir}", f"--step={step}"], cwd=ROOT,
                             env=script_env(), capture_output=True, text=True, timeout=300)
        assert run.returncode != 0 and message in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]


@pytest.mark.parametrize("overrides, message", [
    (dict(validation_fraction=0.0), "model selection on the test set"),
    (dict(validation_fraction=0.1, eval_every=0), "eval_every must be a multiple of log_every"),
    (dict(validation_fraction=0.1, eval_every=3, log_every=2), "eval_every must be a multiple of log_every"),
    (dict(validation_fraction=0.1, eval_every=4, checkpoint_every=6), "checkpoint_every of eval_every"),
])
def test_keep_best_without_a_validated_save_is_refused(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_model_selection(tiny_config(tmp_path, keep_best_checkpoint=True, **overrides))


def test_a_bad_model_selection_config_ends_train_py_in_one_line(tmp_path):
    import subprocess
    import sys

    from tests.command_lines import ROOT, script_env
    for flags, message in ((["--config.validation_fraction=1.5"], "validation_fraction must be in [0, 1)"),
                           (["--config.keep_best_checkpoint=True"], "model selection on the test set")):
        run = subprocess.run([sys.executable, "train.py", "--config=spurr18_2d_to_3d_var1", f"--workdir={tmp_path}",
                              *flags], cwd=ROOT, env=script_env(), capture_output=True, text=True, timeout=300)
        assert run.returncode != 0 and message in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert not (tmp_path / "checkpoints").exists()  # refused before anything was built or written


def test_command_line_step_reads_a_number_or_best_and_best_evaluates_into_its_own_folder():
    from jaxhands.evaluation.run_evaluation import eval_dir_name
    from jaxhands.runs import parse_step

    assert [parse_step(t) for t in (None, "", "1500", "best")] == [None, None, 1500, "best"]
    with pytest.raises(ValueError, match="integer.*'best', got 'latest'"):
        parse_step("latest")
    assert [eval_dir_name(step=s) for s in (None, 1500, "best")] == ["eval", "eval_step1500", "eval_best"]
