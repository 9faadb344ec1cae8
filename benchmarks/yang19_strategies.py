"""Yang et al. 2019 Table 1 on synthetic hands: mean EPE of the strategies S1-S4 (and C2P).

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/yang19_strategies.py \
        [--configs yang19_cloud_to_pose yang19_s1_r2p ...] [--steps N] [--seeds 0 1] [--workdir DIR]
        [--config.input_modality=depth ...]

Each named experiment is trained through the regular train loop for --steps
steps per seed (resuming if DIR already holds the run), then evaluated on the full test
split through jaxhands.evaluate_workdir (hand3d EvalUtil convention: visible joints; ground-truth
root and scale, Yang et al. Sec. 5.1); the untrained model of each config is evaluated
too, and the predict-the-mean-pose baseline. Prints one row per config: untrained EPE,
the mean-pose baseline's, the EPE of each seed, their mean and
std, and Yang et al.'s RHD figure for reference (different data, resolution and budget:
only the ordering of strategies is comparable, and only at a converged budget).
--config.FIELD=VALUE overrides a field of every run (as in train.py), e.g.
--config.input_modality=depth runs the strategies from depth maps.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Yang et al. Table 1 (RHD, RGB input, mean EPE mm).
PAPER_RHD_MM = {"yang19_s1_r2p": 16.61, "yang19_s2_r2hp": 16.10, "yang19_s2_r2cp": 15.91,
                "yang19_s2_r2chp": 15.49, "yang19_s3_rc2chp": 14.93, "yang19_s4_rc2chp": 13.14}
DEFAULT_CONFIGS = ("yang19_cloud_to_pose", "yang19_s1_r2p", "yang19_s2_r2cp", "yang19_s2_r2chp",
                   "yang19_s3_rc2chp", "yang19_s4_rc2chp")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--steps", type=int, default=None, help="override num_train_steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workdir", type=pathlib.Path, default=ROOT / "workdirs" / "yang19_strategies")
    from jaxhands.configs import load_config, split_config_args

    _, overrides, rest = split_config_args(sys.argv[1:])
    args = parser.parse_args(rest)

    import numpy as np

    from jaxhands import evaluate_workdir
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    rows = []
    for name in args.configs:
        epes, untrained, seconds = [], None, 0.0
        for seed in args.seeds:
            config = load_config(name, overrides)
            config.seed = seed
            if args.steps is not None:
                config.num_train_steps = args.steps
            config.eval_every = 0
            workdir = args.workdir / f"{name}_seed{seed}"
            start = time.perf_counter()
            train(config, workdir, progress=False)
            seconds += time.perf_counter() - start
            epes.append(evaluate_workdir(workdir)["mean_epe_mm"])
            if untrained is None:
                untrained = evaluate_workdir(workdir, untrained=True)["mean_epe_mm"]
            print(f"{name} seed {seed}: {epes[-1]:.2f} mm after {config.num_train_steps} steps", flush=True)
        baseline_config = load_config(name, overrides)
        mean_pose = evaluate_mean_pose(baseline_config)["mean_epe_mm"]
        rows.append((name, untrained, mean_pose, epes, seconds))

    print(f"\nmean EPE [mm] on the synthetic test split, {args.steps or 'config'} steps, seeds {args.seeds} "
          "(CPU; timings are wall-clock on a shared machine)")
    print(f"{'config':24s} {'untrained':>9s} {'mean pose':>9s} {'per seed':>24s} {'mean':>7s} {'std':>6s} {'paper RHD':>9s} {'train s':>8s}")
    for name, untrained, mean_pose, epes, seconds in rows:
        per_seed = " ".join(f"{e:.2f}" for e in epes)
        paper = PAPER_RHD_MM.get(name)
        print(f"{name:24s} {untrained:9.2f} {mean_pose:9.2f} {per_seed:>24s} {np.mean(epes):7.2f} {np.std(epes):6.2f} "
              f"{(f'{paper:.2f}' if paper else '-'):>9s} {seconds:8.0f}")


if __name__ == "__main__":
    main()
