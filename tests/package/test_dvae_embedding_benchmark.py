"""benchmarks/dvae_embedding.py --spurr-from: which finished runs it scores instead of training."""

import pathlib

import pytest

from tests.command_lines import load_benchmark


def _benchmark():
    return load_benchmark("dvae_embedding")


def _finished_run(folder: pathlib.Path, config, last_step: int) -> None:
    from jaxhands.configs.workdir_record import record_start

    (folder / "checkpoints" / str(last_step)).mkdir(parents=True)
    record_start(folder, config)


def test_spurr_from_takes_a_finished_run_of_the_same_config_and_names_any_difference(tmp_path):
    from jaxhands import load_config

    reusable_run = _benchmark().reusable_run
    wanted = load_config("spurr18_rgb_to_3d_var1", ["seed=1", "num_train_steps=300", "eval_every=0"])
    # Differs in bookkeeping only (cadence, data folder, the collapse warning): reusable.
    _finished_run(tmp_path / "run_s1", load_config("spurr18_rgb_to_3d_var1", [
        "seed=1", "num_train_steps=300", "eval_every=100", "log_every=7", "data_dir=/elsewhere",
        "collapse_patience_steps=5"]), 300)
    assert reusable_run(str(tmp_path / "run_s{seed}"), 1, wanted) == tmp_path / "run_s1"

    # A learning field differs: refused with the field and both values, unless the caller names it.
    _finished_run(tmp_path / "other_s1", load_config("spurr18_rgb_to_3d_var1", [
        "seed=1", "num_train_steps=300", "learning_rate=0.5", "recon_weights.rgb=1.0"]), 300)
    with pytest.raises(SystemExit, match=r"learning_rate 0\.5 there, 0\.001 here, recon_weights\.rgb 1\.0 there"):
        reusable_run(str(tmp_path / "other_s{seed}"), 1, wanted)
    with pytest.raises(SystemExit, match="learning_rate"):
        reusable_run(str(tmp_path / "other_s{seed}"), 1, wanted, ("recon_weights.rgb",))
    assert reusable_run(str(tmp_path / "other_s{seed}"), 1, wanted, ("recon_weights", "learning_rate")) == (
        tmp_path / "other_s1")

    # Another seed, a shorter run, or no run at all.
    with pytest.raises(SystemExit, match=r"seed 1 there, 0 here"):
        reusable_run(str(tmp_path / "run_s1"), 0, load_config("spurr18_rgb_to_3d_var1", [
            "seed=0", "num_train_steps=300"]))
    _finished_run(tmp_path / "short_s1", wanted, 200)
    with pytest.raises(SystemExit, match="no checkpoint at step 300"):
        reusable_run(str(tmp_path / "short_s{seed}"), 1, wanted)
    with pytest.raises(SystemExit, match="config.json not found"):
        reusable_run(str(tmp_path / "missing_s{seed}"), 1, wanted)


def test_out_keeps_the_other_seeds_rows_of_the_same_setting_and_refuses_another_setting(tmp_path):
    import json

    import functools

    benchmark = _benchmark()
    kept_rows = functools.partial(benchmark.kept_rows, setting_of=benchmark._setting)
    out = tmp_path / "d6.json"
    assert kept_rows(out, {"steps": 30, "modality": "rgb", "dvae_overrides": []}, [1]) == []  # no file yet
    seed0 = {"seed": 0, "steps": 30, "modality": "rgb", "dvae_overrides": [], "dvae": {"mean_epe_mm": 65.0}}
    out.write_text(json.dumps({"command": "python ...", "rows": [seed0]}))
    rgb = {"steps": 30, "modality": "rgb", "dvae_overrides": []}
    # seed 1 is added beside seed 0, which keeps the command that measured it
    assert kept_rows(out, rgb, [1]) == [{**seed0, "command": "python ..."}]
    assert kept_rows(out, rgb, [0, 1]) == []  # seed 0 measured again: its new row replaces the old
    for other in ({**rgb, "steps": 60}, {**rgb, "modality": "depth"}, {**rgb, "dvae_overrides": ["seed=3"]}):
        with pytest.raises(SystemExit, match="seed 0 row was measured with .* write to another --out"):
            kept_rows(out, other, [1])
    # Rows written before --modality existed are depth rows.
    out.write_text(json.dumps({"rows": [{"seed": 0, "steps": 30, "dvae_overrides": []}]}))
    assert kept_rows(out, {**rgb, "modality": "depth"}, [1])[0]["seed"] == 0

