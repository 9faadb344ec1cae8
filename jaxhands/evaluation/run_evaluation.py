"""Evaluate a trained run on its whole test split: the papers' metrics, plus pictures.

    result = evaluate_workdir("workdirs/var3")                   # writes workdirs/var3/eval/
    result = evaluate_run(load_run("workdirs/var3", step=1500), out_dir=None)   # metrics only

Metrics follow hand3d's EvalUtil (visible joints; ground-truth root and scale, as every
paper here): mean/median EPE, PCK over 0-50 mm, AUC over 20-50 mm, per-joint EPE,
Procrustes-aligned EPE, PCF success rates, and the prediction spread across the test set
(a ratio near 0 = one constant pose, jaxhands.evaluation.spread).
"""

from __future__ import annotations

import json
import pathlib
import re

import jax
import numpy as np

from jaxhands.evaluation.metrics import evaluate_keypoints, joint_level_epe_mm, pa_mean_epe_mm, success_rate_curve
from jaxhands.evaluation.spread import batch_spread
from jaxhands.runs import TrainedRun, load_run

NUM_EXAMPLES = 8  # test samples drawn in examples.png


def dataset_slug(dataset: str) -> str:
    """A folder-name form of a dataset name or path ("stb" -> "stb", "/data/rhd/" -> "data_rhd")."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", str(dataset)).strip("_.")
    if not slug:
        raise ValueError(f"dataset {dataset!r} has no usable name")
    return slug[-80:]


def eval_dir_name(untrained: bool = False, box_jitter: float = 0.0, step: int | str | None = None,
                  dataset: str | None = None) -> str:
    """eval, eval_untrained, eval_step1500, eval_best, eval_box_jitter0.1, eval_on_stb, ...: one folder per
    checkpoint, protocol and test dataset (another dataset never writes over the in-domain results)."""
    name = "eval_untrained" if untrained else ("eval" if step is None else f"eval_{step}" if step == "best"
                                               else f"eval_step{step}")
    if dataset is not None:
        name += f"_on_{dataset_slug(dataset)}"
    return f"{name}_box_jitter{box_jitter:g}" if box_jitter else name


def evaluate_workdir(workdir: str | pathlib.Path, *, step: int | str | None = None, untrained: bool = False,
                     box_jitter: float = 0.0, write: bool = True, dataset: str | None = None) -> dict:
    """`evaluate_run` of `load_run(workdir, step, untrained=...)`; with `write`, into
    <workdir>/<eval_dir_name(...)>/ (metrics.json, pck.png, predictions.npz, examples.png,
    and clouds.png for methods that decode a point cloud). `dataset`: test on another
    dataset's test split (a name under the data root or a path), written to eval_on_<name>."""
    workdir = pathlib.Path(workdir)
    run = load_run(workdir, step, untrained=untrained)
    if dataset == run.config.dataset:
        dataset = None
    out_dir = workdir / eval_dir_name(untrained, box_jitter, None if untrained else step, dataset) if write else None
    return evaluate_run(run, box_jitter=box_jitter, out_dir=out_dir, dataset=dataset)


def predict_test_split(run: TrainedRun, *, box_jitter: float = 0.0, experiment=None):
    """(pred, gt, visible) over the whole test split: [N, 21, 3] metres, [N, 21, 3], [N, 21] bool.
    box_jitter: crop around a perturbed box (centre moved, side scaled by up to this fraction)."""
    from jaxhands.training import sharding
    from jaxhands.training.experiment import build_experiment

    experiment = experiment or build_experiment(run.config)
    mesh = sharding.make_mesh()
    params, model_state = sharding.put_replicated((run.params, run.model_state), mesh)
    predict = jax.jit(run.method.predict, out_shardings=sharding.replicated(mesh))
    preds, gts, vis = [], [], []
    for batch in experiment.eval_batches(box_jitter=box_jitter):
        global_batch = sharding.put_batch(batch, mesh)
        out = predict(params, model_state, global_batch)
        gathered = sharding.gather({k: global_batch[k] for k in ("valid", "keypoints_3d", "visible")}, mesh)
        valid = np.asarray(gathered["valid"])
        preds.append(np.asarray(out)[valid])
        gts.append(np.asarray(gathered["keypoints_3d"])[valid])
        vis.append(np.asarray(gathered["visible"])[valid])
    return tuple(np.concatenate(a) for a in (preds, gts, vis))


def evaluate_run(run: TrainedRun, *, box_jitter: float = 0.0, out_dir: str | pathlib.Path | None = None,
                 dataset: str | None = None) -> dict:
    """The metrics of `run` on its test split, or on `dataset`'s (a dict, JSON-ready); with
    `out_dir`, also metrics.json, pck.png, predictions.npz, examples.png (and clouds.png) there."""
    from jaxhands.training.experiment import build_experiment, hand_crop_config

    config = run.config
    # The training split is not read: a dataset converted with its test split alone will do.
    experiment = build_experiment(config, test_dataset=dataset, need_train=False)
    pred, gt, visible = predict_test_split(run, box_jitter=box_jitter, experiment=experiment)
    # EvalUtil convention: visible joints only (synthetic visibility comes from the z-buffer).
    metrics = evaluate_keypoints(pred, gt, visible)
    metrics_all = evaluate_keypoints(pred, gt, None)
    thresholds = np.arange(0, 81, dtype=np.float64)
    pcf = success_rate_curve(pred, gt, thresholds)
    pred_spread_mm = 1000.0 * float(batch_spread(pred - pred[:, :1]))
    gt_spread_mm = 1000.0 * float(batch_spread(gt - gt[:, :1]))
    crop = hand_crop_config(config)
    result = {
        "step": run.step,
        "num_samples": int(pred.shape[0]),
        "dataset": dataset or config.dataset,
        "trained_on": config.dataset,
        "method": config.method,
        "convention": "hand3d EvalUtil: per-joint mean/median over visible joints, then averaged over joints; "
                      "PCK on linspace(0, 50 mm, 20); AUC of the PCK curve over 20-50 mm, normalised to [0, 1]",
        "mean_epe_mm": metrics["mean_epe_mm"],
        "median_epe_mm": metrics["median_epe_mm"],
        "auc_20_50": metrics["auc"],
        "auc_0_50": metrics["auc_pck_range"],
        "pck": {"thresholds_mm": metrics["pck"][0], "values": metrics["pck"][1]},
        "per_joint_epe_mm": metrics["per_joint_epe_mm"],
        "joint_level_epe_mm": joint_level_epe_mm(metrics["per_joint_epe_mm"]),
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
    result = jsonable(result)
    if out_dir is not None:
        _write(run, experiment, result, metrics, pred, gt, visible, pathlib.Path(out_dir))
    return result


def _write(run, experiment, result, metrics, pred, gt, visible, out_dir: pathlib.Path) -> None:
    from jaxhands.evaluation.plots import plot_pck_curve, plot_prediction_grid

    config = run.config
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    plot_pck_curve({config.name: metrics["pck"]}, out_dir / "pck.png",
                   title=f"3D PCK ({result['dataset']}, {pred.shape[0]} samples)")
    np.savez_compressed(out_dir / "predictions.npz", pred=pred, gt=gt, visible=visible)
    shown = min(NUM_EXAMPLES, pred.shape[0])
    sample_epe = np.linalg.norm(pred - gt, axis=-1).mean(-1) * 1000.0
    plot_prediction_grid(pred[:shown], gt[:shown], out_dir / "examples.png",
                         titles=[f"test {i}: {sample_epe[i]:.1f} mm" for i in range(shown)],
                         title=f"{config.name} step {run.step}: black dashed = prediction")
    _plot_decoded_clouds(run, experiment, out_dir / "clouds.png")
    if config.tensorboard:
        _to_tensorboard(run, result, out_dir)


_BOARD_SCALARS = ("mean_epe_mm", "median_epe_mm", "auc_20_50", "pa_mean_epe_mm", "spread_ratio")  # + joint levels


def _to_tensorboard(run: TrainedRun, result: dict, out_dir: pathlib.Path) -> None:
    """The headline metrics and the figures, at the evaluated step, under test_split/<folder>/
    (test_split/eval/, test_split/eval_on_stb/, ...), into the workdir's TensorBoard files:
    apart from training's eval/* tags, which are its quick check on a few test batches."""
    from jaxhands.training.tensorboard import TensorBoardWriter

    with TensorBoardWriter(run.workdir) as board:
        tag = f"test_split/{out_dir.name}/"
        board.scalars(run.step, {k: result[k] for k in _BOARD_SCALARS}, prefix=tag)
        board.scalars(run.step, {k: v for k, v in result["joint_level_epe_mm"].items() if v is not None},
                      prefix=tag + "epe_mm_")
        for figure in ("pck", "examples", "clouds"):
            if (out_dir / f"{figure}.png").is_file():
                board.png(run.step, tag + figure, out_dir / f"{figure}.png")


def _plot_decoded_clouds(run: TrainedRun, experiment, path: pathlib.Path) -> None:
    """Yang et al. Fig. 3 on the first test samples, for methods that decode a cloud."""
    from jaxhands.evaluation.plots import plot_point_cloud_pairs

    from jaxhands.methods.base import DecodesClouds

    method = run.method
    if not isinstance(method, DecodesClouds) or method.cloud_decoder is None:
        return
    cloud = method.cloud_decoder
    batch = next(iter(experiment.eval_batches()))
    decode = jax.jit(lambda p, s, b: (method.predict_cloud(p, s, b), method.modality_data(cloud, b)))
    recon, target = (np.asarray(a) for a in decode(run.params, run.model_state, batch))
    shown = min(6, recon.shape[0])
    plot_point_cloud_pairs(target[:shown], recon[:shown], path,
                           title=f"{cloud} decoded from q(z | {method.input}), step {run.step}")


def jsonable(x):
    """Numpy arrays and scalars as lists and Python numbers; NaN/Inf as None (strict JSON
    has no NaN: a joint never visible has no EPE)."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
