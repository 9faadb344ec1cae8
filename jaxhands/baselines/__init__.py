"""Baselines a learnt model is compared with, one interface: `evaluate_baseline(name, config)`
-> the metrics dict of jaxhands.baselines.scoring (mean / median EPE, AUC 20-50, PA-EPE,
sample counts) on the config's test split.

    mean_pose                    the training poses' mean, with each test hand's root and scale
    mean_articulation            the aligned training poses' mean hand, fitted to each test hand
                                 (an oracle viewpoint: the floor a model's PA-EPE must beat)
    keypoint_nearest_neighbour   2D -> 3D: the nearest training 2D pose's 3D pose
    pixel_nearest_neighbour      image -> 3D: the nearest training crop in pixels (option pool_size)

    python -m jaxhands.baselines NAME --config=NAME|FILE [--config.field=value] | --workdir=DIR [--out=FILE]
"""

from __future__ import annotations

from jaxhands.baselines.keypoint_nearest_neighbour import NearestNeighbourLifting, evaluate_keypoint_nearest_neighbour
from jaxhands.baselines.mean_articulation import evaluate_mean_articulation
from jaxhands.baselines.mean_pose import evaluate_mean_pose, mean_normalized_pose, predict_mean_pose
from jaxhands.baselines.pixel_nearest_neighbour import evaluate_pixel_nearest_neighbour

BASELINES = {
    "mean_pose": evaluate_mean_pose,
    "mean_articulation": evaluate_mean_articulation,
    "keypoint_nearest_neighbour": evaluate_keypoint_nearest_neighbour,
    "pixel_nearest_neighbour": evaluate_pixel_nearest_neighbour,
}


def evaluate_baseline(name: str, config, **options) -> dict:
    """BASELINES[name](config, **options), with the baseline's name in the result."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; baselines: {sorted(BASELINES)}")
    return {"name": name, **BASELINES[name](config, **options)}


__all__ = ["BASELINES", "NearestNeighbourLifting", "evaluate_baseline", "evaluate_keypoint_nearest_neighbour",
           "evaluate_mean_articulation", "evaluate_mean_pose", "evaluate_pixel_nearest_neighbour",
           "mean_normalized_pose", "predict_mean_pose"]
