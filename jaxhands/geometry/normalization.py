"""The papers' translation (T) and scale (S) invariances of a 3D hand pose.

A pose is made root-relative by subtracting a root joint (T) and divided by the
length of a reference bone (S):

    normalized = (joints - joints[root]) / |joints[b] - joints[a]|,  (a, b) = reference bone

Defaults: root = wrist, reference bone = wrist -> middle MCP (`layouts.REFERENCE_BONE`,
the bone the BMC length limits in ../shared/data/stb are scaled by). The papers differ
and both choices are arguments: Yang et al. 2019 "set the middle finger's base position
as the root" (root="middle_mcp"); hand3d's readers root at joint 0 and scale by the
middle finger's MCP -> PIP bone (reference_bone=("middle_mcp", "middle_pip")).

Joints are given by canonical index or name; with `layout=` (a name in
`layouts.LAYOUTS`) names and the expected joint count come from that dataset layout,
so e.g. NYU poses can be normalised in their own 14-joint order. All functions are
batched over leading dimensions, work on numpy or jax arrays (same type out) and
are jit-able. A zero-length reference bone raises for concrete inputs; under jit the
scale is clamped to `eps` so the result stays finite.
"""

from __future__ import annotations

from jaxhands.geometry.array_namespace import check_finite, check_joints, namespace, require_at_least
from jaxhands.geometry.layouts import BONES, REFERENCE_BONE, WRIST, Layout, get_layout

DEFAULT_EPS = 1e-8

JointRef = int | str
BoneRef = tuple[JointRef, JointRef]


def resolve_joint(joint: JointRef, layout: str | Layout = "canonical") -> int:
    """Index of `joint` (an index or a joint name of `layout`); ValueError if it is not one."""
    layout = get_layout(layout)
    if isinstance(joint, str):
        if joint not in layout.joint_index:
            raise ValueError(f"unknown joint {joint!r} in the {layout.name} layout; "
                             f"known joints: {', '.join(layout.joint_names)}")
        return layout.joint_index[joint]
    index = int(joint)
    if not 0 <= index < layout.num_joints:
        raise ValueError(f"joint index {index} out of range for the {layout.name} layout "
                         f"(0..{layout.num_joints - 1})")
    return index


def resolve_bone(bone: BoneRef, layout: str | Layout = "canonical") -> tuple[int, int]:
    """(start, end) indices of a bone given as two joint indices or names."""
    if len(bone) != 2:
        raise ValueError(f"bone: expected a pair (start joint, end joint), got {bone!r}")
    start, end = (resolve_joint(j, layout) for j in bone)
    if start == end:
        raise ValueError(f"bone {bone!r} starts and ends at the same joint")
    return start, end


def _checked(joints, layout: str | Layout, name: str = "joints") -> Layout:
    layout = get_layout(layout)
    check_joints(joints, layout.num_joints, name, f"{layout.name} layout")
    check_finite(joints, name)
    return layout


def root_relative(joints, root: JointRef = WRIST, *, layout: str | Layout = "canonical"):
    """[..., J, D] -> [..., J, D] with the root joint moved to the origin."""
    layout = _checked(joints, layout)
    r = resolve_joint(root, layout)
    return joints - joints[..., r:r + 1, :]


def bone_length(joints, bone: BoneRef = REFERENCE_BONE, *, layout: str | Layout = "canonical"):
    """[..., J, D] -> [...] Euclidean length of one bone (default: wrist -> middle MCP)."""
    layout = _checked(joints, layout)
    xp = namespace(joints)
    start, end = resolve_bone(bone, layout)
    return xp.linalg.norm(joints[..., end, :] - joints[..., start, :], axis=-1)


def bone_lengths(joints, bones=BONES, *, layout: str | Layout = "canonical"):
    """[..., J, D] -> [..., B] lengths of `bones` (default: the 20 canonical bones, child order).

    With the defaults, entry b is the bone ending at canonical joint b + 1, the order
    of ../shared/data/stb/bone_len_{min,max}.npy.
    """
    layout = _checked(joints, layout)
    xp = namespace(joints)
    pairs = [resolve_bone(b, layout) for b in bones]
    starts = [s for s, _ in pairs]
    ends = [e for _, e in pairs]
    return xp.linalg.norm(joints[..., ends, :] - joints[..., starts, :], axis=-1)


def normalize_pose(joints, root: JointRef = WRIST, reference_bone: BoneRef = REFERENCE_BONE, *,
                   layout: str | Layout = "canonical", eps: float = DEFAULT_EPS):
    """Root-relative, unit-reference-bone pose: returns (normalized, root_position, scale).

    joints [..., J, D] -> normalized [..., J, D], root_position [..., D], scale [...],
    with joints == normalized * scale[..., None, None] + root_position[..., None, :]
    (`denormalize_pose`). Raises ValueError when a concrete input has a reference
    bone shorter than `eps` (in the input's unit); under jit the scale is clamped to
    `eps` and the returned scale is the clamped one, so denormalising still inverts.
    """
    layout = _checked(joints, layout)
    xp = namespace(joints)
    r = resolve_joint(root, layout)
    start, end = resolve_bone(reference_bone, layout)
    root_position = joints[..., r, :]
    scale = xp.linalg.norm(joints[..., end, :] - joints[..., start, :], axis=-1)
    require_at_least(scale, eps, f"normalize_pose: reference bone {layout.joint_names[start]} -> "
                                 f"{layout.joint_names[end]} has (near) zero length, cannot scale-normalise")
    scale = xp.maximum(scale, eps)
    normalized = (joints - root_position[..., None, :]) / scale[..., None, None]
    return normalized, root_position, scale


def denormalize_pose(normalized, root_position, scale):
    """Inverse of `normalize_pose`: normalized * scale + root_position (shapes as returned there)."""
    xp = namespace(normalized, root_position, scale)
    if xp.ndim(normalized) < 2:
        raise ValueError(f"normalized: expected [..., J, D], got shape {xp.shape(normalized)}")
    if xp.shape(root_position)[-1:] != xp.shape(normalized)[-1:]:
        raise ValueError(f"root_position: expected [..., {xp.shape(normalized)[-1]}] to match normalized "
                         f"{xp.shape(normalized)}, got shape {xp.shape(root_position)}")
    check_finite(normalized, "normalized")
    check_finite(root_position, "root_position")
    check_finite(scale, "scale")
    scale = xp.asarray(scale)
    return normalized * scale[..., None, None] + root_position[..., None, :]
