"""Evaluate a trained experiment, or a published prediction file.

    python eval.py --workdir=DIR [--step=N|best] [--untrained] [--box_jitter=0.1]
        restores DIR's latest checkpoint (or step N, or the best by validation EPE; params only), predicts 3D joints for
        the whole test split and writes DIR/eval/metrics.json (mean/median EPE mm, PA-EPE,
        PCK curve, AUC 20-50 mm, PCF success rates, prediction spread), DIR/eval/pck.png,
        DIR/eval/predictions.npz, DIR/eval/examples.png and, for methods that decode a point
        cloud (Yang et al. S2-S4), DIR/eval/clouds.png. Other checkpoints and protocols go
        to their own folders (eval_step1500, eval_untrained, eval_box_jitter0.1).

    python eval.py --workdir=DIR --dataset=NAME_OR_PATH
        the same on another dataset's test split (trained on A, tested on B: a name under
        the data root, e.g. stb, or a converted dataset's path), written to DIR/eval_on_<name>/
        and never over the in-domain results. `python -m jaxhands.baselines mean_pose
        --workdir=DIR --test_dataset=NAME_OR_PATH` gives the baselines of the same pair.

    python eval.py --predictions=FILE --ground_truth=FILE --dataset=icvl|nyu|msra
        scores a (u, v, d) prediction file of the depth benchmarks: mean 3D error (mm)
        and the success-rate curve (fraction of frames whose max joint error <= t).

From Python: `jaxhands.evaluate_workdir(DIR)` or `evaluate_run(jaxhands.load_run(DIR))`.
"""

from __future__ import annotations

import sys
from absl import app, flags

from jaxhands.cli_logging import configure_cli_logging

flags.DEFINE_string("workdir", None, "Training workdir to evaluate.")
flags.DEFINE_string("step", None, "Checkpoint step, or 'best' (the lowest validation EPE; a run trained with "
                    "--config.keep_best_checkpoint); default: the latest.")
flags.DEFINE_bool("untrained", False, "Evaluate the freshly initialised model (a baseline).")
flags.DEFINE_float("box_jitter", 0.0,
                   "Crop test images around a perturbed box: centre moved and side scaled by up to this fraction "
                   "of the side (e.g. 0.1, 0.2), the cost of a detector-quality box; 0 = the ground-truth box "
                   "(the papers' protocol).")
flags.DEFINE_string("predictions", None, "(u, v, d) prediction file of a depth benchmark.")
flags.DEFINE_string("ground_truth", None, "(u, v, d) ground-truth file of a depth benchmark.")
flags.DEFINE_string("dataset", None, "With --workdir: evaluate on this dataset's test split (a name under the "
                    "data root or a path; default: the run's own). With --predictions: the depth benchmark "
                    "of the files, icvl | nyu | msra.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    configure_cli_logging()
    if FLAGS.predictions or FLAGS.ground_truth:
        if not (FLAGS.predictions and FLAGS.ground_truth and FLAGS.dataset):
            raise app.UsageError("--predictions needs --ground_truth and --dataset")
        if FLAGS.dataset not in ("icvl", "nyu", "msra"):
            raise app.UsageError(f"--dataset={FLAGS.dataset!r} with --predictions: expected icvl, nyu or msra")
        from jaxhands.evaluation.prediction_files import evaluate_prediction_file

        result = evaluate_prediction_file(FLAGS.predictions, FLAGS.ground_truth, FLAGS.dataset)
        print(f"{FLAGS.dataset}: {result['num_frames']} frames, mean 3D joint error {result['mean_error_mm']:.3f} mm")
        thresholds, values = result["success_rate"]
        for t, v in zip(thresholds, values):
            if float(t) % 10 == 0:
                print(f"  success rate @ {float(t):4.0f} mm: {100 * float(v):6.2f} %")
        return
    if not FLAGS.workdir:
        raise app.UsageError("give --workdir, or --predictions/--ground_truth/--dataset")
    import pathlib

    from jaxhands.evaluation.run_evaluation import eval_dir_name, evaluate_workdir
    from jaxhands.runs import parse_step

    try:
        step = parse_step(FLAGS.step)
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    result = evaluate_workdir(FLAGS.workdir, step=step, untrained=FLAGS.untrained, box_jitter=FLAGS.box_jitter,
                              dataset=FLAGS.dataset)
    print(f"step {result['step']}, {result['num_samples']} test samples ({result['dataset']}; trained on "
          f"{result['trained_on']}), "
          f"crop {result['crop']['mode']} ({result['crop']['box']}):")
    print(f"  mean EPE   {result['mean_epe_mm']:.2f} mm   median EPE {result['median_epe_mm']:.2f} mm   "
          f"PA-EPE {result['pa_mean_epe_mm']:.2f} mm")
    print(f"  AUC 20-50  {result['auc_20_50']:.4f}")
    print("  per level  " + "   ".join(f"{level} {'n/a' if v is None else f'{v:.2f}'}"
                                      for level, v in result["joint_level_epe_mm"].items()) + " (mm)")
    print(f"  spread     {result['prediction_spread_mm']:.1f} mm predicted vs {result['ground_truth_spread_mm']:.1f} mm "
          f"true (ratio {result['spread_ratio']:.3f}; ~0 = one constant pose)")
    other = FLAGS.dataset if FLAGS.dataset and result["dataset"] != result["trained_on"] else None
    out = pathlib.Path(FLAGS.workdir) / eval_dir_name(FLAGS.untrained, FLAGS.box_jitter,
                                                      None if FLAGS.untrained else step, other)
    print(f"wrote {out}/: {', '.join(sorted(p.name for p in out.iterdir() if p.is_file()))}")


def run() -> None:
    """The `eval` command (`python eval.py` and the `jaxhands-eval` entry point)."""
    # absl prints the __main__ module's docstring for --help: make it this one, whichever
    # wrapper (the top-level script or the console entry point) started the process.
    sys.modules["__main__"].__doc__ = __doc__
    from jaxhands.cli_errors import reporting_user_errors

    app.run(reporting_user_errors("eval.py", main, lambda: FLAGS.workdir or "."))


if __name__ == "__main__":
    run()
