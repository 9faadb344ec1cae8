"""2D -> 3D lifting on the real STB skeletons: cross-modal VAE Var. 1 and Var. 3 vs a
nearest-neighbour baseline, mean/median EPE (mm) on STB's 3000 test poses.

    JAXHANDS_SHARED_DATA=../shared/data python benchmarks/stb_lifting.py [--steps N] [--workdir DIR]

Trains the named experiments spurr18_stb_2d_to_3d_var{1,3} through the regular train loop
(resuming if DIR already holds them), evaluates through jaxhands.evaluate_workdir and prints the
three results side by side. All use T+S (ground-truth root and scale at test time).
"""

from __future__ import annotations

import argparse
import pathlib
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=None, help="override num_train_steps")
    parser.add_argument("--workdir", type=pathlib.Path, default=ROOT / "workdirs" / "stb_lifting")
    args = parser.parse_args()

    import numpy as np

    from jaxhands import evaluate_workdir
    from jaxhands.configs import get_config
    from jaxhands.data.stb_skeletons import STBSkeletonSource
    from jaxhands.methods.modalities import Invariances
    from jaxhands.baselines.keypoint_nearest_neighbour import NearestNeighbourLifting
    from jaxhands.training.loop import train

    rows = []
    train_src, test_src = STBSkeletonSource("train"), STBSkeletonSource("test")
    stack = lambda src: {k: np.stack([src[i][k] for i in range(len(src))]) for k in src[0]}  # noqa: E731
    t0 = time.time()
    nn = NearestNeighbourLifting(Invariances(handedness=False)).fit(stack(train_src))
    test = stack(test_src)
    err = np.linalg.norm(nn.predict(test) - test["keypoints_3d"], axis=-1) * 1000
    rows.append(("nearest neighbour (T+S)", float(err.mean()), float(np.median(err)), time.time() - t0))

    for variant in (1, 3):
        config = get_config(f"spurr18_stb_2d_to_3d_var{variant}")
        if args.steps:
            config.num_train_steps = args.steps
        workdir = args.workdir / f"var{variant}"
        t0 = time.time()
        train(config, workdir, progress=True)
        result = evaluate_workdir(workdir)
        rows.append((f"cross-modal VAE Var. {variant} (T+S), {config.num_train_steps} steps",
                     result["mean_epe_mm"], result["median_epe_mm"], time.time() - t0))

    print("\nSTB 2D -> 3D lifting, test split (3000 poses), EPE over all 21 joints")
    print(f"{'method':55s} {'mean EPE mm':>12s} {'median EPE mm':>14s} {'time s':>8s}")
    for name, mean, median, seconds in rows:
        print(f"{name:55s} {mean:12.2f} {median:14.2f} {seconds:8.1f}")


if __name__ == "__main__":
    main()
