"""The hard-coded skeleton statistics against the real STB data they were derived from."""

from __future__ import annotations

import numpy as np
import pytest

from jaxhands.geometry.layouts import BONES
from jaxhands.synthetic import generator, stb_statistics
from jaxhands.synthetic.stb_statistics import palm_frames

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def stb_train(shared_data):
    return np.load(shared_data / "stb" / "stb_train.npy")


def _bone_ratios(joints: np.ndarray) -> np.ndarray:
    lengths = np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in BONES], 1)
    return lengths / lengths[:, 8:9]


def test_constants_are_rederived_from_stb(stb_train):
    derived = stb_statistics.derive_stb_statistics(stb_train)
    assert derived["reference_bone_m"] == pytest.approx(stb_statistics.STB_REFERENCE_BONE_M, abs=5e-5)
    np.testing.assert_allclose(derived["bone_ratios"], stb_statistics.STB_BONE_RATIOS, atol=6e-5)
    np.testing.assert_allclose(derived["palm_bone_angles_deg"], stb_statistics.STB_PALM_BONE_ANGLES_DEG, atol=6e-3)
    np.testing.assert_allclose(derived["finger_rest_angles_deg"], stb_statistics.STB_FINGER_REST_ANGLES_DEG,
                               atol=6e-3)


def test_stb_palm_is_a_planar_right_hand(stb_train):
    # The facts stb_statistics' docstring states about the frame the constants use.
    joints = stb_train[:2000].astype(np.float64)
    local = np.einsum("nij,nki->nkj", palm_frames(joints), joints - joints[:, :1])
    palm = local[:, [1, 5, 9, 13, 17]]
    np.testing.assert_allclose(palm[..., 2], 0.0, atol=1e-5)          # planar palm
    np.testing.assert_allclose(palm.std(0), 0.0, atol=1e-5)            # rigid palm
    assert np.all(palm[:, 0, 0] > 0) and np.all(palm[:, 4, 0] < 0)  # thumb base on +x, little on -x
    assert np.mean(local[:, [8, 12, 16, 20], 2]) > 0                   # fingers flex towards +z


def test_bmc_limits_are_the_shared_files(shared_data):
    folder = shared_data / "stb"
    np.testing.assert_allclose(np.load(folder / "bone_len_min.npy"), stb_statistics.BMC_BONE_RATIO_MIN, atol=6e-5)
    np.testing.assert_allclose(np.load(folder / "bone_len_max.npy"), stb_statistics.BMC_BONE_RATIO_MAX, atol=6e-5)
    # Their bone order is canonical child order: bone 8 (wrist -> middle MCP) is the unit.
    assert np.load(folder / "bone_len_min.npy")[8] == pytest.approx(1.0, abs=1e-6)
    assert np.load(folder / "bone_len_max.npy")[8] == pytest.approx(1.0, abs=1e-6)


def test_generated_skeletons_are_centred_on_stb(stb_train):
    scenes = [generator.sample_scene(i, seed=0, image_size=48) for i in range(300)]
    generated = np.stack([scene.keypoints_3d for scene in scenes])
    real = _bone_ratios(stb_train.astype(np.float64)).mean(0)
    np.testing.assert_allclose(_bone_ratios(generated).mean(0), real, rtol=0.015)
    # Palm: the angles between consecutive palm bones (the BMC "PHI") average STB's.
    def palm_angles(joints):
        bones = joints[:, [1, 5, 9, 13, 17]] - joints[:, :1]
        bones /= np.linalg.norm(bones, axis=-1, keepdims=True)
        return np.degrees(np.arccos(np.sum(bones[:, 1:] * bones[:, :-1], -1)))
    np.testing.assert_allclose(palm_angles(generated).mean(0), palm_angles(stb_train.astype(np.float64)).mean(0),
                               atol=0.5)
    # Fingers curl towards the palm about as much as STB's: mean palmar offset of the
    # finger tips, in units of the reference bone.
    def tip_height(joints):
        frames = palm_frames(joints)
        local = np.einsum("nij,nki->nkj", frames, joints - joints[:, :1])
        return (local[:, [8, 12, 16, 20], 2] / np.linalg.norm(local[:, 9], axis=-1)[:, None]).mean(0)
    # (A left hand mirrored through any plane is a right hand.)
    as_right = np.stack([s.keypoints_3d * ([1, 1, 1] if s.side == 1 else [-1, 1, 1]) for s in scenes])
    real_height = tip_height(stb_train.astype(np.float64))
    assert np.all(real_height > 0.3)
    np.testing.assert_allclose(tip_height(as_right), real_height, rtol=0.35)
