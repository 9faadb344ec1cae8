"""Spurr et al. 2018, depth -> 3D joints, Variant 3, at the paper's sizes (256 px, ResNet-18, batch 64) for a GPU."""

from configs.common import image_cross_modal_gpu_config


def get_config():
    return image_cross_modal_gpu_config("depth", 3)
