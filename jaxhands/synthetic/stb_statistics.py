"""Hand-skeleton statistics derived once from real data and hard-coded here.

The synthetic hand is centred on the STB skeleton (Stereo Hand Pose Benchmark, MIT
licence; 15000 training frames in ../shared/data/stb/stb_train.npy, canonical joint
order) and bounded by the bone-length limits that Spurr et al. 2020 ("biomechanical
constraints", computed by Hand-BMC-pytorch's calculate_bmc.py on RHD + GANerated hands;
../shared/data/stb/bone_len_{min,max}.npy). The library never reads those files: the
numbers below were produced by `derive_stb_statistics(stb_train)` and copied here, and
tests/synthetic/test_stb_statistics.py re-derives them from the shared data and compares.

All lengths are ratios to the reference bone (wrist -> middle MCP). Bones are in
canonical child order (bone b ends at joint b + 1, see jaxhands.geometry.layouts.BONES);
the BMC limit files use the same order (their bone 8, wrist -> middle MCP, is exactly 1).

Palm frame (used by every angle here and in hand_model.py), for the right hand:
origin at the wrist, +y along wrist -> middle MCP, +z the palmar normal (the side the
fingers flex towards; the normal of the plane of wrist, index MCP and little MCP),
+x = y cross z, which points to the thumb side. STB's palm (wrist, thumb base and the
four MCPs) is exactly planar in this frame and rigid across frames; its thumb lies on
+x, so it is a right hand in a right-handed camera frame.
In-plane angles are measured from +y towards +x (towards the thumb), in degrees.
"""

from __future__ import annotations

import numpy as np

from jaxhands.geometry.layouts import BONES, FINGER_BASE, JOINT_INDEX, REFERENCE_BONE

# Length of STB's wrist -> middle MCP bone (metres); STB fits one skeleton to all frames.
STB_REFERENCE_BONE_M = 0.0760

# Mean bone lengths / reference bone, canonical child order (STB's lengths are constant).
STB_BONE_RATIOS = np.array([
    0.2595, 0.3947, 0.3684, 0.3421,   # wrist->thumb_cmc, thumb cmc->mcp, mcp->ip, ip->tip
    0.9543, 0.4473, 0.2894, 0.2631,   # wrist->index_mcp, index mcp->pip, pip->dip, dip->tip
    1.0000, 0.5263, 0.3289, 0.2763,   # middle
    1.0218, 0.4868, 0.3026, 0.2631,   # ring
    0.9535, 0.4210, 0.1974, 0.2500,   # little
])

# In-plane angle of the palm bones wrist -> {thumb_cmc, index, middle, ring, little MCP}.
STB_PALM_BONE_ANGLES_DEG = np.array([39.75, 14.43, 0.00, -12.64, -28.73])

# Median in-plane angle of the proximal phalanx (MCP -> PIP) of index, middle, ring,
# little over STB's frames: the finger's zero-abduction direction.
STB_FINGER_REST_ANGLES_DEG = np.array([13.73, 2.52, -5.26, -29.39])

# Per-bone length limits (ratios) of Spurr et al. 2020, measured on RHD + GANerated.
BMC_BONE_RATIO_MIN = np.array([
    0.3904, 0.3410, 0.3147, 0.2460, 0.9801, 0.2997, 0.2592, 0.2127, 1.0000, 0.2779,
    0.2562, 0.2518, 0.9231, 0.2764, 0.2261, 0.2535, 0.8449, 0.2934, 0.1520, 0.1570])
BMC_BONE_RATIO_MAX = np.array([
    0.6155, 0.5330, 0.4636, 0.4558, 1.0827, 0.5706, 0.3694, 0.3748, 1.0000, 0.6824,
    0.4206, 0.4124, 1.0228, 0.6526, 0.3732, 0.4590, 1.0507, 0.4419, 0.3074, 0.3261])

_PALM_JOINTS = ("thumb_cmc", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp")


def palm_frames(joints: np.ndarray) -> np.ndarray:
    """Palm frame of each hand: [N, 21, 3] joints -> [N, 3, 3] rotations (columns x, y, z).

    Right-hand convention of this module's docstring; for a left hand the same formula
    gives a frame whose +x points away from the thumb (mirror image).
    """
    wrist = joints[:, JOINT_INDEX["wrist"]]
    y = joints[:, JOINT_INDEX["middle_mcp"]] - wrist
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    normal = np.cross(joints[:, JOINT_INDEX["index_mcp"]] - wrist, joints[:, JOINT_INDEX["little_mcp"]] - wrist)
    normal = normal - np.sum(normal * y, -1, keepdims=True) * y
    z = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    return np.stack([np.cross(y, z), y, z], -1)


def derive_stb_statistics(stb_joints: np.ndarray) -> dict[str, np.ndarray | float]:
    """Recomputes the STB constants of this module from STB joints [N, 21, 3] (metres).

    Returns reference_bone_m (mean wrist -> middle MCP length), bone_ratios [20]
    (mean bone length / reference bone), palm_bone_angles_deg [5] and
    finger_rest_angles_deg [4] (see the module constants).
    """
    joints = np.asarray(stb_joints, np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (21, 3):
        raise ValueError(f"stb_joints: expected shape [N, 21, 3], got {joints.shape}")
    reference = np.linalg.norm(joints[:, REFERENCE_BONE[1]] - joints[:, REFERENCE_BONE[0]], axis=-1)
    lengths = np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in BONES], 1)
    ratios = (lengths / reference[:, None]).mean(0)

    frames = palm_frames(joints)
    local = np.einsum("nij,nki->nkj", frames, joints - joints[:, :1])

    def in_plane_deg(vectors):
        return np.degrees(np.arctan2(vectors[..., 0], vectors[..., 1]))

    palm_angles = np.array([in_plane_deg(local[:, JOINT_INDEX[name]]).mean() for name in _PALM_JOINTS])
    rest = []
    for finger in ("index", "middle", "ring", "little"):
        base = FINGER_BASE[finger]
        rest.append(np.median(in_plane_deg(local[:, base + 1] - local[:, base])))
    return {
        "reference_bone_m": float(reference.mean()),
        "bone_ratios": ratios,
        "palm_bone_angles_deg": palm_angles,
        "finger_rest_angles_deg": np.array(rest),
    }
