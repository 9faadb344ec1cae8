"""EPE / PCK / AUC / success rate against hand-computed values and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.evaluation import metrics


def _poses_with_distances(distances_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gt at the origin, pred displaced along x by the given distance (metres out)."""
    gt = np.zeros(distances_mm.shape + (3,))
    pred = gt.copy()
    pred[..., 0] = distances_mm / 1000.0
    return pred, gt


# 3 samples x 3 joints. Joint 0 is visible everywhere (8, 18, 58 mm), joint 1 in the first
# two samples (28, 38 mm), joint 2 never. No distance sits on a PCK threshold.
DISTANCES_MM = np.array([[8.0, 28.0, 5.0], [18.0, 38.0, 5.0], [58.0, 999.0, 5.0]])
VISIBLE = np.array([[True, True, False], [True, True, False], [True, False, False]])


def test_epe_and_median_follow_evalutil_per_joint_averaging():
    pred, gt = _poses_with_distances(DISTANCES_MM)
    result = metrics.evaluate_keypoints(pred, gt, VISIBLE, pck_min_mm=0, pck_max_mm=60, pck_steps=7,
                                        auc_min_mm=20, auc_max_mm=50)
    # Mean of per-joint means (28, 33), not the mean over the 5 visible pairs (30.0).
    assert result["mean_epe_mm"] == pytest.approx(30.5)
    # Mean of per-joint medians (18, 33).
    assert result["median_epe_mm"] == pytest.approx(25.5)
    np.testing.assert_allclose(result["per_joint_epe_mm"][:2], [28.0, 33.0])
    np.testing.assert_allclose(result["per_joint_median_epe_mm"][:2], [18.0, 33.0])
    assert np.isnan(result["per_joint_epe_mm"][2]) and np.isnan(result["per_joint_median_epe_mm"][2])
    np.testing.assert_array_equal(result["evaluated_joints"], [0, 1])
    assert result["num_samples"] == 3


def test_pck_curve_and_auc_hand_computed():
    pred, gt = _poses_with_distances(DISTANCES_MM)
    result = metrics.evaluate_keypoints(pred, gt, VISIBLE, pck_min_mm=0, pck_max_mm=60, pck_steps=7)
    thresholds, values = result["pck"]
    np.testing.assert_allclose(thresholds, [0, 10, 20, 30, 40, 50, 60], atol=1e-9)
    # joint 0: 0, 1/3, 2/3, 2/3, 2/3, 2/3, 1; joint 1: 0, 0, 0, 1/2, 1, 1, 1; averaged.
    np.testing.assert_allclose(values, [0, 1 / 6, 1 / 3, 7 / 12, 5 / 6, 5 / 6, 1])
    # Trapezoid over 0..60 mm: 10 * 39/12 = 32.5, normalised by 60.
    assert result["auc_pck_range"] == pytest.approx(32.5 / 60)
    # Thresholds 20..50: 10 * (7/12 + 10/12 + (4/12 + 10/12) / 2) = 20, normalised by 30.
    assert result["auc"] == pytest.approx(2 / 3)
    assert result["auc_range_mm"] == (20.0, 50.0)


def test_all_visible_by_default_and_mean_over_all_pairs():
    pred, gt = _poses_with_distances(np.array([[3.0, 5.0], [7.0, 1.0]]))
    result = metrics.evaluate_keypoints(pred, gt)
    assert result["mean_epe_mm"] == pytest.approx(4.0)
    np.testing.assert_allclose(metrics.epe_per_joint(pred, gt), [5.0, 3.0])
    assert metrics.mean_joint_error_mm(pred, gt) == pytest.approx(4.0)


def test_distance_is_euclidean_in_3d():
    gt = np.zeros((2, 1, 3))
    pred = np.array([[[0.003, 0.004, 0.0]], [[0.0, 0.0, 0.0]]])  # 3-4-5 triangle: 5 mm
    np.testing.assert_allclose(metrics.joint_errors_mm(pred, gt), [[5.0], [0.0]], atol=1e-12)
    assert metrics.mean_joint_error_mm(pred, gt) == pytest.approx(2.5)


def test_auc_of_step_curves():
    assert metrics.area_under_curve([0.0, 10.0, 20.0, 30.0], [0.0, 1.0, 1.0, 1.0]) == pytest.approx(25 / 30)
    assert metrics.area_under_curve([20.0, 50.0], [1.0, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="increasing"):
        metrics.area_under_curve([0.0, 0.0], [1.0, 1.0])


def test_default_auc_20_50_uses_hand3d_subset_of_the_0_50_grid():
    # hand3d eval_full.py / vae-hands-3d: get_measures(0, 0.05, 20) then calc_auc on [8:].
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(40, 21, 3)) * 0.05
    pred = gt + rng.normal(size=gt.shape) * 0.012
    result = metrics.evaluate_keypoints(pred, gt)
    thresholds, values = result["pck"]
    assert thresholds.size == 20 and thresholds[8] == pytest.approx(21.0526, abs=1e-4)
    assert result["auc"] == pytest.approx(metrics.area_under_curve(thresholds[8:], values[8:]))
    assert result["auc"] != pytest.approx(result["auc_pck_range"])


def _evalutil_reference(pred, gt, visible, val_min, val_max, steps):
    """A loop-by-loop transcription of hand3d's EvalUtil.feed / get_measures (metres)."""
    data = [[] for _ in range(gt.shape[1])]
    for sample in range(gt.shape[0]):
        dist = np.sqrt(np.sum(np.square(gt[sample] - pred[sample]), axis=1))
        for joint in range(gt.shape[1]):
            if visible[sample, joint]:
                data[joint].append(dist[joint])
    thresholds = np.linspace(val_min, val_max, steps)
    norm = np.trapezoid(np.ones_like(thresholds), thresholds)
    means, medians, aucs, curves = [], [], [], []
    for joint_data in data:
        if not joint_data:
            continue
        joint_data = np.array(joint_data)
        means.append(np.mean(joint_data))
        medians.append(np.median(joint_data))
        curve = np.array([np.mean((joint_data <= t).astype(float)) for t in thresholds])
        curves.append(curve)
        aucs.append(np.trapezoid(curve, thresholds) / norm)
    return np.mean(means), np.mean(medians), np.mean(aucs), np.mean(curves, 0), thresholds


def test_matches_a_transcription_of_evalutil_with_random_visibility():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(30, 21, 3)) * 0.05
    pred = gt + rng.normal(size=gt.shape) * 0.01
    visible = rng.random((30, 21)) < 0.7
    visible[:, 5] = False  # a joint never visible
    ref = _evalutil_reference(pred, gt, visible, 0.0, 0.05, 20)
    got = metrics.evalutil_measures(pred, gt, visible, val_min=0.0, val_max=0.05, steps=20)
    for ours, theirs in zip(got, ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    result = metrics.evaluate_keypoints(pred, gt, visible.astype(np.int32))
    assert result["mean_epe_mm"] == pytest.approx(ref[0] * 1000)
    assert result["median_epe_mm"] == pytest.approx(ref[1] * 1000)
    # vae-hands-3d's "AUC between 20mm - 50mm": calc_auc(threshs[8:] * 1000, curve[8:]).
    subset = np.trapezoid(ref[3][8:], ref[4][8:] * 1000) / np.trapezoid(np.ones(12), ref[4][8:] * 1000)
    assert result["auc"] == pytest.approx(subset)
    assert 5 not in result["evaluated_joints"]


def test_success_rate_by_brute_force():
    rng = np.random.default_rng(2)
    gt = rng.normal(size=(50, 14, 3)) * 0.05
    pred = gt + rng.normal(size=gt.shape) * 0.006
    thresholds = np.arange(0, 41, 5)
    got = metrics.success_rate_curve(pred, gt, thresholds)
    errors = np.linalg.norm(pred - gt, axis=-1) * 1000
    expected = [sum(all(e <= t for e in frame) for frame in errors) / len(errors) for t in thresholds]
    np.testing.assert_allclose(got, expected)
    assert got[0] == 0.0 and got[-1] > got[2]


def test_success_rate_counts_threshold_inclusively():
    errors = np.array([[10.0, 2.0], [30.0, 30.0]])
    np.testing.assert_allclose(metrics.success_rate_from_errors(errors, [9.9, 10.0, 29.0, 30.0]),
                               [0.0, 0.5, 0.5, 1.0])
    assert metrics.pck_at(([10.0, 20.0], [0.25, 0.75]), 20) == 0.75
    with pytest.raises(ValueError, match="not on the curve"):
        metrics.pck_at(([10.0, 20.0], [0.25, 0.75]), 15)


@pytest.mark.parametrize("argument", ["pred", "gt"])
def test_nan_input_raises_naming_the_argument(argument):
    pred, gt = _poses_with_distances(np.ones((2, 3)))
    {"pred": pred, "gt": gt}[argument][1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=rf"^{argument}: contains NaN"):
        metrics.evaluate_keypoints(pred, gt)
    with pytest.raises(ValueError, match=rf"^{argument}: contains NaN"):
        metrics.success_rate_curve(pred, gt, [10.0])


def test_shape_errors():
    pred, gt = _poses_with_distances(np.ones((2, 3)))
    with pytest.raises(ValueError, match="pred and gt shapes differ"):
        metrics.epe_per_joint(pred, gt[:, :2])
    with pytest.raises(ValueError, match=r"gt: expected shape \[num_samples, joints, 3\]"):
        metrics.mean_joint_error_mm(pred, gt[..., :2])
    with pytest.raises(ValueError, match=r"visible: expected shape"):
        metrics.evaluate_keypoints(pred, gt, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"visible: expected a bool mask"):
        metrics.evaluate_keypoints(pred, gt, np.full((2, 3), 2))
    with pytest.raises(ValueError, match="no joint is visible"):
        metrics.evaluate_keypoints(pred, gt, np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="need >= 2"):
        metrics.evaluate_keypoints(pred, gt, auc_min_mm=49, auc_max_mm=50)


# --- Procrustes-aligned error (PA-EPE) ---------------------------------------------------

def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_procrustes_undoes_a_similarity_transform_exactly():
    from jaxhands.evaluation.metrics import pa_mean_epe_mm, procrustes_align

    rng = np.random.default_rng(0)
    gt = rng.normal(scale=0.05, size=(5, 21, 3))
    pred = np.stack([1.7 * g @ _random_rotation(rng).T + rng.normal(size=3) for g in gt])
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-10)
    assert pa_mean_epe_mm(pred, gt) == pytest.approx(0.0, abs=1e-7)


def test_rigid_procrustes_keeps_the_size():
    from jaxhands.evaluation.metrics import procrustes_align

    rng = np.random.default_rng(2)
    gt = rng.normal(scale=0.05, size=(3, 21, 3))
    rotations = [_random_rotation(rng) for _ in gt]
    pred = np.stack([1.7 * g @ r.T + rng.normal(size=3) for g, r in zip(gt, rotations)])
    rigid = procrustes_align(pred, gt, with_scale=False)
    # Rotated and moved back, still 1.7 times the size about gt's centroid.
    centred = gt - gt.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(rigid, 1.7 * centred + gt.mean(axis=1, keepdims=True), atol=1e-10)


def test_procrustes_matches_a_brute_force_fit_and_allows_no_reflection():
    from scipy.optimize import minimize
    from scipy.spatial.transform import Rotation

    from jaxhands.evaluation.metrics import pa_joint_errors_mm, procrustes_align

    rng = np.random.default_rng(1)
    gt = rng.normal(scale=0.05, size=(1, 21, 3))
    pred = 0.8 * gt @ _random_rotation(rng).T + rng.normal(scale=0.01, size=gt.shape) + 0.3

    def cost(x):  # rotation vector, log scale, translation
        moved = np.exp(x[3]) * pred[0] @ Rotation.from_rotvec(x[:3]).as_matrix().T + x[4:]
        return np.sum((moved - gt[0]) ** 2)

    best = min((minimize(cost, np.concatenate([rng.normal(size=3), [0.0], np.zeros(3)]), method="BFGS",
                         options=dict(gtol=1e-12)) for _ in range(8)), key=lambda r: r.fun)
    closed = np.sum((procrustes_align(pred, gt)[0] - gt[0]) ** 2)
    assert closed == pytest.approx(best.fun, rel=1e-6)
    # A mirrored hand is not a rotation of the original: it keeps a clear error.
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert pa_joint_errors_mm(mirrored, gt).mean() > 5.0


def test_procrustes_fits_on_visible_joints_only():
    from jaxhands.evaluation.metrics import pa_joint_errors_mm, pa_mean_epe_mm

    rng = np.random.default_rng(2)
    gt = rng.normal(scale=0.05, size=(2, 21, 3))
    pred = 1.3 * gt @ _random_rotation(rng).T
    pred[:, 20] += 0.5  # one wild joint, hidden
    visible = np.ones((2, 21), bool)
    visible[:, 20] = False
    errors = pa_joint_errors_mm(pred, gt, visible)
    np.testing.assert_allclose(errors[:, :20], 0.0, atol=1e-7)
    assert np.all(errors[:, 20] > 100.0)  # transformed, but not fitted
    assert pa_mean_epe_mm(pred, gt, visible) == pytest.approx(0.0, abs=1e-7)


def test_joint_level_errors_by_hand():
    from jaxhands.evaluation.metrics import epe_per_joint, joint_level_epe_mm

    gt = np.zeros((3, 21, 3))
    pred = gt.copy()
    pred[..., 0] = (np.arange(21) + 1) / 1000.0  # joint j is off by j + 1 mm in every sample
    levels = joint_level_epe_mm(epe_per_joint(pred, gt))
    # Finger bases are joints 1, 5, 9, 13, 17 (errors 2, 6, ..., 18 mm); each level is one joint further.
    assert levels == pytest.approx({"wrist": 1.0, "mcp": 10.0, "pip": 11.0, "dip": 12.0, "tip": 13.0})
    visible = np.ones((3, 21), bool)
    visible[:, 1] = False  # the thumb CMC never visible: skipped, not counted as 0
    assert joint_level_epe_mm(epe_per_joint(pred, gt, visible))["mcp"] == pytest.approx(12.0)
    with pytest.raises(ValueError, match="21 canonical joints"):
        joint_level_epe_mm(np.zeros(20))
