"""Joint layouts: identity round trips, spot checks, errors, and order checks on real labels."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.geometry import (JOINT_INDEX, LAYOUTS, bone_lengths, from_canonical, get_layout,
                               intrinsics_matrix, stb_palm_to_wrist, to_canonical, uvd_to_xyz, wrist_to_palm)

EXPECTED_SIZES = {"canonical": 21, "rhd": 21, "stb": 21, "nyu14": 14, "icvl16": 16, "msra21": 21,
                  "interhand21": 21}


def test_registry_has_the_documented_layouts():
    assert {k: v.num_joints for k, v in LAYOUTS.items()} == EXPECTED_SIZES
    assert LAYOUTS["nyu14"].canonical_mask.sum() == 11
    assert LAYOUTS["icvl16"].canonical_mask.sum() == 15
    assert not LAYOUTS["icvl16"].canonical_mask[0]  # ICVL has a palm centre, no wrist


@pytest.mark.parametrize("name", sorted(EXPECTED_SIZES))
def test_dataset_to_canonical_and_back_is_the_identity_where_defined(name):
    layout = get_layout(name)
    rng = np.random.default_rng(3)
    joints = rng.normal(size=(2, 3, layout.num_joints, 3)).astype(np.float32)
    canonical, mask = to_canonical(joints, name)
    assert canonical.shape == (2, 3, 21, 3) and canonical.dtype == np.float32
    np.testing.assert_array_equal(canonical[..., ~mask, :], 0.0)
    back = from_canonical(canonical, name)
    np.testing.assert_array_equal(back[..., layout.defined, :], joints[..., layout.defined, :])
    np.testing.assert_array_equal(back[..., ~layout.defined, :], 0.0)
    # and canonical -> dataset -> canonical on the canonical joints the layout defines
    canon = rng.normal(size=(5, 21, 2))
    again, _ = to_canonical(from_canonical(canon, name), name)
    np.testing.assert_array_equal(again[:, mask], canon[:, mask])


def test_spot_checks_of_specific_joints():
    joints = np.arange(21 * 3, dtype=np.float32).reshape(21, 3)
    rhd, _ = to_canonical(joints, "rhd")
    np.testing.assert_array_equal(rhd[4], joints[1])   # RHD 1 = thumb tip -> canonical 4
    np.testing.assert_array_equal(rhd[1], joints[4])   # RHD 4 = thumb "mcp" (base) -> canonical 1
    np.testing.assert_array_equal(rhd[9], joints[12])  # RHD 12 = middle MCP -> canonical 9
    msra, _ = to_canonical(joints, "msra21")
    np.testing.assert_array_equal(msra[8], joints[4])  # MSRA index_tip -> canonical index_tip
    np.testing.assert_array_equal(msra[1], joints[17])  # MSRA thumb_mcp -> canonical thumb base
    stb, _ = to_canonical(joints, "stb")
    np.testing.assert_array_equal(stb[0], joints[0])    # palm -> wrist slot
    np.testing.assert_array_equal(stb[17], joints[1])   # little MCP is raw joint 1
    np.testing.assert_array_equal(stb[4], joints[20])   # thumb tip is raw joint 20
    interhand, _ = to_canonical(joints, "interhand21")
    np.testing.assert_array_equal(interhand[0], joints[20])
    nyu, mask = to_canonical(joints[:14], "nyu14")
    np.testing.assert_array_equal(nyu[JOINT_INDEX["index_pip"]], joints[7])
    np.testing.assert_array_equal(nyu[JOINT_INDEX["thumb_mcp"]], joints[10])
    assert not mask[JOINT_INDEX["wrist"]] and not mask[JOINT_INDEX["index_dip"]]
    icvl, _ = to_canonical(joints[:16], "icvl16")
    np.testing.assert_array_equal(icvl[JOINT_INDEX["little_tip"]], joints[15])
    np.testing.assert_array_equal(icvl[JOINT_INDEX["thumb_mcp"]], joints[2])


def test_mapping_is_jittable_and_returns_jax_arrays():
    joints = jnp.arange(2 * 14 * 3, dtype=jnp.float32).reshape(2, 14, 3)
    canonical = jax.jit(lambda j: to_canonical(j, "nyu14")[0])(joints)
    assert isinstance(canonical, jax.Array)
    np.testing.assert_array_equal(np.asarray(canonical[:, 20]), np.asarray(joints[:, 0]))
    back = jax.jit(lambda c: from_canonical(c, "nyu14"))(canonical)
    np.testing.assert_array_equal(np.asarray(back[:, :11]), np.asarray(joints[:, :11]))


def test_layout_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown joint layout 'nyu'.*canonical.*icvl16.*msra21.*nyu14"):
        to_canonical(np.zeros((14, 3)), "nyu")
    with pytest.raises(ValueError, match=r"expected 14 joints \(nyu14 layout\).*got 21"):
        to_canonical(np.zeros((21, 3)), "nyu14")
    with pytest.raises(ValueError, match=r"expected 21 joints \(canonical layout\).*got 16"):
        from_canonical(np.zeros((2, 16, 3)), "rhd")
    with pytest.raises(ValueError, match="NaN"):
        to_canonical(np.full((21, 3), np.inf), "rhd")


def test_palm_and_wrist_formulas():
    rng = np.random.default_rng(5)
    joints = rng.normal(size=(4, 21, 3))
    palm = wrist_to_palm(joints)
    np.testing.assert_allclose(palm[:, 0], 0.5 * (joints[:, 0] + joints[:, JOINT_INDEX["middle_mcp"]]))
    np.testing.assert_array_equal(palm[:, 1:], joints[:, 1:])
    np.testing.assert_allclose(stb_palm_to_wrist(palm), joints, atol=1e-12)
    # hand3d's STB reader: wrist = kp16 + 2 (kp0 - kp16), kp16 (RHD order) = ring MCP
    ring = stb_palm_to_wrist(joints, through="ring_mcp")
    np.testing.assert_allclose(ring[:, 0], joints[:, 13] + 2 * (joints[:, 0] - joints[:, 13]))
    with pytest.raises(ValueError, match="through"):
        stb_palm_to_wrist(joints, through="pinky")


# --- real labels ------------------------------------------------------------------

@pytest.mark.shared_data
def test_rhd_order_on_real_labels(shared_data):
    """Mapped RHD samples have anatomical bones: each finger's proximal phalanx is its
    longest, wrist->MCP bones are longer than any phalanx (a tip->MCP mix-up fails)."""
    labels = json.loads((shared_data / "images/rhd/test_rhd.json").read_text())
    joints = np.array([a["joint_cam"] for a in labels["annotations"]]) / 1000.0
    canonical, mask = to_canonical(joints, "rhd")
    assert mask.all()
    bones = bone_lengths(canonical)  # bone b ends at canonical joint b + 1
    for base in (4, 8, 12, 16):  # index, middle, ring, little: wrist->MCP, then 3 phalanges
        phalanges = bones[:, base + 1:base + 4]
        assert np.all(phalanges[:, 0] >= phalanges.max(axis=1)), phalanges
        assert np.all(bones[:, base] > bones[:, [b + k for b in (4, 8, 12, 16) for k in (1, 2, 3)]].max(1))
    assert np.all(bones[:, 0] < bones[:, [4, 8, 12, 16]].min(axis=1))  # thumb base is nearest the wrist


@pytest.mark.shared_data
def test_nyu14_order_on_published_test_labels(shared_data):
    uvd = np.loadtxt(shared_data / "icvl_nyu/gt/nyu_test_groundtruth_label.txt").reshape(-1, 14, 3)
    xyz = uvd_to_xyz(uvd, intrinsics_matrix(588.03, -587.07, 320.0, 240.0))
    dist = np.linalg.norm(xyz[:, :, None] - xyz[:, None], axis=-1).mean(0)  # mm, mean over frames
    tip_pip = [dist[0, 1], dist[2, 3], dist[4, 5], dist[6, 7]]  # little, ring, middle, index
    assert np.argmax(tip_pip) == 2 and np.argmin(tip_pip) == 0  # middle longest, little shortest
    assert 30 < min(tip_pip) and max(tip_pip) < 60  # tip->PIP, not tip->DIP (~25 mm)
    # the PIP nearest the thumb root is the index's, and it gets monotonically farther to the little finger
    to_thumb_root = [dist[10, j] for j in (7, 5, 3, 1)]
    assert np.all(np.diff(to_thumb_root) > 0)
    assert dist[8, 9] < dist[9, 10]  # thumb tip-IP shorter than IP-MCP
    assert dist[10, 12] < dist[10, 11] and dist[1, 11] < dist[1, 12]  # 12 thumb side, 11 little side
    canonical, mask = to_canonical(xyz, "nyu14")
    np.testing.assert_array_equal(canonical[:, JOINT_INDEX["index_tip"]], xyz[:, 6])


@pytest.mark.shared_data
def test_icvl16_order_on_published_test_labels(shared_data):
    uvd = np.loadtxt(shared_data / "icvl_nyu/gt/icvl_test_groundtruth_label.txt").reshape(-1, 16, 3)
    xyz = uvd_to_xyz(uvd, intrinsics_matrix(240.99, 240.96, 160.0, 120.0))
    dist = np.linalg.norm(xyz[:, :, None] - xyz[:, None], axis=-1).mean(0)
    root_tip = [dist[r, r + 2] for r in (4, 7, 10, 13)]  # index, middle, ring, little
    assert np.argmax(root_tip) == 1 and np.argmin(root_tip) == 3
    assert np.all(np.diff([dist[3, r] for r in (4, 7, 10, 13)]) > 0)  # thumb tip nearest the index
    assert np.all(np.diff([dist[4, r] for r in (7, 10, 13)]) > 0)  # finger roots in order across the palm
    canonical, mask = to_canonical(xyz, "icvl16")
    np.testing.assert_array_equal(canonical[:, JOINT_INDEX["middle_pip"]], xyz[:, 8])
