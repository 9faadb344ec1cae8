"""Crossing Nets on the synthetic depth crops beside its baselines: checks C6 (full method,
10 % labels, 2 seeds), C7 (ablations) and C8 (the semi-supervised curve) of the spec.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/crossing_nets_table.py \
        --configs wan17_crossing_nets_full wan17_crossing_nets_scratch --seeds 0 1 \
        [--labelled 0.1] [--set KEY=VALUE ...] [--workdir workdirs/crossing_nets] \
        [--out docs/results/crossing_nets_table.json]

Each (config, labelled fraction, seed) is trained with train.py's loop in its own workdir
(an interrupted table resumes from the checkpoints) and evaluated on the whole test split
(jaxhands.evaluate_workdir): mean / median joint error (mm, camera frame: Crossing Nets
uses no ground-truth root or scale), AUC and the PCF success rate (Wan et al. Fig. 3/4)
averaged over 0-80 mm. Beside them, per labelled fraction, computed once:
- the mean pose placed at each test map's label-free depth centre plus the mean training
  origin: the information Crossing Nets has;
- the mean pose with each test sample's ground-truth root and scale (stronger than fair);
- nn-search: the nearest training depth crop (pooled pixels) and its pose, as above.
The JSON is rewritten after every run, so a stopped table keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def summary(result: dict) -> dict:
    pcf = np.asarray(result["pcf"]["success_rate"], np.float64) if "pcf" in result else None
    out = {k: result[k] for k in ("step", "mean_epe_mm", "median_epe_mm", "auc_20_50", "spread_ratio") if k in result}
    if pcf is not None:
        out["pcf_mean_0_80"] = float(pcf.mean())
    return out


def mean_pose_at_depth_centre(config) -> dict:
    """The mean root-relative training pose, rooted at the test map's depth centre plus the
    mean training origin (root - centre): no label at test time, like Crossing Nets."""
    import jax.numpy as jnp

    from jaxhands.evaluation.metrics import evaluate_keypoints, success_rate_curve
    from jaxhands.methods.crossing_nets import depth_centre
    from jaxhands.training.experiment import build_experiment

    experiment = build_experiment(config)
    relative, origins = [], []
    for i, batch in enumerate(experiment.streams().batches("labelled", 0)):
        if i * config.batch_size >= 4000:
            break
        joints = np.asarray(batch["keypoints_3d"])
        relative.append(joints - joints[:, :1])
        origins.append(joints[:, 0] - np.asarray(depth_centre(jnp.asarray(batch["depth"]),
                                                              jnp.asarray(batch["intrinsics"]))))
    mean_relative, mean_origin = np.concatenate(relative).mean(0), np.concatenate(origins).mean(0)
    preds, gts, visible = [], [], []
    for batch in experiment.eval_batches():
        valid = np.asarray(batch["valid"])
        centre = np.asarray(depth_centre(jnp.asarray(batch["depth"]), jnp.asarray(batch["intrinsics"])))
        preds.append((mean_relative + (centre + mean_origin)[:, None])[valid])
        gts.append(np.asarray(batch["keypoints_3d"])[valid])
        visible.append(np.asarray(batch["visible"], bool)[valid])
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    metrics = evaluate_keypoints(pred, gt, np.concatenate(visible))  # visible joints, as evaluate_workdir
    pcf = success_rate_curve(pred, gt, np.arange(0, 81, dtype=np.float64))
    return {"mean_epe_mm": metrics["mean_epe_mm"], "median_epe_mm": metrics["median_epe_mm"],
            "auc_20_50": metrics["auc"], "pcf_mean_0_80": float(np.mean(pcf))}


def baselines(config) -> dict:
    from jaxhands.baselines import evaluate_mean_pose, evaluate_pixel_nearest_neighbour

    keep = ("mean_epe_mm", "median_epe_mm", "auc_20_50")
    mean_gt = evaluate_mean_pose(config)
    nn = evaluate_pixel_nearest_neighbour(config)
    return {"mean_pose_at_depth_centre": mean_pose_at_depth_centre(config),
            "mean_pose_ground_truth_root_scale": {k: mean_gt[k] for k in keep if k in mean_gt},
            "nn_search_ground_truth_root_scale": {k: nn[k] for k in keep if k in nn}}


def print_table(rows: list[dict], base: dict) -> None:
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["labelled_fraction"], row["config"]), []).append(row["trained"])
    for (fraction, name), results in sorted(groups.items()):
        epe = np.array([r["mean_epe_mm"] for r in results])
        pcf = np.array([r.get("pcf_mean_0_80", np.nan) for r in results])
        print(f"m={100 * fraction:g}% {name:40s} mean EPE {epe.mean():7.2f} +- {epe.std():5.2f} mm  PCF(0-80) "
              f"{pcf.mean():.3f} +- {pcf.std():.3f}  ({len(results)} seeds)")
    for fraction, b in sorted(base.items()):
        for name, r in b.items():
            print(f"m={100 * float(fraction):g}% {name:40s} mean EPE {r['mean_epe_mm']:7.2f} mm"
                  + (f"  PCF(0-80) {r['pcf_mean_0_80']:.3f}" if "pcf_mean_0_80" in r else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["wan17_crossing_nets_full", "wan17_crossing_nets_scratch"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--labelled", type=float, nargs="+", default=[0.1])
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], help="KEY=VALUE applied to every config")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/crossing_nets"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands.training.loop import train

    previous = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
    rows = [r for r in previous.get("rows", [])]
    base = previous.get("baselines", {})
    done = {(r["config"], r["labelled_fraction"], r["seed"]) for r in rows}
    for fraction in args.labelled:
        for name in args.configs:
            for seed in args.seeds:
                if (name, fraction, seed) in done:
                    continue
                config = jaxhands.load_config(name, [f"seed={seed}", f"labelled_fraction={fraction}", *args.overrides])
                workdir = args.workdir / f"{name}_m{fraction:g}_seed{seed}"
                start = time.perf_counter()
                train(config, workdir, progress=False)
                seconds = time.perf_counter() - start
                rows.append({"config": name, "labelled_fraction": fraction, "seed": seed, "workdir": str(workdir),
                             "overrides": args.overrides, "train_seconds_this_call": seconds,
                             "trained": summary(jaxhands.evaluate_workdir(workdir)),
                             "untrained": summary(jaxhands.evaluate_workdir(workdir, untrained=True))})
                print(f"{name} m={fraction:g} seed {seed}: {json.dumps(rows[-1]['trained'])} ({seconds:.0f} s)",
                      flush=True)
                if args.out:
                    args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows,
                                                    "baselines": base}, indent=2) + "\n")
        if str(fraction) not in base:
            config = jaxhands.load_config(args.configs[0], [f"labelled_fraction={fraction}", *args.overrides])
            base[str(fraction)] = baselines(config)
    print_table(rows, base)
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows, "baselines": base},
                                       indent=2) + "\n")


if __name__ == "__main__":
    main()
