"""`python -m data_prep`: the dataset registry, the synthetic subcommand and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from data_prep.__main__ import DATASETS, main
from jaxhands.data.storage import load_split
from jaxhands.synthetic import generate_sample

ARGS = ["--num-train", "3", "--num-test", "2", "--image-size", "32", "--num-points", "8", "--seed", "7",
        "--workers", "1"]


def test_unknown_dataset_lists_the_known_ones(capsys):
    assert main(["nyu_depth", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nyu_depth'" in err
    for name in DATASETS:
        assert name in err


def test_unwritable_output_directory_is_named(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    out = blocker / "datasets"
    assert main(["synthetic", "--out", str(out), *ARGS]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "cannot create output directory" in err
    assert blocker.read_text() == "not a directory"


# --image-size 8: below the generator's smallest (16), refused here rather than in a worker.
@pytest.mark.parametrize("option, value", [("--image-size", "4"), ("--image-size", "8"), ("--num-train", "0"),
                                           ("--num-test", "-1"),
                                           ("--num-points", "zero"), ("--workers", "0")])
def test_bad_sizes_are_usage_errors(tmp_path, capsys, option, value):
    args = list(ARGS)
    args[args.index(option) + 1] = value
    with pytest.raises(SystemExit) as exit_info:
        main(["synthetic", "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_write_then_rerun_is_a_no_op_then_overwrite(tmp_path, capsys):
    assert main(["synthetic", "--out", str(tmp_path), *ARGS]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out
    source = load_split(tmp_path, "test")
    expected = generate_sample(4, seed=7, image_size=32, num_points=8)  # test = indices 3, 4
    np.testing.assert_array_equal(source[1]["keypoints_3d"], expected["keypoints_3d"])
    np.testing.assert_array_equal(source[1]["image"], expected["image"])

    info = next(tmp_path.glob("synthetic_hands/*/1.0.0/dataset_info.json"))
    stamp = info.stat().st_mtime_ns
    assert main(["synthetic", "--out", str(tmp_path), *ARGS]) == 0
    assert "already complete" in capsys.readouterr().out
    assert info.stat().st_mtime_ns == stamp

    assert main(["synthetic", "--out", str(tmp_path), *ARGS, "--overwrite"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert info.stat().st_mtime_ns != stamp
    assert len(load_split(tmp_path, "train")) == 3


def test_module_entry_point_runs_as_a_program():
    done = subprocess.run([sys.executable, "-m", "data_prep", "no_such_dataset", "--out", "x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "known datasets: " in done.stderr and "synthetic" in done.stderr
    done = subprocess.run([sys.executable, "-m", "data_prep", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "synthetic" in done.stdout


def test_hand_shapes_option_writes_the_anthropometric_generator(tmp_path, capsys):
    from jaxhands.synthetic import SyntheticConfig

    assert main(["synthetic", "--out", str(tmp_path), *ARGS, "--hand-shapes", "anthropometric"]) == 0
    source = load_split(next(tmp_path.glob("synthetic_hands/*_shapesanthropometric/1.0.0")), "train")
    expected = generate_sample(1, seed=7, image_size=32, num_points=8,
                               config=SyntheticConfig(hand_shapes="anthropometric"))
    np.testing.assert_array_equal(source[1]["keypoints_3d"], expected["keypoints_3d"])
    with pytest.raises(SystemExit):
        main(["synthetic", "--out", str(tmp_path), *ARGS, "--hand-shapes", "mano"])
    assert "argument --hand-shapes: invalid choice: 'mano'" in capsys.readouterr().err
