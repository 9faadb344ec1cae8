"""Evaluation: 3D keypoint metrics (EPE, PCK, AUC, success rate), the depth benchmarks'
(u, v, d) prediction files, and PNG plots (curves, skeletons).

Inputs in metres, reported values in millimetres; see each module's docstring for the
exact conventions (hand3d EvalUtil for EPE/PCK/AUC; xyz-space errors for the depth files).
"""

from jaxhands.evaluation.metrics import (area_under_curve, epe_per_joint, evaluate_keypoints, evalutil_measures,
                                         joint_distances, joint_errors_mm, mean_joint_error_mm, pck_at, pck_auc,
                                         success_rate_curve, success_rate_from_errors)
from jaxhands.evaluation.plots import (plot_pck_curve, plot_skeleton_2d_on_image, plot_skeleton_3d,
                                       plot_skeleton_grid, plot_success_rate)
from jaxhands.evaluation.prediction_files import (DEPTH_DATASETS, DepthDataset, PredictionFileError,
                                                  depth_dataset, evaluate_prediction_file, load_uvd_file,
                                                  uvd_file_to_xyz_mm, uvd_to_xyz_mm)

__all__ = [
    "DEPTH_DATASETS", "DepthDataset", "PredictionFileError", "area_under_curve", "depth_dataset",
    "epe_per_joint", "evaluate_keypoints", "evaluate_prediction_file", "evalutil_measures",
    "joint_distances", "joint_errors_mm", "load_uvd_file", "mean_joint_error_mm", "pck_at", "pck_auc",
    "plot_pck_curve", "plot_skeleton_2d_on_image", "plot_skeleton_3d", "plot_skeleton_grid",
    "plot_success_rate", "success_rate_curve", "success_rate_from_errors", "uvd_file_to_xyz_mm",
    "uvd_to_xyz_mm",
]
