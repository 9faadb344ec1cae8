"""README tables generated from results files (issue 26 item 3): hand-computed rows, clear
errors, and every generated table in the README still matching its files."""

from __future__ import annotations

import json
import pathlib

import pytest

from jaxhands.evaluation.results_tables import generated_tables, image_pose_markdown, load_rows, update_markdown

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _row(seed, epe, pa, spread, *, auc=0.5, mean_pose=100.0, name="spurr18_depth_to_3d_var1", step=900,
         jitter=True):
    row = {"name": name, "input": "depth", "seed": seed,
           "trained": {"step": step, "mean_epe_mm": epe, "pa_mean_epe_mm": pa, "auc_20_50": auc,
                       "spread_ratio": spread},
           "untrained": {"mean_epe_mm": 100.5 + seed},
           "mean_pose": {"mean_epe_mm": mean_pose, "pa_mean_epe_mm": 35.0, "auc_20_50": 0.09},
           "mean_articulation": {"mean_epe_mm": 25.0, "pa_mean_epe_mm": 20.0, "auc_20_50": 0.8},
           "pixel_nearest_neighbour": {"mean_epe_mm": 70.0, "pa_mean_epe_mm": 22.0, "auc_20_50": 0.2}}
    if jitter:
        row["box_jitter_0.1"], row["box_jitter_0.2"] = {"mean_epe_mm": epe + 1}, {"mean_epe_mm": epe + 5}
    return row


def _write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps({"command": "test", "rows": rows}))
    return path


def test_rows_seed_summary_and_baselines_are_hand_computed(tmp_path):
    first, second = _row(0, 40.0, 20.0, 0.9), _row(1, 50.0, 22.0, 0.8, auc=0.4, jitter=False)
    first["training_seconds"], second["training_seconds"] = 390.0, 420.0
    a, b = _write(tmp_path, "a.json", [first]), _write(tmp_path, "b.json", [second])
    lines = image_pose_markdown(load_rows([a, b])).splitlines()
    assert lines[2] == ("| spurr18_depth_to_3d_var1, seed 0 | 900 | 6.5 | 40.00 | 0.400 | 20.00 | 0.500 | 0.90 | "
                        "41.00 / 45.00 |")
    assert lines[3] == "| spurr18_depth_to_3d_var1, seed 1 | 900 | 7.0 | 50.00 | 0.500 | 22.00 | 0.400 | 0.80 |  |"
    # Two seeds: mean 45, half the range 5 (their standard deviation); minutes 6.75 +- 0.25.
    assert lines[4] == ("| **spurr18_depth_to_3d_var1, 2 seeds** | 900 | 6.8 ± 0.2 | **45.00 ± 5.00** | "
                        "0.450 ± 0.050 | 21.00 ± 1.00 | 0.450 ± 0.050 | 0.85 ± 0.05 | |")
    assert lines[5] == "| mean pose | – | | 100.00 | 1 | 35.00 | 0.090 | 0 | |"
    assert lines[6].endswith("| – | | 25.00 | 0.250 | 20.00 | 0.800 | | |")
    assert lines[7] == "| nearest training crop in pixels, depth | – | | 70.00 | 0.700 | 22.00 | 0.200 | | |"
    assert lines[8] == "| untrained | 0 | | 100.50–101.50 | 1.005–1.015 | | | | |"
    assert len(lines) == 9


def test_a_runs_command_line_overrides_name_it_and_keep_its_seeds_apart(tmp_path):
    """`--config.X=Y` of the run's first start label its row (bookkeeping flags and the seed
    left out); runs with different overrides are not pooled into one seed summary."""
    def started_with(row, *overrides):
        row["provenance"] = [{"start_step": 0, "argv": ["train.py", "--config=spurr18_depth_to_3d_var1",
                                                        "--workdir", "/w", "--config.seed=0",
                                                        "--config.eval_every=500", *overrides]},
                             {"start_step": 500, "argv": ["train.py", "--config.lr=9"]}]  # a resume: not shown
        return row

    rows = [started_with(_row(0, 40.0, 20.0, 0.9), "--config.recon_weights.depth=0.5", "--config.num_train_steps=9"),
            started_with(_row(1, 50.0, 20.0, 0.9), "--config.recon_weights.depth=0.5"),
            started_with(_row(1, 60.0, 20.0, 0.9))]
    lines = image_pose_markdown(load_rows([_write(tmp_path, "a.json", rows)])).splitlines()
    assert lines[2].startswith("| spurr18_depth_to_3d_var1 (recon_weights.depth=0.5), seed 0 | 900 |  | 40.00 |")
    assert lines[3].startswith("| spurr18_depth_to_3d_var1 (recon_weights.depth=0.5), seed 1 |")
    assert lines[4].startswith("| spurr18_depth_to_3d_var1, seed 1 | 900 |  | 60.00 |")
    assert lines[5].startswith("| **spurr18_depth_to_3d_var1 (recon_weights.depth=0.5), 2 seeds** | 900 |  | "
                               "**45.00 ± 5.00** |")
    assert lines[6].startswith("| mean pose |")
    # A row measured with its differences from the named config is named by them instead.
    rows[2]["differs_from_named"] = {"recon_weights.rgb": 1.0, "eval_every": 500, "crop.mode": "none"}
    lines = image_pose_markdown(load_rows([_write(tmp_path, "a.json", rows)])).splitlines()
    assert lines[4].startswith('| spurr18_depth_to_3d_var1 (crop.mode="none", recon_weights.rgb=1), seed 1 |')


def test_a_run_differs_from_its_named_config_in_its_overrides_less_bookkeeping():
    from jaxhands import load_config

    table = _image_pose_table()
    config = load_config("spurr18_rgb_to_3d_var3", ["recon_weights.rgb=1.0", "seed=3", "eval_every=7",
                                                     "augment.flip_prob=0.25"])
    assert table.differs_from_named(config) == {"recon_weights.rgb": 1.0, "augment.flip_prob": 0.25}
    assert table.differs_from_named(load_config("spurr18_rgb_to_3d_var3", ["image_size=32"])) == {
        "image_size": 32, "recon_weights.rgb": 63 / (3 * 32 ** 2)}  # the weight follows the size
    config.name = "my_experiment"
    assert table.differs_from_named(config) == {}


def test_a_run_within_five_percent_of_the_mean_pose_is_marked_as_not_learnt(tmp_path):
    # 94.9 mm learnt (0.949 x); 95.0 did not (0.95 x); the seed summary is marked when any seed is.
    path = _write(tmp_path, "a.json", [_row(0, 94.9, 30.0, 0.5), _row(1, 95.0, 35.0, 0.01)])
    lines = image_pose_markdown(load_rows([path])).splitlines()
    assert "did not learn" not in lines[2]
    assert lines[3].startswith("| spurr18_depth_to_3d_var1, seed 1 — **did not learn** (within 5 % of the mean pose) |")
    assert lines[4].startswith("| **spurr18_depth_to_3d_var1, 2 seeds** — **did not learn**")


def test_runs_of_different_lengths_are_not_pooled(tmp_path):
    path = _write(tmp_path, "a.json", [_row(0, 40.0, 20.0, 0.9), _row(1, 60.0, 20.0, 0.9, step=300)])
    assert "seeds**" not in image_pose_markdown(load_rows([path]))


def test_files_from_different_test_splits_are_refused(tmp_path):
    a = _write(tmp_path, "a.json", [_row(0, 40.0, 20.0, 0.9)])
    b = _write(tmp_path, "b.json", [_row(1, 50.0, 22.0, 0.8, mean_pose=98.0)])
    with pytest.raises(ValueError, match="different test splits"):
        image_pose_markdown(load_rows([a, b]))


def test_semi_supervised_runs_are_read_against_the_baselines_of_their_own_labelled_subset(tmp_path):
    """A semi-supervised run's baselines fit its seeded labelled subset: each seed's are
    shown, each run's ratio is to its own mean pose, the seed summary averages the ratios;
    rows on one subset that disagree on the mean pose are still refused."""
    rows = [dict(_row(0, 40.0, 20.0, 0.9, mean_pose=100.0), labelled_fraction=0.1),
            dict(_row(1, 48.0, 22.0, 0.8, mean_pose=80.0), labelled_fraction=0.1)]
    rows[1]["differs_from_named"] = {"keep_checkpoint_every": 1000}  # bookkeeping: still pooled
    lines = image_pose_markdown(load_rows([_write(tmp_path, "a.json", rows)])).splitlines()
    assert lines[2].startswith("| spurr18_depth_to_3d_var1, seed 0 | 900 |  | 40.00 | 0.400 |")
    assert lines[3].startswith("| spurr18_depth_to_3d_var1, seed 1 | 900 |  | 48.00 | 0.600 |")
    # ratios 0.4 and 0.6: mean 0.5, half the range 0.1
    assert lines[4].startswith("| **spurr18_depth_to_3d_var1, 2 seeds** | 900 |  | **44.00 ± 4.00** | 0.500 ± 0.100 |")
    assert lines[5] == "| mean pose — fitted on seed 0's 10 % labelled | – | | 100.00 | 1 | 35.00 | 0.090 | 0 | |"
    assert lines[7] == ("| nearest training crop in pixels, depth — fitted on seed 0's 10 % labelled | – | | 70.00 | "
                        "0.700 | 22.00 | 0.200 | | |")
    assert lines[8] == "| mean pose — fitted on seed 1's 10 % labelled | – | | 80.00 | 1 | 35.00 | 0.090 | 0 | |"
    assert lines[10] == ("| nearest training crop in pixels, depth — fitted on seed 1's 10 % labelled | – | | 70.00 | "
                         "0.875 | 22.00 | 0.200 | | |")
    assert lines[11] == "| untrained | 0 | | 100.50–101.50 | 1.005–1.269 | | | | |"
    assert len(lines) == 12
    rows.append(dict(_row(1, 55.0, 22.0, 0.8, mean_pose=81.0), labelled_fraction=0.1))
    with pytest.raises(ValueError, match="different test splits"):
        image_pose_markdown(load_rows([_write(tmp_path, "a.json", rows)]))


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json does not exist"):
        load_rows([tmp_path / "nowhere.json"])
    row = _row(0, 40.0, 20.0, 0.9)
    del row["mean_articulation"]
    with pytest.raises(ValueError, match=r"bad.json: a row lacks \['mean_articulation'\]"):
        load_rows([_write(tmp_path, "bad.json", [row])])
    row = _row(0, 40.0, 20.0, 0.9)
    del row["trained"]["auc_20_50"]
    with pytest.raises(ValueError, match=r"old.json: the 'trained' entry of run \? lacks \['auc_20_50'\]"):
        load_rows([_write(tmp_path, "old.json", [row])])
    with pytest.raises(ValueError, match="empty.json: expected a JSON object with a non-empty 'rows' list"):
        load_rows([_write(tmp_path, "empty.json", [])])


def test_every_generated_readme_table_matches_its_results_files():
    tables = generated_tables((ROOT / "README.md").read_text())
    assert tables, "the README has no generated table"
    for files, written in tables:
        assert written == image_pose_markdown(load_rows([ROOT / f for f in files])), files


def test_update_rewrites_a_stale_table_in_place_and_leaves_the_rest(tmp_path):
    _write(tmp_path, "a.json", [_row(0, 40.0, 20.0, 0.9)])
    stale = ("intro\n<!-- generated: python -m jaxhands.evaluation.results_tables a.json -->\n| old |\n"
             "<!-- end generated -->\nafter\n")
    updated = update_markdown(stale, tmp_path)
    [(files, table)] = generated_tables(updated)
    assert files == ["a.json"] and table == image_pose_markdown(load_rows([tmp_path / "a.json"]))
    assert updated.startswith("intro\n") and updated.endswith("<!-- end generated -->\nafter\n")
    assert update_markdown(updated, tmp_path) == updated
    # A freshly inserted, still empty marker is filled too.
    empty = "<!-- generated: python -m jaxhands.evaluation.results_tables a.json -->\n<!-- end generated -->\n"
    assert update_markdown(empty, tmp_path) == updated[len("intro\n"):-len("after\n")]
    # An empty marker before another table is filled alone: the text between them stays.
    two = empty + "reading of the first\n" + stale
    assert update_markdown(two, tmp_path) == (updated[len("intro\n"):-len("after\n")] + "reading of the first\n"
                                              + updated)


def _image_pose_table():
    from tests.command_lines import load_benchmark

    return load_benchmark("image_pose_table")


def test_training_seconds_sums_each_logged_window_over_its_rate(tmp_path):
    table = _image_pose_table()
    records = [{"step": 100, "steps_per_sec": 10.0}, {"step": 300, "steps_per_sec": 20.0, "eval/mean_epe_mm": 5},
               {"step": 400, "steps_per_sec": 4.0}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert table.training_seconds(tmp_path) == pytest.approx(10 + 10 + 25)
    assert table.training_seconds(tmp_path, up_to_step=300) == pytest.approx(20)
    assert table.training_seconds(tmp_path / "missing") is None


def test_keep_measured_reuses_a_row_only_for_the_same_checkpoint(tmp_path):
    table = _image_pose_table()
    workdir = tmp_path / "run"
    assert table.latest_checkpoint_step(workdir) is None
    for name in ("1000", "3000", "2000", "4000.orbax-checkpoint-tmp-17"):  # the last: a save in progress
        (workdir / "checkpoints" / name).mkdir(parents=True)
    assert table.latest_checkpoint_step(workdir) == 3000
    row = {"workdir": str(workdir), "trained": {"step": 3000}, "box_jitter_0.1": {}}
    previous = [row]
    assert table.measured_row(previous, workdir, None) is row
    assert table.measured_row(previous, workdir, 3000) is row
    # Another checkpoint, another workdir: evaluated again.
    assert table.measured_row(previous, workdir, 2000) is None
    (tmp_path / "other").mkdir()
    assert table.measured_row(previous, tmp_path / "other", 3000) is None
    (workdir / "checkpoints" / "4000").mkdir()  # the run went on: its newest checkpoint is new
    assert table.measured_row(previous, workdir, None) is None
    # A workdir deleted since (scratch space): its row stands; one with no row is an error.
    gone = tmp_path / "deleted"
    kept = {"workdir": str(gone), "trained": {"step": 1000}}
    assert table.measured_row([kept], gone, None) is kept
    assert table.measured_row([kept], gone, 1000) is kept
    with pytest.raises(SystemExit, match="no such folder"):
        table.measured_row([kept], gone, 2000)
    with pytest.raises(SystemExit, match="no such folder"):
        table.measured_row([], gone, None)
    table.keep_baselines(kept)  # nothing to read its data from: no baselines, no error


def test_a_kept_row_gets_only_the_extra_evaluations_it_lacks(tmp_path, monkeypatch):
    import jaxhands

    table = _image_pose_table()
    calls = []

    def fake_evaluate(workdir, *, step=None, box_jitter=0.0):
        calls.append((step, box_jitter))
        return {"step": step, "mean_epe_mm": 40.0 + box_jitter, "spread_ratio": 0.5}

    monkeypatch.setattr(jaxhands, "evaluate_workdir", fake_evaluate)
    workdir = tmp_path / "run"
    workdir.mkdir()
    row = {"workdir": str(workdir), "trained": {"step": 3000}, "box_jitter_0.1": {"mean_epe_mm": 1.0}}
    added = table.add_missing_extras(row, workdir, early_step=1000, box_jitters=[0.1, 0.2])
    assert added == ["box_jitter_0.2", "step_1000"]
    assert sorted(calls) == [(1000, 0.0), (3000, 0.2)]  # the jitter at the row's checkpoint
    assert row["box_jitter_0.1"] == {"mean_epe_mm": 1.0}  # measured before: not redone
    assert row["box_jitter_0.2"]["mean_epe_mm"] == pytest.approx(40.2)
    assert table.add_missing_extras(row, workdir, early_step=None, box_jitters=[]) == []
    with pytest.raises(SystemExit, match="lacks"):  # nothing to evaluate it from
        table.add_missing_extras({"trained": {"step": 5}}, tmp_path / "gone", early_step=None, box_jitters=[0.1])


def test_a_bare_box_jitter_flag_means_the_default_jitters():
    table = _image_pose_table()
    workdirs = ["--workdirs", "w"]
    assert table.parse_args(workdirs).box_jitters == [0.1, 0.2]
    assert table.parse_args(workdirs + ["--box-jitter"]).box_jitters == [0.1, 0.2]
    assert table.parse_args(workdirs + ["--box-jitter", "0.3"]).box_jitters == [0.3]
    assert table.parse_args(workdirs + ["--no-box-jitter"]).box_jitters == []
    with pytest.raises(SystemExit):
        table.parse_args(workdirs + ["--no-box-jitter", "--box-jitter", "0.1"])


def test_kept_rows_seed_the_baselines_of_runs_on_the_same_data(tmp_path):
    from jaxhands import load_config
    from jaxhands.configs import workdir_record

    table = _image_pose_table()
    table._BASELINES.clear()
    workdirs = {}
    runs = {"s0": {}, "s1": {"seed": 1}, "var3": {"variant": 3}, "other_data": {"image_size": 32}}
    for name, overrides in runs.items():
        workdirs[name] = tmp_path / name
        workdirs[name].mkdir()
        workdir_record.record_start(workdirs[name], load_config("spurr18_depth_to_3d_var1", overrides))
    baselines = {k: {"mean_epe_mm": 100.0 + i} for i, k in enumerate(table._BASELINE_FIELDS)}
    table.keep_baselines({"workdir": str(workdirs["s0"]), **baselines})
    cached = {table._baseline_key(load_config(workdirs[k])) for k in workdirs}
    # Another seed or variant trains differently on the same data: one cached entry serves
    # them; another crop size is other data and must be measured.
    assert table._baseline_key(load_config(workdirs["s1"])) in table._BASELINES
    assert table._baseline_key(load_config(workdirs["var3"])) in table._BASELINES
    assert table._baseline_key(load_config(workdirs["other_data"])) not in table._BASELINES
    assert len(cached) == 2 and list(table._BASELINES.values()) == [baselines]
    table._BASELINES.clear()
