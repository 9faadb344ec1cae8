"""Real STB joints (../shared/data/stb): the canonical-order claim, the fitted skeleton,
normalisation, the BMC bone-length limits, and the raw STB order mapping."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.geometry import (FINGER_BASE, JOINT_INDEX, bone_length, bone_lengths, from_canonical,
                               normalize_pose, stb_palm_to_wrist, to_canonical, wrist_to_palm)

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def stb(shared_data):
    train = np.load(shared_data / "stb/stb_train.npy")
    test = np.load(shared_data / "stb/stb_test.npy")
    assert train.shape == (15000, 21, 3) and test.shape == (3000, 21, 3)
    return np.concatenate([train, test]).astype(np.float64)


def _finger_length(bones, finger):
    first = FINGER_BASE[finger]  # bone b ends at joint b + 1: phalanges are bones first .. first + 2
    return bones[..., first:first + 3].sum(-1)


def test_joints_are_in_canonical_order(stb):
    bones = bone_lengths(stb[:1])[0]
    # thumb base is the finger base nearest the wrist (~20 mm; the other MCPs are 70-80 mm away)
    wrist_to_base = bones[[FINGER_BASE[f] - 1 for f in ("thumb", "index", "middle", "ring", "little")]]
    assert np.argmin(wrist_to_base) == 0 and wrist_to_base[0] < 0.03 < 0.06 < wrist_to_base[1:].min()
    # MCPs lie across the palm in the order index, middle, ring, little (distances from the index MCP grow)
    mcps = stb[:, [JOINT_INDEX[f"{f}_mcp"] for f in ("index", "middle", "ring", "little")]]
    from_index = np.linalg.norm(mcps[:, 1:] - mcps[:, :1], axis=-1)
    assert np.all(np.diff(from_index, axis=-1) > 0)
    # the middle finger is the longest, the little finger the shortest
    lengths = [_finger_length(bones, f) for f in ("index", "middle", "ring", "little")]
    assert np.argmax(lengths) == 1 and np.argmin(lengths) == 3
    # each finger's proximal phalanx (MCP -> PIP) is its longest phalanx; tip -> MCP would flip this
    for f in ("index", "middle", "ring"):
        b = FINGER_BASE[f]
        assert bones[b] > bones[b + 1] and bones[b] > bones[b + 2]
    # the thumb's MCP is nearer the index MCP than the little MCP in every frame
    thumb_mcp = stb[:, JOINT_INDEX["thumb_mcp"]]
    assert np.all(np.linalg.norm(thumb_mcp - stb[:, 5], axis=-1) < np.linalg.norm(thumb_mcp - stb[:, 17], axis=-1))


def test_fitted_skeleton_has_constant_bones_and_normalises_exactly(stb):
    bones = bone_lengths(stb)
    assert np.abs(bones - np.median(bones, axis=0)).max() < 1e-4  # metres: a fitted, rigid-length skeleton
    np.testing.assert_allclose(np.median(bones[:, 8]), 0.0760, atol=5e-4)  # wrist -> middle MCP, 76 mm
    normalized, root, scale = normalize_pose(stb)
    np.testing.assert_allclose(bone_length(normalized), 1.0, rtol=1e-12)
    np.testing.assert_allclose(normalized[:, 0], 0.0)
    normalized_bones = bone_lengths(normalized)
    assert np.abs(normalized_bones - np.median(normalized_bones, axis=0)).max() < 2e-3
    np.testing.assert_allclose(np.median(scale), np.median(bones[:, 8]))


def test_normalised_bones_against_the_bmc_limits(stb, shared_data):
    """bone_len_{min,max}.npy are Hand-BMC-pytorch's per-bone limits: bone b = joint b + 1 minus
    its parent in the canonical (SNAP) order, scaled by wrist -> middle MCP; bone 8 IS that
    reference bone, so its limits are exactly 1."""
    low = np.load(shared_data / "stb/bone_len_min.npy")
    high = np.load(shared_data / "stb/bone_len_max.npy")
    assert low.shape == high.shape == (20,)
    np.testing.assert_allclose([low[8], high[8]], 1.0, atol=1e-6)  # float32-rounded 1
    assert np.flatnonzero(high - low < 1e-5).tolist() == [8]  # only the reference bone has no spread
    normalized = bone_lengths(normalize_pose(stb)[0])
    inside = (normalized >= low) & (normalized <= high)
    outside = [0, 4]
    assert np.delete(inside, outside, axis=1).all()
    # The two exceptions, in every frame: STB's thumb root sits only ~20 mm from this
    # (extrapolated) wrist, 0.26 reference bones (RHD/GANerated: >= 0.39), and its wrist ->
    # index MCP is 0.954 (limits from 0.980).
    assert not inside[:, outside].any()
    np.testing.assert_allclose(np.median(normalized[:, outside], axis=0), [0.2595, 0.9543], atol=5e-4)


def test_raw_stb_order_round_trip(stb):
    raw = from_canonical(stb[:200], "stb")
    np.testing.assert_array_equal(raw[:, 0], stb[:200, 0])  # palm slot <- canonical slot 0
    np.testing.assert_array_equal(raw[:, 1:5], stb[:200, 17:21])  # little MCP .. tip
    np.testing.assert_array_equal(raw[:, 17:21], stb[:200, 1:5])  # thumb MCP .. tip last
    back, mask = to_canonical(raw, "stb")
    assert mask.all()
    np.testing.assert_array_equal(back, stb[:200])
    # the palm <-> wrist helpers invert each other on real hands and put the palm mid-way
    palm = wrist_to_palm(stb[:200])
    np.testing.assert_allclose(np.linalg.norm(palm[:, 0] - stb[:200, 0], axis=-1),
                               0.5 * bone_lengths(stb[:200])[:, 8], rtol=1e-12)
    np.testing.assert_allclose(stb_palm_to_wrist(palm), stb[:200], atol=1e-12)
