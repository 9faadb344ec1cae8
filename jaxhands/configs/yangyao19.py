"""Yang & Yao 2019 (disentangled VAE) experiments, CPU-sized: the 3DPose dVAE for pose
estimation (Fig. 2c) - a canonical-pose / viewpoint factorised latent learnt from poses,
then the depth or RGB crop embedded into it with the decoders frozen (Alg. 1, Eq. 7-8).
The image side reuses the Spurr image experiments' crop protocol, augmentation and CPU
budget (jaxhands.configs.spurr18.image_cross_modal_config)."""

from __future__ import annotations

import ml_collections

from jaxhands.configs.named import NamedConfig
from jaxhands.configs.spurr18 import image_cross_modal_config


def dvae_pose_config(input_modality: str = "depth", labelled_fraction: float = 1.0) -> ml_collections.ConfigDict:
    c = image_cross_modal_config(input_modality, 1)
    c.method = "disentangled_vae"
    c.latent_dim = 64  # 32 canonical pose + 32 viewpoint
    c.mlp_width, c.mlp_layers = 512, 6  # "six fully connected layers with 512 hidden units"
    c.labelled_fraction = labelled_fraction
    # Stage 1 reads poses from memory (fast); stage 2 is the image encoder at the Spurr CPU budget.
    c.dvae_disentangle_steps = 3000
    c.num_train_steps = c.dvae_disentangle_steps + 3000
    return c


NAMED = {
    "yangyao19_dvae_pose_depth": NamedConfig(
        lambda: dvae_pose_config("depth"), "Yang & Yao 2019 3DPose dVAE (canonical pose / viewpoint factors), "
                                           "depth crop embedded, synthetic, 64 px"),
    "yangyao19_dvae_pose_rgb": NamedConfig(
        lambda: dvae_pose_config("rgb"), "Yang & Yao 2019 3DPose dVAE, RGB crop embedded, synthetic, 64 px"),
    "yangyao19_dvae_pose_depth_semi": NamedConfig(
        lambda: dvae_pose_config("depth", 0.1), "Yang & Yao 2019 3DPose dVAE, 10 % of the 3D labels (Sec. 4.4)"),
}
