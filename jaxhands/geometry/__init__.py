"""Hand geometry: joint layouts, pinhole cameras, pose normalisation, canonical frame, view correction.

Every function takes numpy or jax arrays (same type out), is batched over leading
dimensions and jit-able. Units follow the input (metres inside the library).
"""

from jaxhands.geometry.camera import (backproject, depth_to_points, intrinsics_matrix, pixel_grid, project,
                                      sample_depth_points, uvd_to_xyz, xyz_to_uvd)
from jaxhands.geometry.frames import (apply_homography, apply_view_correction, axis_angle_to_matrix,
                                      canonical_frame, canonical_rotation, from_canonical_frame, hand_center,
                                      matrix_to_axis_angle, rotation_about_x, rotation_about_y,
                                      rotation_about_z, undo_view_correction, view_correction_homography,
                                      view_correction_rotation)
from jaxhands.geometry.layouts import (BONES, FINGER_BASE, FINGER_TIPS, FINGERS, JOINT_INDEX, JOINT_NAMES,
                                       LAYOUTS, NUM_JOINTS, PARENTS, REFERENCE_BONE, WRIST, Layout,
                                       from_canonical, get_layout, stb_palm_to_wrist, to_canonical,
                                       wrist_to_palm)
from jaxhands.geometry.normalization import (bone_length, bone_lengths, denormalize_pose, normalize_pose,
                                             resolve_bone, resolve_joint, root_relative)

__all__ = [
    # camera
    "intrinsics_matrix", "xyz_to_uvd", "uvd_to_xyz", "project", "backproject", "pixel_grid",
    "depth_to_points", "sample_depth_points",
    # layouts
    "JOINT_NAMES", "JOINT_INDEX", "NUM_JOINTS", "WRIST", "FINGERS", "FINGER_BASE", "FINGER_TIPS",
    "PARENTS", "BONES", "REFERENCE_BONE", "Layout", "LAYOUTS", "get_layout", "to_canonical",
    "from_canonical", "stb_palm_to_wrist", "wrist_to_palm",
    # normalization
    "resolve_joint", "resolve_bone", "root_relative", "bone_length", "bone_lengths", "normalize_pose",
    "denormalize_pose",
    # frames
    "rotation_about_x", "rotation_about_y", "rotation_about_z", "axis_angle_to_matrix",
    "matrix_to_axis_angle", "canonical_rotation", "canonical_frame", "from_canonical_frame",
    "hand_center", "view_correction_rotation", "apply_view_correction", "undo_view_correction",
    "view_correction_homography", "apply_homography",
]
