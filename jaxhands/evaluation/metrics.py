"""3D keypoint metrics: EPE, PCK, AUC (RGB benchmarks) and success rate (depth benchmarks).

Inputs are numpy-convertible arrays in METRES, shaped [num_samples, joints, 3], with an
optional visibility mask [num_samples, joints] (bool, or numbers in {0, 1}); reported
values are in MILLIMETRES (thresholds too), PCK and success rates are fractions in [0, 1].
Everything is computed in float64.

EPE / PCK / AUC follow Zimmermann & Brox's hand3d `EvalUtil` (utils/general.py), which
Spurr et al. (vae-hands-3d) reuse unchanged:

* `feed` keeps, per joint, the Euclidean distance of every sample where that joint is
  visible; `get_measures(val_min, val_max, steps)` then, for every joint with at least
  one stored distance, takes the mean, the median and the PCK curve (fraction of that
  joint's distances <= t, for t in linspace(val_min, val_max, steps)), and averages the
  per-joint means, the per-joint medians and the per-joint curves over those joints.
  The mean EPE is therefore a mean of per-joint means (not the mean over all visible
  (sample, joint) pairs), and joints never visible are left out of every average.
* The AUC over [a, b] is trapezoid(curve, t) / trapezoid(ones, t) on the thresholds
  that lie in [a, b]. The papers' "AUC 20-50 mm" comes from hand3d's eval_full.py and
  vae-hands-3d's evaluate_model.py: get_measures(0.0, 0.050, 20) (0-50 mm in 20 steps),
  then the AUC of the curve from index 8 on, i.e. thresholds 21.05 .. 50 mm, normalised
  by 50 - 21.05 mm. Taking the thresholds inside [20, 50] of the default 0-50 mm grid
  selects exactly those 12 points, so `evaluate_keypoints` reproduces that number.

Differences from EvalUtil: distances are float64 (hand3d got float32 arrays from
TensorFlow); thresholds are compared in metres exactly as EvalUtil does (its
linspace in metres), so ties fall the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MM_PER_M = 1000.0
# Thresholds within this many mm of an AUC bound count as inside it (linspace rounding).
_BOUND_TOLERANCE_MM = 1e-6


def _check_finite(array: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name}: contains NaN or Inf (first at index {tuple(int(i) for i in bad)})")


def _as_poses(array, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 3 or array.shape[-1] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected shape [num_samples, joints, 3] with num_samples, joints >= 1, "
                         f"got {array.shape}")
    _check_finite(array, name)
    return array


def _as_pose_pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = _as_poses(pred, "pred"), _as_poses(gt, "gt")
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: pred {pred.shape} vs gt {gt.shape}")
    return pred, gt


def _as_visible(visible, shape: tuple[int, int]) -> np.ndarray:
    if visible is None:
        return np.ones(shape, dtype=bool)
    visible = np.asarray(visible)
    if visible.shape != shape:
        raise ValueError(f"visible: expected shape [num_samples, joints] = {list(shape)}, got {visible.shape}")
    if visible.dtype != bool:
        if not np.issubdtype(visible.dtype, np.number) or not np.all((visible == 0) | (visible == 1)):
            raise ValueError("visible: expected a bool mask or numbers in {0, 1}")
        visible = visible.astype(bool)
    return visible


def _distances_m(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.square(gt - pred), axis=-1))


def joint_distances(pred, gt) -> np.ndarray:
    """Euclidean distance of every joint in every sample, [num_samples, joints], in the inputs' unit."""
    pred, gt = _as_pose_pair(pred, gt)
    return _distances_m(pred, gt)


def joint_errors_mm(pred, gt) -> np.ndarray:
    """Euclidean distance of every joint in every sample, [num_samples, joints] mm (inputs in metres)."""
    return joint_distances(pred, gt) * MM_PER_M


def epe_per_joint(pred, gt, visible=None) -> np.ndarray:
    """Mean end-point error of each joint over the samples where it is visible, [joints] mm.

    A joint visible in no sample gets NaN (EvalUtil skips it in every average).
    """
    pred, gt = _as_pose_pair(pred, gt)
    visible = _as_visible(visible, pred.shape[:2])
    distances = _distances_m(pred, gt) * MM_PER_M
    counts = visible.sum(axis=0)
    sums = np.where(visible, distances, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def joint_level_epe_mm(per_joint_epe_mm) -> dict[str, float]:
    """{wrist, mcp, pip, dip, tip}: the mean of `epe_per_joint`'s values over each level's
    joints (geometry.layouts.JOINT_LEVELS), joints never visible (NaN) skipped; NaN for a
    level with no visible joint. Canonical 21-joint order."""
    from jaxhands.geometry.layouts import JOINT_LEVELS

    per_joint = np.asarray(per_joint_epe_mm, np.float64)
    if per_joint.shape != (21,):
        raise ValueError(f"joint_level_epe_mm expects the 21 canonical joints' EPE, got shape {per_joint.shape}")
    out = {}
    for level, joints in JOINT_LEVELS.items():
        values = per_joint[list(joints)]
        out[level] = float(np.nanmean(values)) if np.any(np.isfinite(values)) else float("nan")
    return out


def mean_joint_error_mm(pred, gt) -> float:
    """Mean joint error over all joints and all frames (the depth benchmarks' figure), mm."""
    return float(np.mean(joint_errors_mm(pred, gt)))


def success_rate_from_errors(errors_mm, thresholds_mm) -> np.ndarray:
    """Fraction of frames whose LARGEST joint error is <= each threshold (PCF), [T].

    `errors_mm` is [num_frames, joints] (e.g. from `joint_errors_mm`); this is the depth
    benchmarks' "success rate" / percentage of correct frames.
    """
    errors = np.asarray(errors_mm, dtype=np.float64)
    if errors.ndim != 2 or errors.shape[0] == 0 or errors.shape[1] == 0:
        raise ValueError(f"errors_mm: expected shape [num_frames, joints] with both >= 1, got {errors.shape}")
    _check_finite(errors, "errors_mm")
    thresholds = _as_thresholds(thresholds_mm)
    worst = errors.max(axis=1)
    return np.mean(worst[None, :] <= thresholds[:, None], axis=1)


def success_rate_curve(pred, gt, thresholds_mm) -> np.ndarray:
    """Fraction of frames whose max joint error is <= each of `thresholds_mm`, [T]."""
    return success_rate_from_errors(joint_errors_mm(pred, gt), thresholds_mm)


def _as_thresholds(thresholds_mm) -> np.ndarray:
    thresholds = np.asarray(thresholds_mm, dtype=np.float64)
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise ValueError(f"thresholds_mm: expected a non-empty 1-D sequence, got shape {thresholds.shape}")
    _check_finite(thresholds, "thresholds_mm")
    return thresholds


def area_under_curve(thresholds, values) -> float:
    """Normalised AUC: trapezoid(values, thresholds) / (thresholds[-1] - thresholds[0]).

    hand3d's `calc_auc`; a curve at 1 everywhere scores 1.
    """
    thresholds, values = np.asarray(thresholds, np.float64), np.asarray(values, np.float64)
    if thresholds.ndim != 1 or thresholds.shape != values.shape or thresholds.size < 2:
        raise ValueError(f"thresholds and values: expected equal 1-D shapes with >= 2 points, "
                         f"got {thresholds.shape} and {values.shape}")
    if not np.all(np.diff(thresholds) > 0):
        raise ValueError("thresholds: expected strictly increasing values")
    return float(np.trapezoid(values, thresholds) / np.trapezoid(np.ones_like(values), thresholds))


def pck_auc(thresholds_mm, values, auc_min_mm: float, auc_max_mm: float) -> float:
    """AUC of a PCK curve restricted to its thresholds inside [auc_min_mm, auc_max_mm].

    No interpolation at the bounds (the hand3d / vae-hands-3d convention): on the
    0-50 mm, 20-step grid the range 20-50 mm integrates 21.05 .. 50 mm.
    """
    thresholds = np.asarray(thresholds_mm, np.float64)
    inside = ((thresholds >= auc_min_mm - _BOUND_TOLERANCE_MM)
              & (thresholds <= auc_max_mm + _BOUND_TOLERANCE_MM))
    if inside.sum() < 2:
        raise ValueError(f"AUC range [{auc_min_mm}, {auc_max_mm}] mm holds {int(inside.sum())} PCK "
                         f"threshold(s); need >= 2 (thresholds {np.round(thresholds, 3).tolist()})")
    return area_under_curve(thresholds[inside], np.asarray(values, np.float64)[inside])


def evalutil_measures(pred, gt, visible=None, *, val_min: float = 0.0, val_max: float = 0.050,
                      steps: int = 20) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """EvalUtil's feed-every-sample + get_measures(val_min, val_max, steps), in metres.

    Returns (mean EPE m, median EPE m, AUC over [val_min, val_max], mean PCK curve [steps],
    thresholds [steps] m), i.e. hand3d's return tuple. Raises if no joint is ever visible.
    """
    pred, gt = _as_pose_pair(pred, gt)
    visible = _as_visible(visible, pred.shape[:2])
    if steps < 2 or not val_max > val_min:
        raise ValueError(f"need steps >= 2 and val_max > val_min, got steps={steps}, "
                         f"[{val_min}, {val_max}]")
    distances = _distances_m(pred, gt)
    thresholds = np.linspace(val_min, val_max, steps)
    means, medians, curves = [], [], []
    for joint in range(pred.shape[1]):
        stored = distances[visible[:, joint], joint]
        if stored.size == 0:
            continue
        means.append(np.mean(stored))
        medians.append(np.median(stored))
        curves.append(np.mean(stored[None, :] <= thresholds[:, None], axis=1))
    if not curves:
        raise ValueError("visible: no joint is visible in any sample; nothing to evaluate")
    curve = np.mean(curves, axis=0)
    # EvalUtil averages per-joint AUCs; with shared thresholds that equals the AUC of the mean curve.
    auc = area_under_curve(thresholds, curve)
    return float(np.mean(means)), float(np.mean(medians)), auc, curve, thresholds


def evaluate_keypoints(pred, gt, visible=None, *, pck_min_mm: float = 0.0, pck_max_mm: float = 50.0,
                       pck_steps: int = 20, auc_min_mm: float = 20.0, auc_max_mm: float = 50.0) -> dict:
    """EPE, PCK and AUC of 3D keypoints, hand3d `EvalUtil` conventions (see module doc).

    pred, gt: [num_samples, joints, 3] metres; visible: [num_samples, joints] or None (all).
    Returns a dict:
      mean_epe_mm, median_epe_mm: averages over evaluated joints of per-joint mean/median;
      per_joint_epe_mm, per_joint_median_epe_mm: [joints], NaN for joints never visible;
      evaluated_joints: indices of joints with >= 1 visible sample (the rest are ignored);
      pck: (thresholds_mm [pck_steps], values [pck_steps]) on linspace(pck_min_mm,
           pck_max_mm, pck_steps), values = fraction of keypoints within the threshold;
      auc: AUC of that curve over the thresholds inside [auc_min_mm, auc_max_mm]
           (defaults give the papers' "AUC 20-50 mm"); auc_range_mm: (auc_min_mm, auc_max_mm);
      auc_pck_range: AUC over the whole PCK range (hand3d's printed "AUC 0-50 mm");
      num_samples.
    """
    mean_m, median_m, auc_full, curve, thresholds_m = evalutil_measures(
        pred, gt, visible, val_min=pck_min_mm / MM_PER_M, val_max=pck_max_mm / MM_PER_M, steps=pck_steps)
    pred, gt = _as_pose_pair(pred, gt)
    visible = _as_visible(visible, pred.shape[:2])
    distances_mm = _distances_m(pred, gt) * MM_PER_M
    evaluated = np.flatnonzero(visible.any(axis=0))
    medians = np.full(pred.shape[1], np.nan)
    for joint in evaluated:
        medians[joint] = np.median(distances_mm[visible[:, joint], joint])
    thresholds_mm = thresholds_m * MM_PER_M
    return {
        "mean_epe_mm": mean_m * MM_PER_M,
        "median_epe_mm": median_m * MM_PER_M,
        "per_joint_epe_mm": epe_per_joint(pred, gt, visible),
        "per_joint_median_epe_mm": medians,
        "evaluated_joints": evaluated,
        "pck": (thresholds_mm, curve),
        "auc": pck_auc(thresholds_mm, curve, auc_min_mm, auc_max_mm),
        "auc_range_mm": (float(auc_min_mm), float(auc_max_mm)),
        "auc_pck_range": auc_full,
        "num_samples": int(pred.shape[0]),
    }


def pck_at(curve: tuple[Sequence[float], Sequence[float]], threshold_mm: float) -> float:
    """Value of a (thresholds_mm, values) curve at one of its thresholds (exact match, 1e-6 mm)."""
    thresholds, values = (np.asarray(a, np.float64) for a in curve)
    hits = np.flatnonzero(np.abs(thresholds - threshold_mm) <= _BOUND_TOLERANCE_MM)
    if hits.size == 0:
        raise ValueError(f"threshold {threshold_mm} mm is not on the curve (thresholds "
                         f"{np.round(thresholds, 3).tolist()})")
    return float(values[hits[0]])


# Procrustes-aligned error (PA-EPE).
#
# Procrustes-aligned joint error (PA-EPE, "PA-MPJPE"): pose shape error alone.
#
# Each predicted hand is moved onto its ground truth by the similarity transform
# (rotation R, isotropic scale s > 0, translation t) that minimises
# sum_j || s R p_j + t - g_j ||^2 (Umeyama 1991: closed form from the SVD of the
# centred cross-covariance, with the reflection fix det(R) = +1), and the joint errors
# are measured after it. It removes global orientation, size and position, so it says
# whether a model got the hand's *articulation* right; the plain EPE also charges for
# orientation, which a mean-pose baseline cannot get right with random viewpoints.
#
# Inputs in metres [N, J, 3], optional visibility [N, J] (only visible joints enter the
# fit and the error); outputs in millimetres (errors) or metres (aligned poses); float64.



def procrustes_align(pred, gt, visible=None, *, with_scale: bool = True) -> np.ndarray:
    """[N, J, 3] metres: every pred[n] mapped by its best similarity transform onto gt[n]
    (its best rigid transform, rotation and translation, with `with_scale=False`).

    visible: optional [N, J] mask of the joints used for the fit (all joints are
    transformed). A sample with fewer than 3 fitted joints, or whose fitted prediction
    is a single point, is only translated (mean of its fitted joints onto gt's).
    """
    pred, gt = _as_pose_pair(pred, gt)
    weights = _as_visible(visible, pred.shape[:2]).astype(np.float64)
    counts = weights.sum(axis=1)  # [N]
    safe = np.maximum(counts, 1.0)[:, None]
    mu_p = np.einsum("nj,njd->nd", weights, pred) / safe
    mu_g = np.einsum("nj,njd->nd", weights, gt) / safe
    p = pred - mu_p[:, None]
    g = gt - mu_g[:, None]
    # Cross-covariance over the fitted joints: sum_j w_j g_j p_j^T, [N, 3, 3].
    cov = np.einsum("nj,nja,njb->nab", weights, g, p)
    u, sigma, vt = np.linalg.svd(cov)
    reflect = np.sign(np.linalg.det(u @ vt))
    reflect = np.where(reflect == 0, 1.0, reflect)
    d = np.ones_like(sigma)
    d[:, -1] = reflect
    rotation = u @ (d[:, :, None] * vt)  # U diag(d) V^T
    var_p = np.einsum("nj,njd->n", weights, p * p)
    scale = np.where(var_p > 0, (sigma * d).sum(axis=1) / np.where(var_p > 0, var_p, 1.0), 1.0)
    rigid_ok = (counts >= 3) & (var_p > 1e-18)
    scale = np.where(rigid_ok & with_scale, scale, 1.0)
    rotation = np.where(rigid_ok[:, None, None], rotation, np.eye(3))
    return scale[:, None, None] * np.einsum("nab,njb->nja", rotation, p) + mu_g[:, None]


def pa_joint_errors_mm(pred, gt, visible=None) -> np.ndarray:
    """[N, J] mm: joint errors after `procrustes_align` (fit on the visible joints)."""
    pred, gt = _as_pose_pair(pred, gt)
    aligned = procrustes_align(pred, gt, visible)
    return np.sqrt(np.sum(np.square(aligned - gt), axis=-1)) * MM_PER_M


def pa_mean_epe_mm(pred, gt, visible=None) -> float:
    """Mean PA error (mm) over the visible (sample, joint) pairs (all joints without a mask)."""
    pred, gt = _as_pose_pair(pred, gt)
    mask = _as_visible(visible, pred.shape[:2])
    errors = pa_joint_errors_mm(pred, gt, mask)
    if not mask.any():
        raise ValueError("pa_mean_epe_mm: no visible joint to score")
    return float(errors[mask].mean())
