"""benchmarks/results_file.py: results files that grow by seeds (dvae_embedding.py, dvae_zu.py)."""

import pytest

from tests.command_lines import load_benchmark


def test_dvae_zu_out_keeps_the_other_seeds_rows_and_the_files_note(tmp_path):
    """benchmarks/dvae_zu.py shares results_file.kept_rows: rows by seed, setting = overrides."""
    import json

    results_file = load_benchmark("results_file")
    out = tmp_path / "d8.json"
    seed0 = {"config": "yangyao19_dvae_synthesis_zu", "seed": 0, "overrides": ["num_train_steps=6000"]}
    out.write_text(json.dumps({"command": "python benchmarks/dvae_zu.py --seeds 0", "rows": [seed0],
                               "note": "resumed from step 2500"}))
    same = {"overrides": ["num_train_steps=6000"]}
    kept = results_file.kept_rows(out, same, [1], setting_of=lambda row: {"overrides": row.get("overrides")})
    assert kept == [{**seed0, "command": "python benchmarks/dvae_zu.py --seeds 0"}]
    assert results_file.file_notes(out) == {"note": "resumed from step 2500"}
    with pytest.raises(SystemExit, match=r"num_train_steps=2500.*write to another --out"):
        results_file.kept_rows(out, {"overrides": ["num_train_steps=2500"]}, [1],
                               setting_of=lambda row: {"overrides": row.get("overrides")})
    out.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a results file with rows"):
        results_file.kept_rows(out, same, [1], setting_of=dict)
