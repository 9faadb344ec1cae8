"""Evaluate a trained experiment, or a published prediction file.

    python eval.py --workdir DIR
        restores DIR's latest checkpoint, predicts 3D joints for the whole test split and
        writes DIR/eval/metrics.json (mean/median EPE mm, PCK curve, AUC 20-50 mm, PCF
        success rates), DIR/eval/pck.png, DIR/eval/predictions.npz, DIR/eval/examples.png
        (predicted over ground-truth skeletons of the first test samples) and, for
        methods that decode a point cloud (Yang et al. S2-S4), DIR/eval/clouds.png (the
        cloud decoded from the input's latent next to the ground-truth cloud).

    python eval.py --predictions FILE --ground-truth FILE --dataset icvl|nyu|msra
        scores a (u, v, d) prediction file of the depth benchmarks: mean 3D error (mm)
        and the success-rate curve (fraction of frames whose max joint error <= t).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def evaluate_workdir(workdir: pathlib.Path, *, step: int | None = None, untrained: bool = False,
                     box_jitter: float = 0.0) -> dict:
    import jax
    import ml_collections
    import numpy as np

    from jaxhands.evaluation.metrics import evaluate_keypoints, pa_mean_epe_mm, success_rate_curve
    from jaxhands.evaluation.spread import batch_spread
    from jaxhands.training.experiment import hand_crop_config
    from jaxhands.evaluation.plots import plot_pck_curve, plot_prediction_grid
    from jaxhands.training import sharding
    from jaxhands.training.checkpoints import Checkpointer
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import initial_state, make_predict_fn, restore_latest

    config_path = workdir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: is {workdir} a training workdir (python train.py --workdir ...)?")
    config = ml_collections.ConfigDict(json.loads(config_path.read_text()))
    mesh = sharding.make_mesh()
    experiment = build_experiment(config)
    state = initial_state(experiment, config, mesh)
    if not untrained:
        checkpointer = Checkpointer(workdir)
        if checkpointer.latest_step() is None:
            raise FileNotFoundError(f"no checkpoint in {checkpointer.directory}; train first")
        if step is None:
            state = restore_latest(checkpointer, state)
        else:
            abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
            state = checkpointer.restore(abstract, step)
        checkpointer.close()
    predict = make_predict_fn(experiment, mesh)
    preds, gts, vis = [], [], []
    for batch in experiment.eval_batches(box_jitter=box_jitter):
        global_batch = sharding.put_batch(batch, mesh)
        out, _ = predict(state.params, state.model_state, global_batch)
        gathered = sharding.gather({k: global_batch[k] for k in ("valid", "keypoints_3d", "visible")}, mesh)
        valid = np.asarray(gathered["valid"])
        preds.append(np.asarray(out)[valid])
        gts.append(np.asarray(gathered["keypoints_3d"])[valid])
        vis.append(np.asarray(gathered["visible"])[valid])
    pred, gt, visible = (np.concatenate(a) for a in (preds, gts, vis))
    # EvalUtil convention: visible joints only (synthetic visibility comes from the z-buffer).
    metrics = evaluate_keypoints(pred, gt, visible)
    metrics_all = evaluate_keypoints(pred, gt, None)
    thresholds = np.arange(0, 81, dtype=np.float64)
    pcf = success_rate_curve(pred, gt, thresholds)
    # Collapse check: spread of the root-relative predictions across the test set beside
    # the ground truth's (jaxhands.evaluation.spread); a ratio near 0 = one constant pose.
    pred_spread_mm = 1000.0 * float(batch_spread(pred - pred[:, :1]))
    gt_spread_mm = 1000.0 * float(batch_spread(gt - gt[:, :1]))
    crop = hand_crop_config(config)
    result = {
        "step": int(jax.device_get(state.step)),
        "num_samples": int(pred.shape[0]),
        "dataset": config.dataset,
        "method": config.method,
        "convention": "hand3d EvalUtil: per-joint mean/median over visible joints, then averaged over joints; "
                      "PCK on linspace(0, 50 mm, 20); AUC of the PCK curve over 20-50 mm, normalised to [0, 1]",
        "mean_epe_mm": metrics["mean_epe_mm"],
        "median_epe_mm": metrics["median_epe_mm"],
        "auc_20_50": metrics["auc"],
        "auc_0_50": metrics["auc_pck_range"],
        "pck": {"thresholds_mm": metrics["pck"][0], "values": metrics["pck"][1]},
        "per_joint_epe_mm": metrics["per_joint_epe_mm"],
        "pa_mean_epe_mm": pa_mean_epe_mm(pred, gt, visible),
        "prediction_spread_mm": pred_spread_mm,
        "ground_truth_spread_mm": gt_spread_mm,
        "spread_ratio": pred_spread_mm / max(gt_spread_mm, 1e-9),
        "crop": {"mode": crop.mode, "margin": crop.margin, "cube_size_m": crop.cube_size_m,
                 "out_size": crop.out_size, "box": "ground truth" if not box_jitter else
                 f"ground truth, centre and side jittered by up to {box_jitter:g} of the side (seeded per record)",
                 "box_jitter": box_jitter},
        "all_joints": {"mean_epe_mm": metrics_all["mean_epe_mm"], "median_epe_mm": metrics_all["median_epe_mm"],
                       "auc_20_50": metrics_all["auc"]},
        "pcf": {"thresholds_mm": thresholds, "success_rate": pcf},
    }
    out_dir = workdir / eval_dir_name(untrained, box_jitter, None if untrained else step)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(_jsonable(result), indent=2))
    plot_pck_curve({config.get("name", config.method): metrics["pck"]},
                   out_dir / "pck.png", title=f"3D PCK ({config.dataset}, {pred.shape[0]} samples)")
    np.savez_compressed(out_dir / "predictions.npz", pred=pred, gt=gt, visible=visible)
    shown = min(NUM_EXAMPLES, pred.shape[0])
    sample_epe = np.linalg.norm(pred - gt, axis=-1).mean(-1) * 1000.0
    plot_prediction_grid(pred[:shown], gt[:shown], out_dir / "examples.png",
                         titles=[f"test {i}: {sample_epe[i]:.1f} mm" for i in range(shown)],
                         title=f"{config.get('name', config.method)} step {result['step']}: black dashed = prediction")
    _plot_decoded_clouds(experiment, state, mesh, out_dir / "clouds.png", f"step {result['step']}")
    return result


NUM_EXAMPLES = 8


def eval_dir_name(untrained: bool = False, box_jitter: float = 0.0, step: int | None = None) -> str:
    """eval, eval_untrained, eval_step1500, eval_box_jitter0.1, ...: one folder per checkpoint and protocol."""
    name = "eval_untrained" if untrained else ("eval" if step is None else f"eval_step{step}")
    return f"{name}_box_jitter{box_jitter:g}" if box_jitter else name


def _plot_decoded_clouds(experiment, state, mesh, path, label: str) -> None:
    """Yang et al. Fig. 3 on the first test samples, for methods that decode a cloud."""
    import jax
    import numpy as np

    from jaxhands.evaluation.plots import plot_point_cloud_pairs
    from jaxhands.training import sharding

    method = experiment.method
    cloud = getattr(method, "cloud_decoder", None)
    if cloud is None:
        return
    batch = sharding.put_batch(next(iter(experiment.eval_batches())), mesh)
    decode = jax.jit(lambda p, s, b: (method.predict_cloud(p, s, b), method.modality_data(cloud, b)),
                     out_shardings=sharding.replicated(mesh))
    recon, target = (np.asarray(a) for a in decode(state.params, state.model_state, batch))
    shown = min(6, recon.shape[0])
    plot_point_cloud_pairs(target[:shown], recon[:shown], path,
                           title=f"{cloud} decoded from q(z | {method.input}), {label}")


def _jsonable(x):
    import numpy as np

    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not np.isfinite(x):
        return None  # strict JSON has no NaN: a joint never visible has no EPE
    return x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, help="training workdir to evaluate")
    parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    parser.add_argument("--untrained", action="store_true", help="evaluate the freshly initialised model (baseline)")
    parser.add_argument("--box-jitter", type=float, default=0.0,
                        help="crop test images around a perturbed box: centre moved and side scaled by up to this "
                             "fraction of the side (e.g. 0.1, 0.2), to measure the cost of a detector-quality box; "
                             "default 0 = the ground-truth box (the papers' protocol)")
    parser.add_argument("--predictions", type=pathlib.Path, help="(u, v, d) prediction file")
    parser.add_argument("--ground-truth", type=pathlib.Path, help="(u, v, d) ground-truth file")
    parser.add_argument("--dataset", choices=["icvl", "nyu", "msra"], help="depth benchmark of the files")
    args = parser.parse_args(argv)

    if args.predictions or args.ground_truth:
        if not (args.predictions and args.ground_truth and args.dataset):
            parser.error("--predictions needs --ground-truth and --dataset")
        from jaxhands.evaluation.prediction_files import evaluate_prediction_file

        result = evaluate_prediction_file(args.predictions, args.ground_truth, args.dataset)
        print(f"{args.dataset}: {result['num_frames']} frames, mean 3D joint error {result['mean_error_mm']:.3f} mm")
        thresholds, values = result["success_rate"]
        for t, v in zip(thresholds, values):
            if float(t) % 10 == 0:
                print(f"  success rate @ {float(t):4.0f} mm: {100 * float(v):6.2f} %")
        return 0
    if not args.workdir:
        parser.error("give --workdir, or --predictions/--ground-truth/--dataset")
    result = evaluate_workdir(args.workdir, step=args.step, untrained=args.untrained, box_jitter=args.box_jitter)
    print(f"step {result['step']}, {result['num_samples']} test samples ({result['dataset']}), "
          f"crop {result['crop']['mode']} ({result['crop']['box']}):")
    print(f"  mean EPE   {result['mean_epe_mm']:.2f} mm   median EPE {result['median_epe_mm']:.2f} mm   "
          f"PA-EPE {result['pa_mean_epe_mm']:.2f} mm")
    print(f"  AUC 20-50  {result['auc_20_50']:.4f}")
    print(f"  spread     {result['prediction_spread_mm']:.1f} mm predicted vs {result['ground_truth_spread_mm']:.1f} mm "
          f"true (ratio {result['spread_ratio']:.3f}; ~0 = one constant pose)")
    out = eval_dir_name(args.untrained, args.box_jitter, None if args.untrained else args.step)
    print(f"wrote {args.workdir / out / 'metrics.json'} and {args.workdir / out / 'pck.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
