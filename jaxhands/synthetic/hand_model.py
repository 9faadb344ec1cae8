"""Kinematic 21-joint hand: skeleton shape, joint angles, forward kinematics, sampling.

The hand is built in its palm frame (see stb_statistics: origin wrist, +y towards the
middle MCP, +z palmar, +x towards the thumb of a right hand) in the canonical joint
order of jaxhands.geometry.layouts. The palm (wrist, thumb CMC, four MCPs) is a rigid,
planar fan of bones as in STB; the fingers and the thumb are chains of three bones.

Joint angles (radians inside, degrees in the tables), 21 of them:
  thumb: cmc_flexion (the metacarpal leaves the palm plane towards the palm side),
         cmc_abduction (in-plane, away from the index finger), cmc_opposition (twist of
         the metacarpal about its own axis, turning the thumb's flexion plane towards
         the fingers), mcp_flexion, ip_flexion;
  index, middle, ring, little: mcp_flexion (towards the palm), mcp_abduction
         (in-plane, towards the thumb side), pip_flexion, dip_flexion.
A finger's MCP rotation is R1 = Rz(-(rest + abduction)) Rx(mcp_flexion); its three bones
point along R1 e_y, R1 Rx(pip) e_y and R1 Rx(pip + dip) e_y (a planar finger). The
thumb's is R1 = Rz(-(rest + cmc_abduction)) Rx(cmc_flexion) Ry(-cmc_opposition) with
MCP and IP flexion about R1 e_x. Zero angles give a flat hand with straight fingers
along the STB rest directions and the thumb in the palm plane, continuing the
wrist -> CMC line. Left hands are the mirror image x -> -x of right hands.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxhands.geometry.layouts import FINGER_BASE, FINGERS, NUM_JOINTS, REFERENCE_BONE
from jaxhands.synthetic.config import SyntheticConfig
from jaxhands.synthetic.stb_statistics import (
    BMC_BONE_RATIO_MAX,
    BMC_BONE_RATIO_MIN,
    STB_BONE_RATIOS,
    STB_FINGER_REST_ANGLES_DEG,
    STB_PALM_BONE_ANGLES_DEG,
)

LEFT, RIGHT = 0, 1

THUMB_ANGLES = ("cmc_flexion", "cmc_abduction", "cmc_opposition", "mcp_flexion", "ip_flexion")
FINGER_ANGLES = ("mcp_flexion", "mcp_abduction", "pip_flexion", "dip_flexion")
ANGLE_NAMES: tuple[str, ...] = tuple(f"thumb_{a}" for a in THUMB_ANGLES) + tuple(
    f"{finger}_{a}" for finger in FINGERS[1:] for a in FINGER_ANGLES)
NUM_ANGLES = len(ANGLE_NAMES)
ANGLE_INDEX = {name: i for i, name in enumerate(ANGLE_NAMES)}

# Anatomical ranges (degrees): finger MCP -10..90 flexion and +/-15 abduction, PIP
# 0..110, DIP 0..80. The thumb's cover the 5-95 % range of STB's fitted thumbs: in-plane
# metacarpal angle 31..89 (rest 39.75 + abduction), elevation 0..70, MCP 2..63, IP 4..84.
_THUMB_LIMITS_DEG = ((-10.0, 70.0), (-15.0, 50.0), (0.0, 90.0), (-10.0, 70.0), (-20.0, 90.0))
_FINGER_LIMITS_DEG = ((-10.0, 90.0), (-15.0, 15.0), (0.0, 110.0), (0.0, 80.0))
ANGLE_LIMITS_DEG = np.array(_THUMB_LIMITS_DEG + _FINGER_LIMITS_DEG * 4)  # [21, 2]
ANGLE_LIMITS = np.radians(ANGLE_LIMITS_DEG)

# The thumb metacarpal's zero-abduction direction continues the wrist -> CMC palm bone.
THUMB_REST_ANGLE_DEG = float(STB_PALM_BONE_ANGLES_DEG[0])
# Zero-abduction in-plane direction of each chain (thumb, index, middle, ring, little).
CHAIN_REST_ANGLES_DEG = np.concatenate([[THUMB_REST_ANGLE_DEG], STB_FINGER_REST_ANGLES_DEG])

# Documented bone-length limits (ratios to wrist -> middle MCP): the union of the BMC
# limits and STB mean +/- 15 % (STB's wrist -> thumb-CMC and wrist -> index-MCP ratios
# lie below the BMC minima, which were measured on RHD's differently placed joints).
STB_DEVIATION_LIMIT = 0.15
BONE_RATIO_MIN = np.minimum(BMC_BONE_RATIO_MIN, STB_BONE_RATIOS * (1 - STB_DEVIATION_LIMIT))
BONE_RATIO_MAX = np.maximum(BMC_BONE_RATIO_MAX, STB_BONE_RATIOS * (1 + STB_DEVIATION_LIMIT))
_REFERENCE_BONE_INDEX = REFERENCE_BONE[1] - 1
BONE_RATIO_MIN[_REFERENCE_BONE_INDEX] = BONE_RATIO_MAX[_REFERENCE_BONE_INDEX] = 1.0


@dataclasses.dataclass(frozen=True)
class HandShape:
    """Per-sample skeleton and surface shape.

    scale_m: wrist -> middle-MCP length (metres); bone_ratios [20]: bone lengths / scale
    in canonical child order (entry 8, the reference bone, is 1); palm_angles_deg [5]:
    in-plane angles of the palm bones wrist -> {thumb CMC, index, middle, ring, little
    MCP} (middle is 0 by the frame's definition); thickness: multiplier of the radii.
    """

    scale_m: float
    bone_ratios: np.ndarray
    palm_angles_deg: np.ndarray
    thickness: float

    @property
    def bone_lengths_m(self) -> np.ndarray:
        return self.scale_m * np.asarray(self.bone_ratios)


def _axis_rotations(axis: int, angle: np.ndarray) -> np.ndarray:
    """Right-handed rotations [n, 3, 3] by angles [n] about coordinate axis 0 (x), 1 or 2.

    About x, +angle turns +y towards +z; about y, +z towards +x; about z, +x towards +y.
    """
    c, s = np.cos(angle), np.sin(angle)
    first, second = (axis + 1) % 3, (axis + 2) % 3
    rotation = np.zeros((len(angle), 3, 3))
    rotation[:, axis, axis] = 1.0
    rotation[:, first, first] = rotation[:, second, second] = c
    rotation[:, first, second] = -s
    rotation[:, second, first] = s
    return rotation


def in_plane_direction(angle_deg) -> np.ndarray:
    """Unit vectors in the palm plane at `angle_deg` from +y towards +x: [..., 3]."""
    a = np.radians(np.asarray(angle_deg, np.float64))
    return np.stack([np.sin(a), np.cos(a), np.zeros_like(a)], -1)


def chain_rotations(angles: np.ndarray) -> np.ndarray:
    """Base rotation R1 of the 5 chains (thumb, index..little), [5, 3, 3], palm frame."""
    angles = np.asarray(angles, np.float64)
    fingers = angles[5:].reshape(4, 4)
    in_plane = np.radians(CHAIN_REST_ANGLES_DEG) + np.concatenate([[angles[1]], fingers[:, 1]])
    flexion = np.concatenate([[angles[0]], fingers[:, 0]])
    twist = np.array([angles[2], 0.0, 0.0, 0.0, 0.0])
    return _axis_rotations(2, -in_plane) @ _axis_rotations(0, flexion) @ _axis_rotations(1, -twist)


def forward_kinematics(angles: np.ndarray, shape: HandShape) -> np.ndarray:
    """Joint positions [21, 3] (metres) of a RIGHT hand in its palm frame.

    `angles` is [21] radians in ANGLE_NAMES order (see the module docstring).
    """
    angles = np.asarray(angles, np.float64)
    if angles.shape != (NUM_ANGLES,):
        raise ValueError(f"angles: expected shape [{NUM_ANGLES}] (radians, ANGLE_NAMES order), got {angles.shape}")
    lengths = shape.bone_lengths_m.reshape(5, 4)  # per chain: palm bone, then 3 bones
    fingers = angles[5:].reshape(4, 4)
    second = np.concatenate([[angles[3]], fingers[:, 2]])  # thumb MCP / finger PIP
    third = second + np.concatenate([[angles[4]], fingers[:, 3]])  # + thumb IP / finger DIP
    rotations = chain_rotations(angles)
    local = np.zeros((5, 3, 3))  # per chain, per bone: Rx(cumulative flexion) e_y
    local[:, 0, 1] = 1.0
    local[:, 1, 1], local[:, 1, 2] = np.cos(second), np.sin(second)
    local[:, 2, 1], local[:, 2, 2] = np.cos(third), np.sin(third)
    directions = np.einsum("cij,cbj->cbi", rotations, local)
    bases = lengths[:, :1] * in_plane_direction(shape.palm_angles_deg)  # [5, 3]
    chain = bases[:, None] + np.cumsum(lengths[:, 1:, None] * directions, 1)  # [5, 3, 3]
    joints = np.zeros((NUM_JOINTS, 3))
    for k, finger in enumerate(FINGERS):
        base = FINGER_BASE[finger]
        joints[base] = bases[k]
        joints[base + 1:base + 4] = chain[k]
    return joints


def mirror_to_side(points: np.ndarray, side: int) -> np.ndarray:
    """Right-hand palm-frame points [..., 3] -> the hand of `side` (left mirrors x)."""
    if side not in (LEFT, RIGHT):
        raise ValueError(f"side: expected 0 (left) or 1 (right), got {side}")
    points = np.asarray(points, np.float64)
    return points * np.array([-1.0, 1.0, 1.0]) if side == LEFT else points


def sample_shape(rng: np.random.Generator, config: SyntheticConfig) -> HandShape:
    """Hand size, bone-length ratios (config.hand_shapes: around STB, or uniform within
    BONE_RATIO_MIN/MAX), palm, radii."""
    scale = rng.uniform(*config.hand_scale_range_m)
    if config.hand_shapes == "anthropometric":
        ratios = rng.uniform(BONE_RATIO_MIN, BONE_RATIO_MAX)
    else:  # "stb": the draws of every dataset made before hand_shapes existed
        deviation = np.exp(rng.normal(0.0, config.bone_length_sigma, STB_BONE_RATIOS.shape))
        limit = config.bone_length_max_deviation
        ratios = np.clip(STB_BONE_RATIOS * np.clip(deviation, 1 - limit, 1 + limit), BONE_RATIO_MIN, BONE_RATIO_MAX)
    palm = STB_PALM_BONE_ANGLES_DEG + rng.normal(0.0, config.palm_jitter_deg, 5) * np.array([1, 1, 0, 1, 1])
    thickness = rng.uniform(*config.thickness_range)
    return HandShape(scale_m=float(scale), bone_ratios=ratios, palm_angles_deg=palm, thickness=float(thickness))


def _keypose(thumb, index, middle, ring, little) -> np.ndarray:
    return np.array(tuple(thumb) + tuple(index) + tuple(middle) + tuple(ring) + tuple(little), np.float64)


_FIST = (85.0, 0.0, 100.0, 60.0)
# Key poses in degrees (thumb: cmc flex, cmc abd, opposition, mcp, ip; fingers: mcp flex,
# abduction towards the thumb, pip, dip). Samples blend two of them and add noise. The
# thumbs of "pinch" and "ok" were solved (scipy.optimize on forward_kinematics with the
# STB skeleton) so that the thumb tip is 1.6 cm (two fingertip radii) from the index tip.
KEYPOSES_DEG: dict[str, np.ndarray] = {
    "flat": _keypose((0, 0, 0, 0, 0), (0, -8, 0, 0), (0, 0, 0, 0), (0, 4, 0, 0), (0, 12, 0, 0)),
    "spread": _keypose((5, 35, 10, 0, 0), (0, 10, 0, 0), (0, 2, 0, 0), (0, -8, 0, 0), (0, -14, 0, 0)),
    "relaxed": _keypose((20, 10, 30, 15, 15), (20, -3, 30, 15), (25, 0, 35, 20), (28, 3, 40, 22),
                        (30, 8, 45, 25)),
    "fist": _keypose((35, -5, 60, 40, 35), _FIST, _FIST, _FIST, _FIST),
    "point": _keypose((35, -5, 60, 40, 35), (0, -3, 5, 5), _FIST, _FIST, _FIST),
    "victory": _keypose((40, 0, 60, 40, 30), (0, 10, 0, 0), (0, -8, 0, 0), _FIST, _FIST),
    "three": _keypose((40, 0, 60, 40, 30), (0, 6, 0, 0), (0, 0, 0, 0), (0, -6, 0, 0), _FIST),
    "pinch": _keypose((40, -7, 72, 20, 15), (45, 0, 45, 25), (20, 0, 25, 15), (15, 3, 20, 10),
                      (15, 6, 20, 10)),
    "ok": _keypose((40, 9, 76, 22, 29), (50, 0, 60, 35), (10, 0, 5, 5), (10, -4, 5, 5), (10, -10, 5, 5)),
    "thumbs_up": _keypose((-5, -10, 0, 0, -10), _FIST, _FIST, _FIST, _FIST),
    "rock": _keypose((5, 30, 10, 0, 0), (0, 5, 0, 0), _FIST, _FIST, (0, -10, 0, 0)),
    "claw": _keypose((30, 10, 40, 30, 40), (10, 5, 80, 70), (10, 0, 85, 70), (10, -5, 85, 70),
                     (10, -10, 85, 70)),
    "grasp": _keypose((40, 10, 60, 20, 20), (45, 0, 60, 35), (50, 0, 65, 40), (50, 0, 65, 40),
                      (50, 0, 60, 35)),
}
_KEYPOSES = np.radians(np.stack(list(KEYPOSES_DEG.values())))
_ABDUCTION = np.array(["abduction" in name for name in ANGLE_NAMES])
_PIP = np.array([ANGLE_INDEX[f"{f}_pip_flexion"] for f in FINGERS[1:]])
_DIP = np.array([ANGLE_INDEX[f"{f}_dip_flexion"] for f in FINGERS[1:]])


def sample_angles(rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """Joint angles [21] (radians) within ANGLE_LIMITS.

    Mostly a random blend of two key poses plus Gaussian noise (DIP noise follows the
    PIP noise by half, the coupling of the two joints); with probability
    config.random_pose_probability uniform within the limits, DIP ~ 2/3 PIP + noise.
    """
    low, high = ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1]
    if rng.uniform() < config.random_pose_probability:
        angles = rng.uniform(low, high)
        angles[_DIP] = angles[_PIP] * (2.0 / 3.0) + rng.normal(0.0, np.radians(10.0), 4)
    else:
        first, second = rng.integers(0, len(_KEYPOSES), 2)
        t = rng.uniform()
        sigma = np.where(_ABDUCTION, config.abduction_noise_deg, config.pose_noise_deg)
        noise = rng.normal(0.0, 1.0, NUM_ANGLES) * np.radians(sigma)
        noise[_DIP] += 0.5 * noise[_PIP]
        angles = (1 - t) * _KEYPOSES[first] + t * _KEYPOSES[second] + noise
    return np.clip(angles, low, high)
