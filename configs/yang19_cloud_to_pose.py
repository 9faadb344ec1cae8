"""Yang et al. 2019 point cloud -> 3D pose (C2P: ResPEL encoder, 4 x 128 pose decoder), S1 with x = cloud.

CPU-sized (configs/yang19_common.py). No image warps here: the synthetic hands already
come in random 3D orientations, and skipping the warps keeps the host cheap. The cloud is
still re-drawn from the depth map at every step (Yang et al. Sec. 4.1).
"""

import ml_collections

from configs.yang19_common import latent_alignment_config


def get_config():
    c = latent_alignment_config("S1", "cloud", name="yang19_cloud_to_pose")
    c.augment = ml_collections.ConfigDict(dict(
        rotation_max_deg=0.0, scale_range=(1.0, 1.0), shift_max=0.0, flip_prob=0.0, hue_max=0.0,
        points_from_depth=True))
    c.hand_crop.mode = "none"  # no image input: the cloud is camera-frame metres, crop-free
    return c
