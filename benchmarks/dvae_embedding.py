"""Yang & Yao 2019 dVAE, check D6 of the spec: the depth (or RGB) crop embedded into the
disentangled pose latent (Alg. 1's second stage, decoders frozen) against Spurr et al.'s
Var. 1 image -> 3D at the same image-training budget, two seeds.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_embedding.py --steps 3000 --seeds 0 1 \
        [--modality depth|rgb] [--disentangled-from /tmp/dvae_dis/seed{seed}] [--set KEY=VALUE ...] \
        [--spurr-from /tmp/runs/rgb_var1_s{seed}] [--workdir DIR] [--out docs/results/dvae_embedding.json]

Per seed:
- the dVAE (`yangyao19_dvae_pose_{modality}`): its disentangling stage (dvae_disentangle_steps
  on poses), then --steps embedding steps of the image encoder. With --disentangled-from
  (a path template with {seed}), the stage-1 checkpoint of benchmarks/dvae_disentangle.py
  is copied in and training resumes from it, so only the embedding stage runs;
- Spurr Var. 1 (`spurr18_{modality}_to_3d_var1`) for --steps steps: the same encoder, crop,
  augmentation, batch and learning rate, trained end to end on image -> 3D. With
  --spurr-from (a path template with {seed}) a finished run of that config is scored instead
  of training it again; its config must be the one this script would train (bookkeeping
  fields aside, and those named by --spurr-ignore: e.g. a default changed since that run in
  a field Var. 1 does not read), else the script stops and names the fields that differ.
--out is written after every seed and keeps the rows of the seeds not run this time (same
steps, modality and dVAE overrides; another setting is refused), so seeds can be added one
session at a time; each row carries the command that measured it.
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

from results_file import kept_rows

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


def reusable_run(template: str, seed: int, config, ignore: tuple[str, ...] = ()) -> pathlib.Path:
    """The workdir `template` names for `seed`, checked to hold a finished run of `config`:
    the same fields (less bookkeeping: logging, checkpoint and evaluation cadence, data folder)
    and a checkpoint at its last step; `ignore`: dotted fields (or their first parts) whose
    difference the caller has checked does not matter. SystemExit naming the difference otherwise."""
    import jaxhands
    from jaxhands.configs.workdir_record import config_differences

    source = pathlib.Path(template.format(seed=seed))
    if not (source / "config.json").is_file():
        raise SystemExit(f"--spurr-from: {source}/config.json not found (no finished run there)")
    # Fields that change what is logged, saved or warned about, not what is learnt. The collapse
    # thresholds can stop a run (collapse_action "stop"), but a run that reached its last
    # checkpoint (checked below) trained exactly as it would have under any threshold.
    bookkeeping = ("eval_every", "log_every", "checkpoint_every", "data_dir", "max_checkpoints_to_keep",
                   "keep_checkpoint_every", "collapse_patience_steps", "collapse_spread_threshold")
    changes = {k: v for k, v in config_differences(config, jaxhands.load_config(source)).items()
               if k.split(".")[0] not in bookkeeping and k not in ignore and k.split(".")[0] not in ignore}
    if changes:
        said = ", ".join(f"{k} {there!r} there, {here!r} here" for k, (here, there) in changes.items())
        raise SystemExit(f"--spurr-from: {source} trained another config than the {config.name} this script "
                         f"would train (seed {seed}, {config.num_train_steps} steps): {said}")
    if not (source / "checkpoints" / str(config.num_train_steps)).is_dir():
        raise SystemExit(f"--spurr-from: {source} has no checkpoint at step {config.num_train_steps}")
    return source


def _setting(row: dict) -> dict:
    """What rows must share to sit in one results file (rows from before --modality are depth)."""
    return {"steps": row.get("steps"), "modality": row.get("modality", "depth"),
            "dvae_overrides": list(row.get("dvae_overrides", []))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="image-training steps of both methods")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--modality", choices=("depth", "rgb"), default="depth", help="the embedded image")
    parser.add_argument("--disentangled-from", default=None,
                        help="template of a stage-1 workdir per seed, e.g. /tmp/dvae_dis/seed{seed}")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dVAE config overrides")
    parser.add_argument("--spurr-from", default=None,
                        help="template of a finished Spurr Var. 1 workdir per seed to score instead of training one")
    parser.add_argument("--spurr-ignore", nargs="*", default=[], metavar="FIELD",
                        help="config fields in which the --spurr-from run may differ (recorded in the results)")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_embedding"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands import evaluate_workdir
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    command = " ".join(["python"] + sys.argv)
    setting = {"steps": args.steps, "modality": args.modality, "dvae_overrides": list(args.set)}
    rows = kept_rows(args.out, setting, args.seeds, setting_of=_setting)
    for seed in args.seeds:
        dvae_name, spurr_name = f"yangyao19_dvae_pose_{args.modality}", f"spurr18_{args.modality}_to_3d_var1"
        dvae = jaxhands.load_config(dvae_name, [f"seed={seed}", *args.set])
        first = dvae.dvae_disentangle_steps
        dvae = jaxhands.load_config(dvae_name, [
            f"seed={seed}", f"num_train_steps={first + args.steps}", "eval_every=0", f"checkpoint_every={args.steps}",
            "log_every=500", *args.set])
        spurr = jaxhands.load_config(spurr_name, [
            f"seed={seed}", f"num_train_steps={args.steps}", "eval_every=0", f"checkpoint_every={args.steps}",
            "log_every=500"])
        dvae_dir, spurr_dir = args.workdir / f"dvae_s{seed}", args.workdir / f"spurr_s{seed}"
        if args.disentangled_from and not (dvae_dir / "checkpoints").exists():
            source = pathlib.Path(args.disentangled_from.format(seed=seed))
            if not (source / "checkpoints" / str(first)).exists():
                raise SystemExit(f"--disentangled-from: {source}/checkpoints/{first} not found (the dVAE's "
                                 f"dvae_disentangle_steps is {first})")
            shutil.copytree(source / "checkpoints" / str(first), dvae_dir / "checkpoints" / str(first))
        if args.spurr_from:
            spurr_dir = reusable_run(args.spurr_from, seed, spurr, tuple(args.spurr_ignore))
        row = {"seed": seed, "command": command, **setting, "disentangled_from": args.disentangled_from,
               "spurr_from": args.spurr_from and str(spurr_dir), "spurr_ignored_fields": list(args.spurr_ignore)}
        for name, config, workdir in (("dvae", dvae, dvae_dir), ("spurr_var1", spurr, spurr_dir)):
            if not (name == "spurr_var1" and args.spurr_from):
                start = time.perf_counter()
                train(config, workdir, progress=False)
                row[f"{name}_train_seconds"] = time.perf_counter() - start
            row[name] = _summary(evaluate_workdir(workdir))
            took = row.get(f"{name}_train_seconds")
            print(f"seed {seed} {name}: {row[name]} ({f'{took:.0f} s' if took else f'from {workdir}'})", flush=True)
        row["dvae_untrained"] = _summary(evaluate_workdir(dvae_dir, untrained=True))
        mean = evaluate_mean_pose(dvae)
        row["mean_pose"] = {k: mean[k] for k in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50")}
        row["dvae_two_paths"] = two_paths(dvae_dir)
        row["dvae_over_mean_pose"] = row["dvae"]["mean_epe_mm"] / mean["mean_epe_mm"]
        row["spurr_over_mean_pose"] = row["spurr_var1"]["mean_epe_mm"] / mean["mean_epe_mm"]
        print(f"seed {seed}: dVAE {row['dvae_over_mean_pose']:.3f} x mean pose, Spurr Var.1 "
              f"{row['spurr_over_mean_pose']:.3f} x, two paths {row['dvae_two_paths']}", flush=True)
        rows = sorted(rows + [row], key=lambda r: r["seed"])
        if args.out:  # after every seed: a crash keeps what was measured
            args.out.write_text(json.dumps({"command": command, "rows": rows}, indent=2)
                                + "\n")


if __name__ == "__main__":
    main()
