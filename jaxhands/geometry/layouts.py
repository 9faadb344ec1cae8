"""The canonical 21-joint hand layout of jaxhands and mappings from datasets' layouts.

Canonical order: wrist (0), then thumb, index, middle, ring, little, each from the
base of the finger to its tip:

    0  wrist
    1  thumb_cmc   2  thumb_mcp   3  thumb_ip    4  thumb_tip
    5  index_mcp   6  index_pip   7  index_dip   8  index_tip
    9  middle_mcp 10  middle_pip 11  middle_dip 12  middle_tip
   13  ring_mcp   14  ring_pip   15  ring_dip   16  ring_tip
   17  little_mcp 18  little_pip 19  little_dip 20  little_tip

(The thumb's base joint is the carpometacarpal joint; the datasets call it the
thumb "MCP" or "root". This is the order of ../shared/data/stb.)

Dataset layouts (`LAYOUTS`, each documented where it is defined below) map to and
from this order with `to_canonical` / `from_canonical`. Canonical joints a dataset
lacks are filled with 0 and flagged False in a mask; mapping to canonical and back
is the identity on every joint that has a counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jaxhands.geometry.array_namespace import check_finite, check_joints, namespace

FINGERS = ("thumb", "index", "middle", "ring", "little")
_FINGER_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "little": ("mcp", "pip", "dip", "tip"),
}

JOINT_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{joint}" for finger in FINGERS for joint in _FINGER_JOINTS[finger])
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

WRIST = 0
# Index of the first (base) joint of each finger; joints of finger f are
# FINGER_BASE[f] .. FINGER_BASE[f] + 3, base to tip.
FINGER_BASE = {finger: 1 + 4 * i for i, finger in enumerate(FINGERS)}
FINGER_TIPS = tuple(FINGER_BASE[f] + 3 for f in FINGERS)
# Joints by level along the fingers, for per-level errors: the k-th joint of every finger
# from its base (the thumb's CMC, MCP and IP sit at the fingers' MCP, PIP and DIP levels).
JOINT_LEVELS: dict[str, tuple[int, ...]] = {
    "wrist": (WRIST,), **{level: tuple(FINGER_BASE[f] + k for f in FINGERS)
                          for k, level in enumerate(("mcp", "pip", "dip", "tip"))}}

# Kinematic parent of each joint (-1 for the wrist, the root of the tree).
PARENTS: tuple[int, ...] = (-1,) + tuple(
    WRIST if j == 0 else FINGER_BASE[f] + j - 1 for f in FINGERS for j in range(4))

# The 20 bones as (parent, child) pairs, in child order: bone b ends at joint b + 1.
BONES: tuple[tuple[int, int], ...] = tuple((PARENTS[c], c) for c in range(1, NUM_JOINTS))

# Reference bone for the papers' scale normalisation (S): wrist -> middle MCP (the
# BMC bone-length limits in ../shared/data/stb are scaled by it). hand3d's data
# readers scale by the middle finger's MCP -> PIP bone instead; normalisation takes
# the bone as an argument (see jaxhands.geometry.normalization).
REFERENCE_BONE = (WRIST, JOINT_INDEX["middle_mcp"])

assert len(PARENTS) == NUM_JOINTS == 21
assert np.all(np.array(PARENTS[1:]) < np.arange(1, NUM_JOINTS)), "parents precede children"


# ---------------------------------------------------------------------------
# Dataset layouts and the mappings to and from the canonical layout.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """A dataset's own joint order and where each of its joints sits in the canonical layout.

    `canonical_index[i]` is the canonical joint (0..20) that joint i of the dataset
    corresponds to, or None when the dataset joint has no canonical counterpart
    (e.g. NYU's palm points). A canonical joint that no dataset joint maps to is
    "undefined" for the layout (see `canonical_mask`).
    """

    name: str
    joint_names: tuple[str, ...]
    canonical_index: tuple[int | None, ...]
    description: str

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def joint_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.joint_names)}

    @property
    def defined(self) -> np.ndarray:
        """bool [J]: which of the layout's joints have a canonical counterpart."""
        return np.array([c is not None for c in self.canonical_index], dtype=bool)

    @property
    def canonical_mask(self) -> np.ndarray:
        """bool [21]: which canonical joints the layout defines."""
        mask = np.zeros(NUM_JOINTS, dtype=bool)
        mask[[c for c in self.canonical_index if c is not None]] = True
        return mask

    @property
    def source_index(self) -> tuple[int | None, ...]:
        """For each canonical joint, the layout joint it comes from (None if undefined)."""
        source: list[int | None] = [None] * NUM_JOINTS
        for i, c in enumerate(self.canonical_index):
            if c is not None:
                source[c] = i
        return tuple(source)


def _finger_chain(finger: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{finger}_{n}" for n in names)


def _make_layout(name: str, joint_names, canonical_names, description: str) -> Layout:
    """Builds a Layout from parallel lists of dataset names and canonical names (or None)."""
    joint_names = tuple(joint_names)
    canonical_index = tuple(None if c is None else JOINT_INDEX[c] for c in canonical_names)
    if len(joint_names) != len(canonical_index):
        raise AssertionError(f"layout {name}: {len(joint_names)} names but {len(canonical_index)} mappings")
    used = [c for c in canonical_index if c is not None]
    if len(used) != len(set(used)):
        raise AssertionError(f"layout {name}: a canonical joint is mapped twice")
    if len(set(joint_names)) != len(joint_names):
        raise AssertionError(f"layout {name}: duplicate joint names")
    return Layout(name, joint_names, canonical_index, description)


_FOUR = ("mcp", "pip", "dip", "tip")  # how datasets name a finger's joints, base to tip


def _canonical_chain(finger: str) -> tuple[str, ...]:
    return tuple(JOINT_NAMES[FINGER_BASE[finger] + k] for k in range(4))


CANONICAL = _make_layout(
    "canonical", JOINT_NAMES, JOINT_NAMES,
    "jaxhands' own order (see module docstring); identical to ../shared/data/stb/*.npy and to "
    "FreiHAND / the SNAP order used by the BMC bone-length limits.")

# RHD (Zimmermann & Brox, hand3d README): 0 wrist, then thumb, index, middle, ring,
# little, each listed TIP -> MCP: 1 thumb tip, 2 thumb dip, 3 thumb pip, 4 thumb mcp,
# 5 index tip .. 8 index mcp, 9..12 middle, 13..16 ring, 17..20 little. The
# dataset's "thumb mcp/pip/dip" are the canonical thumb cmc/mcp/ip. Raw RHD arrays
# hold 42 joints (0-20 left hand, 21-41 right hand); converters split them first.
RHD = _make_layout(
    "rhd",
    ("wrist",) + sum((_finger_chain(f, _FOUR[::-1]) for f in FINGERS), ()),
    ("wrist",) + sum((_canonical_chain(f)[::-1] for f in FINGERS), ()),
    "Rendered Hand Pose: wrist, then thumb, index, middle, ring, little, each tip -> MCP (21 per hand).")

# STB (Zhang et al. 2016; raw `handPara` order, as read by hand3d's BinaryDbReaderSTB):
# 0 palm centre, then little, ring, middle, index, thumb, each MCP -> tip
# (1-4 little, 5-8 ring, 9-12 middle, 13-16 index, 17-20 thumb). STB has no wrist: the
# palm centre is put in the canonical wrist slot; `stb_palm_to_wrist` turns it into a
# wrist (and `wrist_to_palm` goes back) with an explicit formula.
_STB_FINGERS = ("little", "ring", "middle", "index", "thumb")
STB = _make_layout(
    "stb",
    ("palm",) + sum((_finger_chain(f, _FOUR) for f in _STB_FINGERS), ()),
    ("wrist",) + sum((_canonical_chain(f) for f in _STB_FINGERS), ()),
    "Stereo Hand Pose Benchmark raw order: palm, then little, ring, middle, index, thumb, each "
    "MCP -> tip. The PALM CENTRE goes to canonical slot 0 (the wrist slot); use stb_palm_to_wrist.")

# NYU (Tompson et al. 2014), the 14 of 36 joints everyone evaluates (DeepPrior's
# restrictedJointsEval = [0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32]) in the
# order of ../shared/data/icvl_nyu/gt/nyu_test_groundtruth_label.txt:
#   0 little tip (F1_KNU3_A)   1 little mid = PIP (F1_KNU2_B)
#   2 ring tip                 3 ring PIP
#   4 middle tip               5 middle PIP
#   6 index tip                7 index PIP
#   8 thumb tip (TH_KNU3_A)    9 thumb mid = IP (TH_KNU3_B)   10 thumb root = MCP (TH_KNU2_B)
#  11 PALM_1, wrist end of the palm on the little-finger side
#  12 PALM_2, wrist end of the palm on the thumb side
#  13 PALM_3, palm centre
# Checked on the published test labels (tests/geometry/test_geometry_layouts.py):
# tip-PIP distances 37/45/50/45 mm (little/ring/middle/index), the PIP nearest the
# thumb root is joint 7 (index), joint 12 is nearer the thumb than 11. The thumb's
# tip-mid distance (21 mm) is a distal phalanx, so mid = IP; root (KNU2_B, the base of
# the thumb's second segment) is taken as the anatomical MCP (mid-root 41 mm, between
# STB's IP-MCP 28 mm and IP-CMC 58 mm: an approximate label, a judgement call).
# NYU's three palm points are not canonical joints (no wrist, no MCPs, no DIPs).
NYU14 = _make_layout(
    "nyu14",
    ("little_tip", "little_pip", "ring_tip", "ring_pip", "middle_tip", "middle_pip",
     "index_tip", "index_pip", "thumb_tip", "thumb_ip", "thumb_mcp",
     "palm_wrist_little_side", "palm_wrist_thumb_side", "palm_centre"),
    ("little_tip", "little_pip", "ring_tip", "ring_pip", "middle_tip", "middle_pip",
     "index_tip", "index_pip", "thumb_tip", "thumb_ip", "thumb_mcp", None, None, None),
    "NYU 14-joint evaluation subset: little, ring, middle, index (tip, PIP), thumb (tip, IP, MCP), "
    "two wrist-side palm points (little side, thumb side) and the palm centre.")

# ICVL (Tang et al. 2014), 16 joints, order of the published test labels:
# 0 palm, then thumb, index, middle, ring, little, each root, mid, tip. Root/mid/tip
# are mapped uniformly to the finger's base, second and tip canonical joints (thumb:
# cmc, mcp, tip; fingers: mcp, pip, tip); the thumb root lies 30 mm from the palm
# centre on the test labels, i.e. at the thumb's base on the palm, hence cmc. ICVL's
# joints are not anatomically spaced (root-mid 22-32 mm, mid-tip 18-25 mm for every
# finger), so this mapping is by name. ICVL's palm is a palm centre, not a wrist,
# so it has no canonical counterpart; the canonical wrist, DIPs and thumb IP are
# undefined for ICVL.
ICVL16 = _make_layout(
    "icvl16",
    ("palm",) + sum((_finger_chain(f, ("root", "mid", "tip")) for f in FINGERS), ()),
    (None,) + sum(((_canonical_chain(f)[0], _canonical_chain(f)[1], _canonical_chain(f)[3])
                   for f in FINGERS), ()),
    "ICVL 16 joints: palm, then thumb, index, middle, ring, little, each root, mid, tip.")

# MSRA hand gesture dataset (Sun et al. 2015), 21 joints: 0 wrist, then index,
# middle, ring, little, thumb, each MCP -> tip (index_mcp, index_pip, index_dip,
# index_tip, ...; thumb_mcp .. thumb_tip last). The dataset's thumb MCP/PIP/DIP are
# the canonical thumb cmc/mcp/ip. (Not checked against data: no MSRA file is shared.)
_MSRA_FINGERS = ("index", "middle", "ring", "little", "thumb")
MSRA21 = _make_layout(
    "msra21",
    ("wrist",) + sum((_finger_chain(f, _FOUR) for f in _MSRA_FINGERS), ()),
    ("wrist",) + sum((_canonical_chain(f) for f in _MSRA_FINGERS), ()),
    "MSRA hand gesture: wrist, then index, middle, ring, little, thumb, each MCP -> tip.")

# InterHand2.6M, 21 per hand (raw arrays hold 42: right hand 0-20, left 21-41): thumb,
# index, middle, ring, little, each tip -> base, then the wrist last (index 20).
INTERHAND21 = _make_layout(
    "interhand21",
    sum((_finger_chain(f, ("tip", "dip", "pip", "mcp")) for f in FINGERS), ()) + ("wrist",),
    sum((_canonical_chain(f)[::-1] for f in FINGERS), ()) + ("wrist",),
    "InterHand2.6M per hand: thumb, index, middle, ring, little, each tip -> base, wrist last.")

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (CANONICAL, RHD, STB, NYU14, ICVL16, MSRA21, INTERHAND21)}


def get_layout(layout: str | Layout) -> Layout:
    """The Layout registered under `layout` (or `layout` itself); ValueError for unknown names."""
    if isinstance(layout, Layout):
        return layout
    if layout not in LAYOUTS:
        raise ValueError(f"unknown joint layout {layout!r}; known layouts: {', '.join(sorted(LAYOUTS))}")
    return LAYOUTS[layout]


def to_canonical(joints, layout: str | Layout):
    """[..., J_layout, D] joints in a dataset's order -> ([..., 21, D] canonical, mask bool [21]).

    Canonical joints the layout does not define are filled with 0 (never NaN) and
    marked False in the mask (a numpy array, the same for every sample); dataset
    joints without a canonical counterpart are dropped. `from_canonical` inverts this
    on every joint that has a counterpart.
    """
    layout = get_layout(layout)
    check_joints(joints, layout.num_joints, "joints", f"{layout.name} layout")
    check_finite(joints, "joints")
    xp = namespace(joints)
    mask = layout.canonical_mask
    source = np.array([0 if s is None else s for s in layout.source_index])
    gathered = xp.take(joints, source, axis=-2)
    return xp.where(mask[:, None], gathered, 0), mask


def from_canonical(joints21, layout: str | Layout):
    """[..., 21, D] canonical joints -> [..., J_layout, D] in the dataset's order.

    Dataset joints with no canonical counterpart (`get_layout(layout).defined` False,
    e.g. NYU's palm points, ICVL's palm) are filled with 0.
    """
    layout = get_layout(layout)
    check_joints(joints21, NUM_JOINTS, "joints21", "canonical layout")
    check_finite(joints21, "joints21")
    xp = namespace(joints21)
    index = np.array([0 if c is None else c for c in layout.canonical_index])
    gathered = xp.take(joints21, index, axis=-2)
    return xp.where(layout.defined[:, None], gathered, 0)


def _palm_partner(through: str | int) -> int:
    index = JOINT_INDEX.get(through) if isinstance(through, str) else int(through)
    if index is None or not 1 <= index < NUM_JOINTS:
        raise ValueError(f"through: expected a canonical joint name or index 1..20 "
                         f"(e.g. 'middle_mcp'), got {through!r}")
    return index


def stb_palm_to_wrist(joints21, through: str | int = "middle_mcp"):
    """Replaces the palm centre in canonical slot 0 by a wrist: wrist = 2 * palm - joint[through].

    This inverts palm = (wrist + joint[through]) / 2, the palm of Spurr et al. and
    hand3d (`use_wrist_coord=False`: midpoint of the wrist and the middle-finger MCP),
    so `wrist_to_palm` and `stb_palm_to_wrist` with the same `through` are exact
    inverses. Note hand3d's STB reader extrapolates through the RING MCP instead
    (`wrist = kp[16] + 2 (kp[0] - kp[16])`, kp in RHD order, kp[16] = ring MCP): pass
    through="ring_mcp" to reproduce it. Input [..., 21, D] canonical order with the
    palm in slot 0 (what `to_canonical(raw, "stb")` returns); other slots unchanged.
    """
    check_joints(joints21, NUM_JOINTS, "joints21", "canonical layout, palm centre in slot 0")
    check_finite(joints21, "joints21")
    xp = namespace(joints21)
    partner = _palm_partner(through)
    wrist = 2 * joints21[..., 0, :] - joints21[..., partner, :]
    return xp.concatenate([wrist[..., None, :], joints21[..., 1:, :]], axis=-2)


def wrist_to_palm(joints21, through: str | int = "middle_mcp"):
    """Replaces the wrist in slot 0 by the palm centre: palm = (wrist + joint[through]) / 2.

    With the default this is Spurr et al.'s (and hand3d's RHD reader's) palm: "we
    shifted the wrist joint of RHD into the palm via interpolating between the wrist
    and first middle-finger joint". Inverse of `stb_palm_to_wrist`.
    """
    check_joints(joints21, NUM_JOINTS, "joints21", "canonical layout")
    check_finite(joints21, "joints21")
    xp = namespace(joints21)
    partner = _palm_partner(through)
    palm = 0.5 * (joints21[..., 0, :] + joints21[..., partner, :])
    return xp.concatenate([palm[..., None, :], joints21[..., 1:, :]], axis=-2)
