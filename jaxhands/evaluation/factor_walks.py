"""Checks of a factorised pose latent's walks (Yang & Yao 2019 Fig. 6; spec check D5).

A walk is the sequence of poses decoded while one factor of z moves from sample A's
posterior mean to B's and the other stays A's (DisentangledVAE.factor_walk). Each
decoded pose is split back into its factors by the canonical frame
(jaxhands.geometry.frames.canonical_frame; side-normalised poses are left hands), and:

- viewpoint walk: the canonical pose should stay put (its drift from the walk's first
  pose, in mm) while the rotation turns steadily away from the start (Spearman's rho of
  the geodesic angle to the first rotation against the step index, ideally 1);
- canonical-pose walk (the mirror test): the rotation should stay put (its largest
  geodesic angle to the first rotation, in degrees).

Numpy in, numpy out; walks are [B, T, 21, 3] in normalised pose units with per-walk
millimetre scales [B] (the reference bone of A in mm).
"""

from __future__ import annotations

import numpy as np

from jaxhands.geometry.frames import canonical_frame
from jaxhands.geometry.viewpoint import geodesic_angle


def spearman_rho(x, y) -> float:
    """Spearman's rank correlation of two 1-D sequences (no tie correction: float data);
    0 when either sequence is constant."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"spearman_rho expects two 1-D sequences of one length >= 2, got {x.shape} and {y.shape}")
    rx, ry = np.argsort(np.argsort(x)).astype(np.float64), np.argsort(np.argsort(y)).astype(np.float64)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _factors(walks):
    walks = np.asarray(walks, np.float64)
    if walks.ndim != 4 or walks.shape[-2:] != (21, 3):
        raise ValueError(f"factor walks must be [B, T, 21, 3] poses, got shape {walks.shape}")
    canonical, rotation = canonical_frame(walks, np.zeros(walks.shape[:2], np.int32))
    return canonical, rotation


def _angle_to_start_deg(rotation):
    return np.degrees(np.asarray(geodesic_angle(rotation[:, :1], rotation)))  # [B, T]


def viewpoint_walk_checks(walks, mm_per_unit) -> dict:
    """Viewpoint walks [B, T, 21, 3] -> canonical-pose drift (mean over steps and walks of
    the mean joint distance to the first step's canonical pose, mm), the per-walk
    Spearman rho of the angle to the first rotation against the step, its median and
    the fraction of walks above 0.9, and the mean total turn (degrees)."""
    canonical, rotation = _factors(walks)
    mm = np.asarray(mm_per_unit, np.float64).reshape(-1, 1)
    drift = np.linalg.norm(canonical - canonical[:, :1], axis=-1).mean(-1) * mm  # [B, T]
    angle = _angle_to_start_deg(rotation)
    steps = np.arange(angle.shape[1])
    rho = np.array([spearman_rho(steps, a) for a in angle])
    return {"canonical_drift_mm": float(drift[:, 1:].mean()), "angle_rho_median": float(np.median(rho)),
            "angle_rho_fraction_above_0.9": float((rho > 0.9).mean()), "turn_deg_mean": float(angle[:, -1].mean()),
            "angle_rho": rho.tolist()}


def canonical_walk_checks(walks, mm_per_unit) -> dict:
    """Canonical-pose walks [B, T, 21, 3] -> the rotation's largest angle to the first
    step (degrees; mean and median over walks) and how far the canonical pose moved
    (its last step against its first, mm)."""
    canonical, rotation = _factors(walks)
    mm = np.asarray(mm_per_unit, np.float64).reshape(-1)
    max_turn = _angle_to_start_deg(rotation).max(axis=1)
    moved = np.linalg.norm(canonical[:, -1] - canonical[:, 0], axis=-1).mean(-1) * mm
    return {"rotation_drift_deg_mean": float(max_turn.mean()), "rotation_drift_deg_median": float(np.median(max_turn)),
            "canonical_moved_mm": float(moved.mean())}
