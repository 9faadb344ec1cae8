"""Spurr et al. 2018 semi-supervised depth -> 3D (Sec. 5.4): Variant 3 with 10% of the training labels.

The labelled 10% is a fixed seeded subset (jaxhands.training.experiment); pairs that
need labels (depth -> kp3d) see only it, label-free pairs (Var. 3's depth -> depth) every image.
"""

from configs.common import image_cross_modal_config


def get_config():
    c = image_cross_modal_config("depth", 3)
    c.name = "spurr18_depth_to_3d_semi_var3"
    c.labelled_fraction = 0.1
    return c
