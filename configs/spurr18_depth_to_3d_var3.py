"""Spurr et al. 2018, Depth -> 3D joints, Variant 3 (Table 1 / Fig. 4), on 64 px synthetic hands (CPU sizes).

Override sizes on the command line, e.g. --config.image_size=128 --config.resnet_width=64.
"""

from configs.common import image_cross_modal_config


def get_config():
    c = image_cross_modal_config("depth", 3)
    c.name = "spurr18_depth_to_3d_var3"
    return c
