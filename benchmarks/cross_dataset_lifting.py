"""Cross-dataset 2D -> 3D lifting (issue 18): train on the synthetic hands and test on the
real STB poses, and the other way round, for Spurr Var. 1 and Var. 3, two seeds, beside
the mean pose and the nearest neighbour fitted on the same training set.

    JAXHANDS_SHARED_DATA=../shared/data JAXHANDS_DATA_DIR=/tmp/jh_data \
        python benchmarks/cross_dataset_lifting.py [--seeds 0 1] [--variants 1 3] \
        [--workdir DIR] [--out docs/results/cross_dataset_lifting.json]

Per training set (`spurr18_2d_to_3d_var{v}` on synthetic, `spurr18_stb_2d_to_3d_var{v}` on
STB, each at its config's steps): every run is scored by jaxhands.evaluate_workdir on its
own test split and on the other dataset's (`dataset=`, the eval.py --dataset path), and
the baselines of jaxhands.baselines are fitted on the run's training split and scored on
both test splits. Mean EPE and PA-EPE (mm, the true root and scale given, T+S). Workdirs
that already hold a finished run are evaluated, not retrained.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

DATASETS = {"synthetic": "spurr18_2d_to_3d_var{v}", "stb_skeletons": "spurr18_stb_2d_to_3d_var{v}"}
BASELINES = ("mean_pose", "keypoint_nearest_neighbour")
SUMMARY = ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50", "num_samples")


def _summary(result: dict) -> dict:
    return {k: result[k] for k in SUMMARY if k in result}


def _table(rows: list[dict], baselines: dict) -> str:
    lines = [f"{'trained on':14s} {'model':28s} {'test':14s} {'mean EPE':>9s} {'PA-EPE':>8s}"]
    for train_on in DATASETS:
        for row in [r for r in rows if r["train_on"] == train_on]:
            for test_on, result in row["scores"].items():
                lines.append(f"{train_on:14s} {row['config'] + ' s' + str(row['seed']):28s} {test_on:14s} "
                             f"{result['mean_epe_mm']:9.2f} {result['pa_mean_epe_mm']:8.2f}")
        for name, scores in baselines.get(train_on, {}).items():
            for test_on, result in scores.items():
                lines.append(f"{train_on:14s} {name:28s} {test_on:14s} {result['mean_epe_mm']:9.2f} "
                             f"{result['pa_mean_epe_mm']:8.2f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--train-on", nargs="+", choices=tuple(DATASETS), default=list(DATASETS),
                        help="training sets (each run is still scored on both test sets)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/cross_dataset_lifting"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands import evaluate_workdir
    from jaxhands.baselines import evaluate_baseline
    from jaxhands.training.loop import train

    rows, baselines = [], {}
    for train_on in args.train_on:
        name = DATASETS[train_on]
        other = next(d for d in DATASETS if d != train_on)
        for variant in args.variants:
            for seed in args.seeds:
                config = jaxhands.load_config(name.format(v=variant), [f"seed={seed}", *args.set])
                workdir = args.workdir / f"{config.name}_s{seed}"
                start = time.perf_counter()
                train(config, workdir, progress=False)
                row = {"train_on": train_on, "config": config.name, "seed": seed, "overrides": list(args.set),
                       "steps": config.num_train_steps, "train_seconds_this_call": time.perf_counter() - start,
                       "scores": {train_on: _summary(evaluate_workdir(workdir)),
                                  other: _summary(evaluate_workdir(workdir, dataset=other))}}
                rows.append(row)
                print(f"{config.name} seed {seed}: " + ", ".join(
                    f"{k} {v['mean_epe_mm']:.2f} mm (PA {v['pa_mean_epe_mm']:.2f})" for k, v in row["scores"].items()),
                    flush=True)
        # The baselines read only the config's dataset and invariances: Var. 1's config stands for both.
        config = jaxhands.load_config(name.format(v=args.variants[0]), list(args.set))
        baselines[train_on] = {b: {train_on: _summary(evaluate_baseline(b, config)),
                                   other: _summary(evaluate_baseline(b, config, test_dataset=other))}
                               for b in BASELINES}
        if args.out:  # after every training set: a crash keeps what was measured
            args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows,
                                            "baselines": baselines}, indent=2) + "\n")
    print("\n" + _table(rows, baselines))


if __name__ == "__main__":
    main()
