"""benchmarks/early_spread_probe.py: its command line and what it reads from a run's log."""

import json

import pytest

from tests.command_lines import load_benchmark


def _probe():
    return load_benchmark("early_spread_probe")


def test_each_variant_owns_the_overrides_that_follow_it():
    probe = _probe()
    rest, variants = probe.parse_variants(
        ["--config", "c", "--variant", "a", "--config.x=1", "--config.y=2", "--steps", "9", "--variant", "b",
         "--config.x=3", "--variant", "plain"])
    assert rest == ["--config", "c", "--steps", "9"]
    assert variants == [("a", ["--config.x=1", "--config.y=2"]), ("b", ["--config.x=3"]), ("plain", [])]
    with pytest.raises(SystemExit, match="must follow a --variant"):
        probe.parse_variants(["--config.x=1", "--variant", "a"])
    with pytest.raises(SystemExit, match="needs a label"):
        probe.parse_variants(["--variant"])


def test_reads_the_spreads_and_named_terms_at_the_asked_steps_and_the_last_eval(tmp_path):
    probe = _probe()
    records = [{"step": 50, "rgb/kp3d_spread": 0.04, "align_kl": 9.0, "loss": 3.0},
               {"step": 75, "rgb/kp3d_spread": 0.05},
               {"step": 100, "rgb/kp3d_spread": 0.2, "joint/kp3d_spread": 0.3, "align_kl": 1.0, "loss": 2.0,
                "eval/mean_epe_mm": 40.0, "eval/spread": 0.5}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    read = probe.read_metrics(tmp_path, [50, 100], ["align_kl"])
    assert read["trajectory"] == {50: {"rgb/kp3d_spread": 0.04, "align_kl": 9.0},
                                  100: {"rgb/kp3d_spread": 0.2, "joint/kp3d_spread": 0.3, "align_kl": 1.0}}
    assert read["final_eval"] == {"eval/mean_epe_mm": 40.0, "eval/spread": 0.5}
    assert read["eval_step"] == 100 and read["last_step"] == 100
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        probe.read_metrics(tmp_path / "missing", [50], [])
