"""Hand surface as a union of capsules: one per bone plus a transverse palm-base capsule.

A capsule is a segment swept by a sphere; every joint is an endpoint of its bones'
capsules (the 3D keypoints are the capsules' centre-line endpoints), and the largest
radius among the capsules at a joint is its local surface radius (visibility test).

Radii at the nominal hand size (wrist -> middle MCP = 8.5 cm) scale with the hand and
its thickness factor: palm half-thickness 12.5 mm (every palm bone is a capsule of that
radius, so the palm is a 2.5 cm slab fanning from the wrist to the MCPs), thumb
10.5/9.5/8.5 mm, finger phalanges 8.8/8.0/7.2 mm tapering to the tip, times a per-finger
factor (index 1.0, middle 1.03, ring 0.96, little 0.86).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxhands.geometry.layouts import BONES, NUM_JOINTS
from jaxhands.synthetic.hand_model import HandShape

NOMINAL_SCALE_M = 0.085
PALM_RADIUS_M = 0.0125
_THUMB_RADII_M = (0.0105, 0.0095, 0.0085)
_PHALANX_RADII_M = np.array([0.0088, 0.0080, 0.0072])
_FINGER_FACTORS = (1.0, 1.03, 0.96, 0.86)
# Bone radii at the nominal size, canonical child order (palm bone first in each chain).
NOMINAL_BONE_RADII_M = np.concatenate(
    [[PALM_RADIUS_M, *_THUMB_RADII_M]] + [[PALM_RADIUS_M, *(_PHALANX_RADII_M * f)] for f in _FINGER_FACTORS])
# Palm-base capsule ends (right hand, palm frame, units of the wrist -> middle-MCP
# length): across the heel of the hand so that the wrist is not a single thin point.
PALM_BASE_ENDS = np.array([[0.20, 0.20, 0.0], [-0.26, 0.18, 0.0]])
NUM_CAPSULES = len(BONES) + 1
# JOINT_CAPSULES[j, c]: capsule c belongs to the same rigid part as joint j: a bone
# ending at j or, for the palm joints (wrist, thumb CMC, MCPs), any palm capsule (the
# five bones from the wrist and the palm base form one slab).
PALM_CAPSULES = np.array([parent == 0 for parent, _ in BONES] + [True])
PALM_JOINTS = np.array([0] + [child for parent, child in BONES if parent == 0])
JOINT_CAPSULES = np.zeros((NUM_JOINTS, NUM_CAPSULES), bool)
for _bone, (_parent, _child) in enumerate(BONES):
    JOINT_CAPSULES[[_parent, _child], _bone] = True
JOINT_CAPSULES[np.ix_(PALM_JOINTS, PALM_CAPSULES)] = True


@dataclasses.dataclass(frozen=True)
class Capsules:
    """Capsules [C] whose union is the hand surface (metres), plus joint radii [21].

    Capsule c is every point within radii[c] of the segment starts[c] -> ends[c]; the
    first 20 are the bones (canonical child order), the last the palm base.
    joint_radii[j] is the largest radius of the capsules ending at joint j: the local
    surface radius around the joint.
    """

    starts: np.ndarray       # [C, 3]
    ends: np.ndarray         # [C, 3]
    radii: np.ndarray        # [C]
    joint_radii: np.ndarray  # [21]

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> "Capsules":
        """x -> rotation @ x + translation applied to every endpoint."""
        rotation, translation = np.asarray(rotation), np.asarray(translation)
        return Capsules(self.starts @ rotation.T + translation, self.ends @ rotation.T + translation,
                        self.radii, self.joint_radii)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance [N] of points [N, 3] to the surface (negative inside)."""
        points = np.asarray(points, np.float64)
        axis = self.ends - self.starts
        offset = points[:, None] - self.starts[None]
        s = np.clip(np.sum(offset * axis, -1) / np.sum(axis * axis, -1), 0.0, 1.0)
        return (np.linalg.norm(offset - s[..., None] * axis, axis=-1) - self.radii).min(1)


def hand_capsules(joints: np.ndarray, shape: HandShape, palm_base_ends: np.ndarray) -> Capsules:
    """Surface capsules of a hand from its joints [21, 3] (any frame).

    `palm_base_ends` [2, 3] are the palm-base capsule's ends in the same frame (the
    caller maps PALM_BASE_ENDS * scale through the same mirror/rotation as the joints).
    """
    radii = NOMINAL_BONE_RADII_M * (shape.scale_m / NOMINAL_SCALE_M) * shape.thickness
    joint_radii = np.zeros(NUM_JOINTS)
    for (parent, child), radius in zip(BONES, radii):
        joint_radii[parent] = max(joint_radii[parent], radius)
        joint_radii[child] = max(joint_radii[child], radius)
    parents, children = np.array(BONES).T
    return Capsules(
        starts=np.concatenate([joints[parents], palm_base_ends[:1]]),
        ends=np.concatenate([joints[children], palm_base_ends[1:]]),
        radii=np.concatenate([radii, [radii[0]]]),
        joint_radii=joint_radii,
    )
