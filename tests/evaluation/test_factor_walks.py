"""Factor-walk checks (spec D5): Spearman's rho against hand-computed ranks, and the
checks on walks built from known factors - a pure viewpoint walk keeps the canonical
pose and turns monotonically, a pure canonical-pose walk keeps the rotation, and a walk
that mixes the factors is caught."""

import numpy as np
import pytest

from jaxhands.evaluation.factor_walks import canonical_walk_checks, spearman_rho, viewpoint_walk_checks
from jaxhands.geometry.frames import axis_angle_to_matrix, canonical_frame, rotation_about_z
from jaxhands.geometry.viewpoint import side_normalised_factors


def test_spearman_rho_hand_computed():
    assert spearman_rho([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman_rho([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (0,1,2) vs (0,2,1): d^2 = 0 + 1 + 1, rho = 1 - 6 * 2 / (3 * 8) = 0.5
    assert spearman_rho([1, 2, 3], [0.1, 0.9, 0.5]) == pytest.approx(0.5)
    assert spearman_rho([1, 2, 3], [7, 7, 7]) == 0.0  # constant: no monotone trend
    with pytest.raises(ValueError, match="1-D"):
        spearman_rho([1, 2], [1, 2, 3])


def _canonical_hands(n, seed):
    rng = np.random.default_rng(seed)
    joints = rng.normal(0, 0.5, (n, 21, 3))
    joints[:, 0] = 0.0
    canonical, _ = canonical_frame(joints, np.zeros(n, np.int32))
    return canonical


def test_side_normalised_pose_is_a_left_hand_for_the_canonical_frame():
    """The walks' decoded poses are side-normalised: canonical_frame(pose_sn, left) must
    give back the canonical pose and the side-normalised viewpoint for both sides."""
    rng = np.random.default_rng(3)
    joints = rng.normal(0, 0.04, (6, 21, 3))
    joints[:, 0] = 0.0
    side = np.arange(6) % 2
    canonical, view, pose = (np.asarray(a) for a in side_normalised_factors(joints, side))
    c2, r2 = canonical_frame(pose, np.zeros(6, np.int32))
    np.testing.assert_allclose(c2, canonical, atol=1e-4)
    np.testing.assert_allclose(r2, view, atol=1e-4)


def test_pure_factor_walks_pass_and_mixed_walks_fail():
    steps = 8
    canonical = _canonical_hands(2, 0)  # [2, 21, 3]
    start = np.asarray(axis_angle_to_matrix(np.array([[0.2, 0.5, -0.3], [1.0, 0.1, 0.4]])))  # [2, 3, 3]
    turns = np.asarray(rotation_about_z(np.linspace(0.0, 1.2, steps)))  # [T, 3, 3], up to ~69 deg
    views = np.einsum("tij,bjk->btik", turns, start)  # [B, T, 3, 3]
    view_walk = np.einsum("bkj,btji->btki", canonical, views)
    checks = viewpoint_walk_checks(view_walk, [80.0, 90.0])
    assert checks["canonical_drift_mm"] < 1e-3
    assert checks["angle_rho_median"] == pytest.approx(1.0)
    assert checks["turn_deg_mean"] == pytest.approx(np.degrees(1.2), abs=1e-3)

    other = _canonical_hands(2, 1)
    t = np.linspace(0, 1, steps)[None, :, None, None]
    blended = (1 - t) * canonical[:, None] + t * other[:, None]  # [B, T, 21, 3]
    pose_walk = np.einsum("btkj,bji->btki", blended, start)
    mirror = canonical_walk_checks(pose_walk, [80.0, 90.0])
    assert mirror["rotation_drift_deg_mean"] < 1e-3
    assert mirror["canonical_moved_mm"] > 10.0

    # A "viewpoint" walk whose canonical pose also moves, and whose rotation stands still,
    # is caught by both numbers.
    entangled = viewpoint_walk_checks(pose_walk, [80.0, 90.0])
    assert entangled["canonical_drift_mm"] > 10.0 and entangled["angle_rho_median"] < 0.9
    # A canonical-pose walk that turns the hand is caught by the mirror test.
    assert canonical_walk_checks(view_walk, [80.0, 90.0])["rotation_drift_deg_mean"] > 60.0
