"""Spurr et al. 2018, 2D keypoints -> 3D joints, Variant 3 (Table 1), on the synthetic default."""

from configs.common import cross_modal_config


def get_config():
    c = cross_modal_config("kp2d", 3)
    c.name = "spurr18_2d_to_3d_var3"
    return c
