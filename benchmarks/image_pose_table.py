"""Image -> 3D runs beside their baselines: the README's crop-protocol table.

    python benchmarks/image_pose_table.py --workdirs workdirs/rgb_s0@6500 workdirs/rgb_s1 ... \
        [--early-step 1500] [--box-jitter 0.1 0.2 | --no-box-jitter] [--out docs/results/crop_protocol.json]
        [--keep-measured]

For every trained workdir (train.py with an image config: RGB or depth -> 3D) it
evaluates, all on the whole test split through `jaxhands.evaluate_workdir`:

- the trained model (latest checkpoint) and, with --early-step, that checkpoint;
- the untrained model (same config, fresh parameters);
- the mean pose (jaxhands.baselines.mean_pose);
- the mean hand fitted to each test hand (jaxhands.baselines.mean_articulation): an
  oracle viewpoint with no articulation, so its PA-EPE is the floor a model's PA-EPE
  must beat to have learnt articulation (the mean pose's PA-EPE is a shrunken blob's);
- the nearest training crop in pixels (jaxhands.baselines.pixel_nearest_neighbour);
- the trained model on crops from jittered boxes (--box-jitter: centre and side off
  by up to that fraction of the side; 0.1 and 0.2 unless --no-box-jitter), the cost of a
  detector-quality box.

Every figure is mean EPE (mm, visible joints, hand3d EvalUtil) with PA-EPE and the
prediction spread ratio (~0 = one constant pose); ratios are to the mean pose.
The JSON keeps each run's config fields, how its config differs from the named config the
library ships at measurement (`differs_from_named`: overrides, or a named config changed
since), and the commit and command line of every start and resume (the workdir's
provenance.jsonl), beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_BOX_JITTERS = (0.1, 0.2)


def _summary(result: dict) -> dict:
    return {k: result[k] for k in ("step", "mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50",
                                   "spread_ratio") if k in result}


def parse_workdir(arg: str) -> tuple[pathlib.Path, int | None]:
    """"DIR" (latest checkpoint) or "DIR@STEP" (that checkpoint, e.g. the last one within a time budget)."""
    path, _, step = arg.partition("@")
    if step and not step.isdigit():
        raise SystemExit(f"--workdirs {arg!r}: expected DIR or DIR@STEP with STEP a checkpoint step number")
    return pathlib.Path(path), (int(step) if step else None)


def training_seconds(workdir: pathlib.Path, up_to_step: int | None = None) -> float | None:
    """Training wall-clock from the run's metrics.jsonl: each logged window's steps over its
    steps/s (evaluation and checkpoint pauses excluded), summed up to `up_to_step`; None
    when the log has no rates."""
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return None
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    seconds, previous = 0.0, 0
    for record in sorted(records, key=lambda r: r["step"]):
        if up_to_step is not None and record["step"] > up_to_step:
            break
        if record.get("steps_per_sec"):
            seconds += (record["step"] - previous) / record["steps_per_sec"]
        previous = record["step"]
    return seconds or None


# The baselines read only the data: runs that differ in what they train (seed, variant, steps,
# rate) share them, so a table of N runs fits the pixel nearest neighbour once, not N times.
_TRAINING_ONLY = ("name", "seed", "variant", "pairs", "num_train_steps", "learning_rate", "lr_schedule")
_BASELINES: dict[str, dict] = {}
_BASELINE_FIELDS = ("mean_pose", "mean_articulation", "pixel_nearest_neighbour")


def _baseline_key(config) -> str:
    fields = json.loads(config.to_json_best_effort())
    if fields["labelled_fraction"] < 1.0:  # the labelled subset is drawn per seed
        return json.dumps(fields, sort_keys=True)
    return json.dumps({k: v for k, v in fields.items() if k not in _TRAINING_ONLY}, sort_keys=True)


def keep_baselines(row: dict) -> None:
    """Seeds the baseline cache from a kept row, so the runs added after it do not fit the
    same baselines again."""
    from jaxhands import load_config

    if not pathlib.Path(row["workdir"]).exists():
        return  # its config is gone with it; the next run on the same data measures them again
    key = _baseline_key(load_config(row["workdir"]))
    if key not in _BASELINES and all(k in row for k in _BASELINE_FIELDS):
        _BASELINES[key] = {k: row[k] for k in _BASELINE_FIELDS}


def evaluate_run(workdir: pathlib.Path, *, step: int | None = None, early_step: int | None, box_jitters) -> dict:
    from jaxhands import evaluate_workdir, load_config
    from jaxhands.baselines import evaluate_mean_articulation, evaluate_mean_pose, evaluate_pixel_nearest_neighbour
    from jaxhands.training.provenance import read_provenance

    config = load_config(workdir)
    row = {"workdir": str(workdir), "name": config.name, "input": config.input_modality, "seed": config.seed,
           "num_train_steps": config.num_train_steps, "lr_schedule": config.lr_schedule,
           "mlp_layers": config.mlp_layers, "crop": config.hand_crop.to_dict(),
           "augment": config.augment.to_dict(),
           "num_train_images": config.synthetic_num_train, "labelled_fraction": config.labelled_fraction}
    if config.method == "cross_modal":  # Alg. 1 alternates the pairs: one pair's update per step
        from jaxhands.methods.cross_modal import CrossModalVAE
        row["variant"] = config.variant
        row["pairs"] = [f"{i}->{t}" for i, t in CrossModalVAE(config).pairs]
    # The commit and command of every start and resume (runs from before the record: []).
    row["provenance"] = read_provenance(workdir)
    row["differs_from_named"] = differs_from_named(config)
    row["trained"] = _summary(evaluate_workdir(workdir, step=step))
    row["training_seconds"] = training_seconds(workdir, row["trained"]["step"])
    row["untrained"] = _summary(evaluate_workdir(workdir, untrained=True))
    key = _baseline_key(config)
    if key not in _BASELINES:
        mean = evaluate_mean_pose(config)
        oracle = evaluate_mean_articulation(config)
        nn = evaluate_pixel_nearest_neighbour(config)
        _BASELINES[key] = {
            "mean_pose": {k: mean[k] for k in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm", "auc_20_50")},
            "mean_articulation": {k: oracle[k] for k in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm",
                                                         "auc_20_50")},
            "pixel_nearest_neighbour": {k: nn[k] for k in ("mean_epe_mm", "median_epe_mm", "pa_mean_epe_mm",
                                                           "auc_20_50", "pool_size")}}
    row.update(_BASELINES[key])
    add_missing_extras(row, workdir, early_step=early_step, box_jitters=box_jitters)
    return row


def differs_from_named(config) -> dict:
    """{dotted field: the run's value} where the run's config differs from its named config
    as the library ships it now (command-line overrides and any change of the named config
    since the run), less the bookkeeping fields; {} for a config without a name."""
    from jaxhands.configs import config_names, get_config
    from jaxhands.configs.workdir_record import config_differences
    from jaxhands.evaluation.results_tables import UNSHOWN_OVERRIDES

    if config.name not in config_names():
        return {}
    return {k: new for k, (_, new) in config_differences(get_config(config.name), config).items()
            if k.split(".")[0] not in UNSHOWN_OVERRIDES}


def latest_checkpoint_step(workdir: pathlib.Path) -> int | None:
    """The newest finished checkpoint's step, from the step folders' names (orbax writes a
    step to a temporary name and renames it when the save is complete)."""
    directory = workdir / "checkpoints"
    steps = [int(p.name) for p in directory.iterdir() if p.name.isdigit()] if directory.is_dir() else []
    return max(steps, default=None)


def extra_evaluations(*, early_step: int | None, box_jitters) -> dict[str, dict]:
    """{row key: evaluate_workdir arguments} of the extra evaluations asked for (jittered
    boxes at the row's checkpoint, an early checkpoint)."""
    extras = {f"box_jitter_{j:g}": {"box_jitter": j} for j in box_jitters}
    if early_step:
        extras[f"step_{early_step}"] = {"step": early_step}
    return extras


def measured_row(previous: list[dict], workdir: pathlib.Path, step: int | None) -> dict | None:
    """The row of an earlier invocation that measured this workdir at this checkpoint, or None
    (then it is evaluated again). A workdir that no longer exists (runs in a scratch folder, a
    table grown over several machines) keeps its row at whatever checkpoint it was measured,
    or at `step` if one is named."""
    gone = not workdir.exists()
    if step is None and not gone:
        step = latest_checkpoint_step(workdir)
    for row in previous:
        if row["workdir"] == str(workdir) and (row["trained"]["step"] == step or (gone and step is None)):
            return row
    if gone:
        raise SystemExit(f"--workdirs {workdir}: no such folder, and --out has no row measured from it "
                         f"{'at step ' + str(step) if step is not None else ''}")
    return None


def add_missing_extras(row: dict, workdir: pathlib.Path, *, early_step: int | None, box_jitters) -> list[str]:
    """Evaluates into a row the extra evaluations it lacks (all of them for a fresh row; for a
    kept one, e.g. jittered boxes asked for after it was measured); returns their keys. Extras
    the row has beyond those asked for are kept: they were measured on the same checkpoint. A
    row whose workdir is gone cannot be completed: SystemExit names what is missing."""
    wanted = extra_evaluations(early_step=early_step, box_jitters=box_jitters)
    missing = sorted(set(wanted) - set(row))
    if missing and not workdir.exists():
        raise SystemExit(f"--workdirs {workdir}: no such folder, and its row in --out lacks {missing}; "
                         "drop those evaluations or restore the workdir")
    from jaxhands import evaluate_workdir

    for key in missing:
        row[key] = _summary(evaluate_workdir(workdir, **{"step": row["trained"]["step"], **wanted[key]}))
    return missing


def print_table(rows) -> None:
    print(f"\n{'run':34s} {'mean pose':>9s} {'pixel NN':>9s} {'untrained':>9s} {'trained':>9s} {'ratio':>6s} "
          f"{'PA':>6s} {'PA floor':>8s} {'spread':>6s}  jittered boxes")
    for r in rows:
        base = r["mean_pose"]["mean_epe_mm"]
        t = r["trained"]
        jit = "  ".join(f"{k[len('box_jitter_'):]}: {v['mean_epe_mm']:.1f}" for k, v in r.items()
                        if k.startswith("box_jitter_"))
        print(f"{r['name'] + ' s' + str(r['seed']):34s} {base:9.2f} {r['pixel_nearest_neighbour']['mean_epe_mm']:9.2f} "
              f"{r['untrained']['mean_epe_mm']:9.2f} {t['mean_epe_mm']:9.2f} {t['mean_epe_mm'] / base:6.3f} "
              f"{t['pa_mean_epe_mm']:6.2f} {r['mean_articulation']['pa_mean_epe_mm']:8.2f} "
              f"{t['spread_ratio']:6.3f}  {jit}")
        for k, v in r.items():
            if k.startswith("step_"):
                print(f"{'  at ' + k.replace('_', ' '):34s} {'':9s} {'':9s} {'':9s} {v['mean_epe_mm']:9.2f} "
                      f"{v['mean_epe_mm'] / base:6.3f} {v['pa_mean_epe_mm']:6.2f} {'':8s} {v['spread_ratio']:6.3f}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; `box_jitters` is the list of jitters to evaluate, resolved."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdirs", nargs="+", required=True,
                        help="training workdirs, each DIR (latest checkpoint) or DIR@STEP")
    parser.add_argument("--early-step", type=int, default=None, help="also evaluate this checkpoint")
    parser.add_argument("--box-jitter", nargs="*", type=float, default=None, metavar="FRACTION",
                        help="also evaluate on crops from boxes jittered by up to these fractions of the side "
                             f"(default, and a bare --box-jitter: {' '.join(map(str, DEFAULT_BOX_JITTERS))})")
    parser.add_argument("--no-box-jitter", action="store_true", help="skip the jittered-box evaluations")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON file for the rows")
    parser.add_argument("--keep-measured", action="store_true",
                        help="reuse the rows of --out that measured the same workdir and checkpoint, adding "
                             "only the extra evaluations they lack (a table grown one run at a time evaluates "
                             "each run once)")
    args = parser.parse_args(argv)
    if args.no_box_jitter and args.box_jitter:
        parser.error("--box-jitter and --no-box-jitter contradict each other")
    # A bare --box-jitter once meant "none" (argparse's empty list), which silently dropped the
    # jittered-box columns of every table measured with it; it now means the default.
    args.box_jitters = [] if args.no_box_jitter else (args.box_jitter or list(DEFAULT_BOX_JITTERS))
    return args


def main():
    args = parse_args(sys.argv[1:])
    box_jitters = args.box_jitters
    previous = json.loads(args.out.read_text())["rows"] if args.keep_measured and args.out and args.out.exists() else []
    rows = []
    for arg in args.workdirs:
        workdir, step = parse_workdir(arg)
        row = measured_row(previous, workdir, step)
        if row is not None:
            added = add_missing_extras(row, workdir, early_step=args.early_step, box_jitters=box_jitters)
            print(f"{workdir}: kept the row measured at step {row['trained']['step']} ({args.out})"
                  + (f", added {', '.join(added)}" if added else ""))
            keep_baselines(row)
        else:
            row = evaluate_run(workdir, step=step, early_step=args.early_step, box_jitters=box_jitters)
        rows.append(row)
        if args.out:  # after every run: a crash keeps what was measured
            args.out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2))
    print_table(rows)


if __name__ == "__main__":
    main()
