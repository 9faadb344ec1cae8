"""Yang & Yao 2019 dVAE, check D9 of the spec: semi- and weakly supervised against
supervised at a labelled fraction m = 10 % (Sec. 4.4, Fig. 9; the spec's reduced CPU grid
m in {10, 100} %: at 100 % the three settings are one, the supervised run of
docs/results/dvae_embedding.json at the same budget), two seeds.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/dvae_semi.py --seeds 0 1 \
        [--disentangle-steps 3000] [--steps 3000] [--settings sup10 semi weak weak_mix weak_equal]
        [--mix-rows 16] [--reuse docs/results/dvae_semi.json] [--workdir DIR] [--out docs/results/dvae_semi.json]

Per seed, three runs of the depth 3DPose dVAE with the same seeded 10 % labelled subset:
- sup10 (`yangyao19_dvae_pose_depth_sup10`): both stages see only the labelled records;
- semi (`yangyao19_dvae_pose_depth_semi`): the disentangling stage reads every record's
  pose, unpaired; the embedding only the labelled images;
- weak (`yangyao19_dvae_pose_depth_weak`): semi's disentangling stage (its stage-end
  checkpoint is copied in: the two settings differ only in the embedding), and the
  embedding also reads every unlabelled image with its viewpoint term alone, from the
  train stream (about 10 % labelled rows per batch);
- weak_mix: weak, its embedding batches holding --mix-rows labelled rows each
  (`labelled_mix` stream, config.stream_labelled_rows), the rest drawn from every image.
- weak_equal: weak at equal labelled rows: batches of twice sup10's size, half of them
  labelled, so the pose terms see as many labelled rows per step as sup10's and semi's
  embedding and the viewpoint term as many unlabelled rows again (twice the images per step).
A workdir that already holds a finished run is evaluated, not retrained, so settings can
be added to an earlier call's workdir. `--reuse FILE` takes, per seed, the settings FILE
already measured (same steps and overrides; the row says which were reused) instead of
training them; semi's first stage is then trained alone (stop_after) when a weak setting
needs its checkpoint and the workdir does not hold it.
Each is evaluated on the whole test split (jaxhands.evaluate_workdir), beside the mean
training pose and the untrained model. D9 asks: semi and weak <= sup10, averaged over the
seeds (the paper: up to 3.5 % and 7.5 % lower mean EPE on RHD).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import time

SETTINGS = ("sup10", "semi", "weak", "weak_mix", "weak_equal")
BASELINES = ("untrained", "mean_pose")
SUMMARY = ("step", "mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50", "spread_ratio")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--disentangle-steps", type=int, default=3000, help="steps of the disentangling stage")
    parser.add_argument("--steps", type=int, default=3000, help="steps of the embedding stage")
    parser.add_argument("--settings", nargs="+", default=["sup10", "semi", "weak"], choices=SETTINGS,
                        help="sup10 and semi are needed (the baseline; the weak runs' first stage)")
    parser.add_argument("--mix-rows", type=int, default=16, help="weak_mix: labelled rows per embedding batch")
    parser.add_argument("--reuse", type=pathlib.Path, default=None,
                        help="a results file of this benchmark: settings it measured with these steps and overrides "
                             "are not re-run")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("workdirs/dvae_semi"))
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    import jaxhands
    from jaxhands import evaluate_workdir
    from jaxhands.baselines import evaluate_mean_pose
    from jaxhands.training.loop import train

    first, total = args.disentangle_steps, args.disentangle_steps + args.steps
    settings = [s for s in SETTINGS if s in args.settings]
    if settings[:2] != ["sup10", "semi"]:
        parser.error("--settings must include sup10 (the baseline) and semi (the weak runs' first stage)")
    # Read before --out (which may be the same file) is written.
    reusable, reused_from = reusable_rows(args.reuse, first, args.steps, list(args.set)) if args.reuse \
        else ({}, None)

    def configured(name: str, seed: int, extra: tuple[str, ...] | list[str] = ()):
        return jaxhands.load_config(f"yangyao19_dvae_pose_depth_{name}", [
            f"seed={seed}", f"dvae_disentangle_steps={first}", f"num_train_steps={total}", "eval_every=0",
            f"checkpoint_every={args.steps}", "log_every=500", *extra, *args.set])

    sup10_batch = jaxhands.load_config("yangyao19_dvae_pose_depth_sup10", list(args.set)).batch_size
    rows = []
    for seed in args.seeds:
        row = {"seed": seed, "disentangle_steps": first, "embed_steps": args.steps, "overrides": list(args.set)}
        earlier = reusable.get(seed, {})
        for name in BASELINES:
            if name in earlier:
                row[name] = earlier[name]
        for setting in settings:
            config = configured(setting.split("_")[0], seed, batch_overrides(setting, sup10_batch, args.mix_rows))
            workdir = args.workdir / f"{setting}_s{seed}"
            if setting in earlier:
                row[setting] = earlier[setting]
                row.setdefault("reused", []).append(setting)
                print(f"seed {seed} {setting}: reused from {args.reuse}: {row[setting]}", flush=True)
                continue
            if setting.startswith("weak") and not (workdir / "checkpoints").exists():
                semi_stage1 = args.workdir / f"semi_s{seed}" / "checkpoints" / str(first)
                if not semi_stage1.exists() and "semi" in row.get("reused", []):
                    # The reused semi run's checkpoint is gone: its first stage alone, again.
                    train(configured("semi", seed), args.workdir / f"semi_s{seed}", stop_after=first, progress=False)
                if not semi_stage1.exists():
                    raise SystemExit(f"the weak run starts from the semi run's stage-end checkpoint, {semi_stage1}: "
                                     f"not found")
                shutil.copytree(semi_stage1, workdir / "checkpoints" / str(first))
            start = time.perf_counter()
            train(config, workdir, progress=False)
            row[f"{setting}_train_seconds"] = time.perf_counter() - start
            row[setting] = {k: v for k, v in evaluate_workdir(workdir).items() if k in SUMMARY}
            print(f"seed {seed} {setting}: {row[setting]} ({row[f'{setting}_train_seconds']:.0f} s)", flush=True)
            if setting == "sup10" and "mean_pose" not in row:
                row["untrained"] = {k: v for k, v in evaluate_workdir(workdir, untrained=True).items()
                                    if k in SUMMARY}
                mean = evaluate_mean_pose(config)
                row["mean_pose"] = {k: mean[k] for k in SUMMARY if k in mean}
        for setting in [s for s in earlier if s in SETTINGS and s not in row]:
            row[setting] = earlier[setting]  # measured before, not asked for now: kept
            row.setdefault("reused", []).append(setting)
        measured = [s for s in SETTINGS if s in row]
        base = row["sup10"]["mean_epe_mm"]
        for setting in measured[1:]:
            row[f"{setting}_over_sup10"] = row[setting]["mean_epe_mm"] / base
        for setting in measured:
            row[f"{setting}_over_mean_pose"] = row[setting]["mean_epe_mm"] / row["mean_pose"]["mean_epe_mm"]
        rows.append(row)
        out = {"command": " ".join(["python"] + sys.argv), "rows": rows}
        if args.reuse:
            out["reused_from"] = reused_from
        common = [s for s in SETTINGS if all(s in r for r in rows)]
        out["seed_mean_mm"] = {s: sum(r[s]["mean_epe_mm"] for r in rows) / len(rows) for s in common}
        print(f"after seed {seed}: mean over seeds {out['seed_mean_mm']}", flush=True)
        if args.out:  # after every seed: a crash keeps what was measured
            args.out.write_text(json.dumps(out, indent=2) + "\n")


def batch_overrides(setting: str, sup10_batch: int, mix_rows: int) -> list[str]:
    """The config overrides that make `setting`'s embedding batches (see the module docstring)."""
    if setting == "weak_mix":
        return [f"stream_labelled_rows={mix_rows}"]
    if setting == "weak_equal":
        return [f"stream_labelled_rows={sup10_batch}", f"batch_size={2 * sup10_batch}"]
    return []


def reusable_rows(path: pathlib.Path, first: int, steps: int, overrides: list[str]) -> tuple[dict[int, dict], dict]:
    """({seed: row} of the rows in `path` measured with these steps and overrides, the file's
    command and note: where those rows came from)."""
    try:
        earlier = json.loads(path.read_text())
        rows = earlier["rows"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"--reuse {path}: not a results file of this benchmark ({error})") from error
    setting = {"disentangle_steps": first, "embed_steps": steps, "overrides": overrides}
    found = {r["seed"]: r for r in rows if all(r.get(k) == v for k, v in setting.items())}
    if not found:
        raise SystemExit(f"--reuse {path}: no row was measured with {setting}; its rows have "
                         f"{[{k: r.get(k) for k in setting} for r in rows]}")
    return found, {k: v for k, v in earlier.items() if k in ("command", "note")}


if __name__ == "__main__":
    main()
