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


def _scored(pred, gt, visible) -> dict:
    from jaxhands.evaluation.metrics import evaluate_keypoints, success_rate_curve

    metrics = evaluate_keypoints(pred, gt, visible)  # visible joints, as evaluate_workdir
    pcf = success_rate_curve(pred, gt, np.arange(0, 81, dtype=np.float64))
    return {"mean_epe_mm": metrics["mean_epe_mm"], "median_epe_mm": metrics["median_epe_mm"],
            "auc_20_50": metrics["auc"], "pcf_mean_0_80": float(np.mean(pcf))}


def _crops(experiment, batches, limit: int | None = None):
    """(pooled maps [N, (S/4)^2], joints - depth centre [N, 21, 3], centres [N, 3], visible [N, 21]) over
    `batches`, each record once (by record_index), at most `limit` records."""
    import jax.numpy as jnp

    from jaxhands.methods.crossing_nets import CrossingNets, depth_centre

    method = CrossingNets(experiment.config)
    seen, feats, rel, centres, visible = set(), [], [], [], []
    for batch in batches:
        keep = np.asarray(batch.get("valid", np.ones(len(batch["depth"]), bool)), bool)
        if "record_index" in batch:
            index = np.asarray(batch["record_index"])
            fresh = np.array([i not in seen for i in index])
            if not fresh.any():
                break  # a new epoch of the stream: every record seen
            seen.update(int(i) for i in index)
            keep &= fresh
        x = np.asarray(method.depth_input({"depth": jnp.asarray(batch["depth"])}))
        n, size = x.shape[0], x.shape[1]
        feats.append(x.reshape(n, size // 4, 4, size // 4, 4).mean((2, 4)).reshape(n, -1)[keep])
        centre = np.asarray(depth_centre(jnp.asarray(batch["depth"]), jnp.asarray(batch["intrinsics"])))
        rel.append((np.asarray(batch["keypoints_3d"]) - centre[:, None])[keep])
        centres.append(centre[keep])
        if "visible" in batch:
            visible.append(np.asarray(batch["visible"], bool)[keep])
        if limit and sum(len(f) for f in feats) >= limit:
            break
    return (np.concatenate(feats), np.concatenate(rel), np.concatenate(centres),
            np.concatenate(visible) if visible else None)


def nn_search_at_depth_centre(config) -> dict:
    """nn-search (Wan et al.'s baseline, pooled 4x4 pixels instead of PCA-512): the labelled
    training crop nearest to the test crop lends its joints relative to its depth centre,
    placed at the test map's depth centre (no label at test time)."""
    from jaxhands.training.experiment import build_experiment

    experiment = build_experiment(config)
    keys, key_rel, _, _ = _crops(experiment, experiment.streams().batches("labelled", 0))
    queries, query_rel, query_centre, visible = _crops(experiment, experiment.eval_batches())
    nearest = np.concatenate([np.argmin(((q[:, None] - keys[None]) ** 2).sum(-1), axis=1)
                              for q in np.array_split(queries, max(1, len(queries) // 64))])
    pred = key_rel[nearest] + query_centre[:, None]
    gt = query_rel + query_centre[:, None]
    return {**_scored(pred, gt, visible), "num_train": int(len(keys))}


def mean_pose_at_depth_centre(config) -> dict:
    """The mean root-relative training pose, rooted at the test map's depth centre plus the
    mean training origin (root - centre): no label at test time, like Crossing Nets."""
    import jax.numpy as jnp

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
    return _scored(np.concatenate(preds), np.concatenate(gts), np.concatenate(visible))


def baselines(config) -> dict:
    from jaxhands.baselines import evaluate_mean_pose, evaluate_pixel_nearest_neighbour

    keep = ("mean_epe_mm", "median_epe_mm", "auc_20_50")
    mean_gt = evaluate_mean_pose(config)
    nn = evaluate_pixel_nearest_neighbour(config)
    return {"mean_pose_at_depth_centre": mean_pose_at_depth_centre(config),
            "nn_search_at_depth_centre": nn_search_at_depth_centre(config),
            "mean_pose_ground_truth_root_scale": {k: mean_gt[k] for k in keep if k in mean_gt},
            "nn_search_ground_truth_root_scale": {k: nn[k] for k in keep if k in nn}}


# Fields in which a run may differ from the run whose first stages it reuses: they act only
# after the reused stages (the warm-up / joint / posterior objectives and the schedule's end).
REUSABLE_DIFFERENCES = {"name", "cn_lambda_smo", "cn_lambda_gan", "cn_variant", "num_train_steps"}


def reuse_stages(config, workdir: pathlib.Path, source_config, source_workdir: pathlib.Path, step: int) -> None:
    """Starts `workdir` from `source_workdir`'s checkpoint at `step` (a stage end both runs
    share, e.g. the end of the GAN stage for the ablations): the steps before it are the
    same computation, so only the later stages are trained."""
    import shutil

    if (workdir / "checkpoints").exists():
        return
    differ = {k for k in set(config) | set(source_config) if config.get(k) != source_config.get(k)}
    if differ - REUSABLE_DIFFERENCES:
        raise SystemExit(f"--reuse-stages-from: {config.name} and {source_config.name} differ in "
                         f"{sorted(differ - REUSABLE_DIFFERENCES)}, so their first {step} steps are not the same")
    source = source_workdir / "checkpoints" / str(step)
    if not source.is_dir():
        raise SystemExit(f"--reuse-stages-from: no checkpoint {source} (a kept stage end?)")
    shutil.copytree(source, workdir / "checkpoints" / str(step))


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
    parser.add_argument("--recompute-baselines", action="store_true")
    parser.add_argument("--reuse-stages-from", default=None, metavar="CONFIG@STEP",
                        help="start each run from the same seed's CONFIG run's checkpoint at STEP (a shared stage "
                             "end, e.g. wan17_crossing_nets_full@21500 for the ablations and gan_pretrained)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands.training.loop import train

    previous = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
    rows = [r for r in previous.get("rows", [])]
    base = {} if args.recompute_baselines else previous.get("baselines", {})
    done = {(r["config"], r["labelled_fraction"], r["seed"]) for r in rows}
    for fraction in args.labelled:
        for name in args.configs:
            for seed in args.seeds:
                if (name, fraction, seed) in done:
                    continue
                config = jaxhands.load_config(name, [f"seed={seed}", f"labelled_fraction={fraction}", *args.overrides])
                workdir = args.workdir / f"{name}_m{fraction:g}_seed{seed}"
                if args.reuse_stages_from:
                    source_name, _, step = args.reuse_stages_from.partition("@")
                    source_config = jaxhands.load_config(source_name, [f"seed={seed}", f"labelled_fraction={fraction}",
                                                                       *args.overrides])
                    reuse_stages(config, workdir, source_config,
                                 args.workdir / f"{source_name}_m{fraction:g}_seed{seed}", int(step))
                start = time.perf_counter()
                train(config, workdir, progress=False)
                seconds = time.perf_counter() - start
                rows.append({"config": name, "labelled_fraction": fraction, "seed": seed, "workdir": str(workdir),
                             "overrides": args.overrides, "reused_stages_from": args.reuse_stages_from, "train_seconds_this_call": seconds,
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
