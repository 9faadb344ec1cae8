"""benchmarks/dvae_semi.py: which earlier rows --reuse takes, and weak_equal's batches."""

import json

import pytest

from tests.command_lines import load_benchmark


def test_reuse_takes_only_rows_measured_with_the_same_steps_and_overrides(tmp_path):
    reusable_rows = load_benchmark("dvae_semi").reusable_rows
    earlier = tmp_path / "d9.json"
    row = {"disentangle_steps": 3000, "embed_steps": 3000, "overrides": [], "sup10": {"mean_epe_mm": 61.0}}
    earlier.write_text(json.dumps({"command": "python ...", "rows": [
        {"seed": 0, **row}, {"seed": 1, **row, "overrides": ["learning_rate=0.1"]},
        {"seed": 2, **row, "embed_steps": 500}]}))
    found, provenance = reusable_rows(earlier, 3000, 3000, [])
    assert list(found) == [0] and provenance == {"command": "python ..."}
    assert list(reusable_rows(earlier, 3000, 3000, ["learning_rate=0.1"])[0]) == [1]
    with pytest.raises(SystemExit, match=r"no row was measured with .*'embed_steps': 100.*'embed_steps': 500"):
        reusable_rows(earlier, 3000, 100, [])
    (tmp_path / "other.json").write_text(json.dumps({"seeds": [0]}))
    with pytest.raises(SystemExit, match="not a results file of this benchmark"):
        reusable_rows(tmp_path / "other.json", 3000, 3000, [])


def test_weak_equal_batches_hold_as_many_labelled_rows_as_sup10_and_as_many_unlabelled_again():
    from jaxhands import load_config

    batch_overrides = load_benchmark("dvae_semi").batch_overrides
    sup10 = load_config("yangyao19_dvae_pose_depth_sup10")
    weak_equal = load_config("yangyao19_dvae_pose_depth_weak", batch_overrides("weak_equal", sup10.batch_size, 16))
    assert (weak_equal.stream_labelled_rows, weak_equal.batch_size) == (sup10.batch_size, 2 * sup10.batch_size)
    weak_mix = load_config("yangyao19_dvae_pose_depth_weak", batch_overrides("weak_mix", sup10.batch_size, 16))
    assert (weak_mix.stream_labelled_rows, weak_mix.batch_size) == (16, sup10.batch_size)
    assert batch_overrides("semi", sup10.batch_size, 16) == []
