"""Yang & Yao 2019 dVAE, check D6 of the spec: the depth crop embedded into the
disentangled pose latent (Alg. 1's second stage, decoders frozen) against Spurr et al.'s
Var. 1 depth -> 3D at the same image-training budget, two seeds.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_embedding.py --steps 3000 --seeds 0 1 \
        [--disentangled-from /tmp/dvae_dis/seed{seed}] [--set KEY=VALUE ...] \
        [--workdir DIR] [--out docs/results/dvae_embedding.json]

Per seed:
- the dVAE (`yangyao19_dvae_pose_depth`): its disentangling stage (dvae_disentangle_steps
  on poses), then --steps embedding steps of the depth encoder. With --disentangled-from
  (a path template with {seed}), the stage-1 checkpoint of benchmarks/dvae_disentangle.py
  is copied in and training resumes from it, so only the embedding stage runs;
- Spurr Var. 1 (`spurr18_depth_to_3d_var1`) for --steps steps: the same encoder, crop,
  augmentation, batch and learning rate, trained end to end on depth -> 3D.
Both are evaluated on the whole test split (mean EPE, PA-EPE, spread; jaxhands.evaluate_workdir),
beside the untrained dVAE and the mean training pose. D6 asks: dVAE <= 0.85 x the mean
pose, no worse than Spurr by more than the two-seed spread, and the dVAE's two prediction
paths (Dp(z), and Dc(z_c) turned by Dv(z_v)) within 0.5 x their error of each other.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import time

import numpy as np

SUMMARY = ("step", "mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50", "spread_ratio")


def _summary(result: dict) -> dict:
    return {k: result[k] for k in SUMMARY if k in result}


def two_paths(workdir: pathlib.Path) -> dict:
    """The dVAE's direct (Dp) and composed (Dc @ Dv) predictions on the test split:
    each one's mean joint error (mm, visible joints) and their mean distance apart."""
    import jax

    from jaxhands import load_run
    from jaxhands.training.experiment import build_experiment

    run = load_run(workdir)
    direct = jax.jit(run.method.predict)
    composed = jax.jit(run.method.predict_composed)
    errors = {"direct": [], "composed": [], "apart": []}
    for batch in build_experiment(run.config).eval_batches():
        keep = np.asarray(batch["valid"]).astype(bool)
        visible = np.asarray(batch["visible"])[keep]
        gt = np.asarray(batch["keypoints_3d"])[keep]
        p, q = (np.asarray(f(run.params, run.model_state, batch))[keep] for f in (direct, composed))
        for name, a, b in (("direct", p, gt), ("composed", q, gt), ("apart", p, q)):
            errors[name].append(np.linalg.norm(a - b, axis=-1)[visible])
    out = {f"{k}_mm": 1000.0 * float(np.concatenate(v).mean()) for k, v in errors.items()}
    out["apart_over_error"] = out["apart_mm"] / max(out["direct_mm"], out["composed_mm"])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="image-training steps of both methods")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--disentangled-from", default=None,
                        help="template of a stage-1 workdir per seed, e.g. /tmp/dvae_dis/seed{seed}")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dVAE config overrides")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_embedding"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands import evaluate_workdir
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    rows = []
    for seed in args.seeds:
        dvae = jaxhands.load_config("yangyao19_dvae_pose_depth", [f"seed={seed}", *args.set])
        first = dvae.dvae_disentangle_steps
        dvae = jaxhands.load_config("yangyao19_dvae_pose_depth", [
            f"seed={seed}", f"num_train_steps={first + args.steps}", "eval_every=0", f"checkpoint_every={args.steps}",
            "log_every=500", *args.set])
        spurr = jaxhands.load_config("spurr18_depth_to_3d_var1", [
            f"seed={seed}", f"num_train_steps={args.steps}", "eval_every=0", f"checkpoint_every={args.steps}",
            "log_every=500"])
        dvae_dir, spurr_dir = args.workdir / f"dvae_s{seed}", args.workdir / f"spurr_s{seed}"
        if args.disentangled_from and not (dvae_dir / "checkpoints").exists():
            source = pathlib.Path(args.disentangled_from.format(seed=seed))
            if not (source / "checkpoints" / str(first)).exists():
                raise SystemExit(f"--disentangled-from: {source}/checkpoints/{first} not found (the dVAE's "
                                 f"dvae_disentangle_steps is {first})")
            shutil.copytree(source / "checkpoints" / str(first), dvae_dir / "checkpoints" / str(first))
        row = {"seed": seed, "steps": args.steps, "dvae_overrides": list(args.set),
               "disentangled_from": args.disentangled_from}
        for name, config, workdir in (("dvae", dvae, dvae_dir), ("spurr_var1", spurr, spurr_dir)):
            start = time.perf_counter()
            train(config, workdir, progress=False)
            row[f"{name}_train_seconds"] = time.perf_counter() - start
            row[name] = _summary(evaluate_workdir(workdir))
            print(f"seed {seed} {name}: {row[name]} ({row[f'{name}_train_seconds']:.0f} s)", flush=True)
        row["dvae_untrained"] = _summary(evaluate_workdir(dvae_dir, untrained=True))
        mean = evaluate_mean_pose(dvae)
        row["mean_pose"] = {k: mean[k] for k in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50")}
        row["dvae_two_paths"] = two_paths(dvae_dir)
        row["dvae_over_mean_pose"] = row["dvae"]["mean_epe_mm"] / mean["mean_epe_mm"]
        row["spurr_over_mean_pose"] = row["spurr_var1"]["mean_epe_mm"] / mean["mean_epe_mm"]
        print(f"seed {seed}: dVAE {row['dvae_over_mean_pose']:.3f} x mean pose, Spurr Var.1 "
              f"{row['spurr_over_mean_pose']:.3f} x, two paths {row['dvae_two_paths']}", flush=True)
        rows.append(row)
        if args.out:  # after every seed: a crash keeps what was measured
            args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2)
                                + "\n")


if __name__ == "__main__":
    main()
