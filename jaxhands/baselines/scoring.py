"""The metrics every baseline reports, computed one way (hand3d EvalUtil conventions)."""

from __future__ import annotations

import numpy as np

from jaxhands.evaluation.metrics import evaluate_keypoints, pa_mean_epe_mm


def baseline_metrics(pred, gt, visible, *, num_train: int, **extra) -> dict:
    """{mean_epe_mm, median_epe_mm, auc_20_50, pa_mean_epe_mm, num_samples, num_train, ...extra}
    of predictions [N, 21, 3] against gt [N, 21, 3] (metres) over the visible joints."""
    pred, gt, visible = np.asarray(pred, np.float32), np.asarray(gt, np.float32), np.asarray(visible, bool)
    metrics = evaluate_keypoints(pred, gt, visible)
    return {"mean_epe_mm": float(metrics["mean_epe_mm"]), "median_epe_mm": float(metrics["median_epe_mm"]),
            "auc_20_50": float(metrics["auc"]), "pa_mean_epe_mm": pa_mean_epe_mm(pred, gt, visible),
            "num_samples": int(gt.shape[0]), "num_train": int(num_train), **extra}


def stacked_records(source, fields) -> dict:
    """{field: [N, ...]} of every record of a random-access source."""
    records = [source[i] for i in range(len(source))]
    return {f: np.stack([np.asarray(r[f]) for r in records]) for f in fields}


def baseline_sources(config, *, test_dataset: str | None = None):
    """(training records, test source) a baseline fits and scores on: config's splits
    (`build_sources`), the training records limited to those that keep their labels when
    config.labelled_fraction < 1, as the semi-supervised run beside it sees them."""
    from jaxhands.data.streams import labelled_records
    from jaxhands.training.experiment import build_sources

    train_source, test_source = build_sources(config, test_dataset=test_dataset)
    return labelled_records(train_source, config.labelled_fraction, config.seed), test_source
