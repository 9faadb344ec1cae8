"""Wan et al. 2017 (Crossing Nets) experiments, CPU-sized: 64 px depth crops (the paper's
128 px at the accelerator sizes), the four-stage schedule of the released code (spec B4)
with shortened stages, 10 % of the 3D labels by default (the paper's Fig. 3 varies it)."""

from __future__ import annotations

import ml_collections

from jaxhands.configs.base import base_config
from jaxhands.configs.named import NamedConfig


def crossing_nets_config(labelled_fraction: float = 0.1, *, image_size: int = 64) -> ml_collections.ConfigDict:
    c = base_config()
    c.method = "crossing_nets"
    c.name = f"wan17_crossing_nets_{round(100 * labelled_fraction)}pct"
    c.input_modality = "depth"
    c.image_size = image_size
    c.synthetic_num_train = 20000
    c.synthetic_num_test = 500
    # The metric cube around the depth centre of mass (the code's 250 mm), label-free.
    c.hand_crop.mode = "depth_cube"
    c.hand_crop.cube_size_m = 0.25
    c.labelled_fraction = labelled_fraction
    # Sized for 2 CPU cores (~14 min a run at 64 px): batch 32 (the code's 100 / 200), the
    # VAE stage reads poses only, from memory (~300 steps/s): 20000 steps reconstruct test
    # poses at 0.1x the mean-pose error (docs/results/crossing_nets_pose_vae.json); GAN and
    # joint steps take ~0.2 / ~0.4 s here.
    c.batch_size = 32
    c.cn_vae_steps, c.cn_gan_steps, c.cn_warm_steps = 20000, 1500, 500
    c.num_train_steps = 23000  # + 1000 joint steps
    c.log_every = 100
    c.eval_every = 1000
    c.checkpoint_every = 500  # every stage boundary is a checkpoint (init_from, the C4 GAN statistics)
    return c


NAMED = {
    "wan17_crossing_nets_full": NamedConfig(
        crossing_nets_config, "Wan et al. 2017 Crossing Nets (pose VAE + depth GAN, 4 stages), synthetic depth, "
                              "10 % labels, 64 px (CPU sizes)"),
    "wan17_crossing_nets_scratch": NamedConfig(
        lambda: _variant(cn_variant="scratch"), "Crossing Nets baseline: trunk + posterior head trained on L_pos "
                                                "alone after the pose VAE, no GAN (Fig. 3 'scratch')"),
    "wan17_crossing_nets_gan_pretrained": NamedConfig(
        lambda: _variant(cn_variant="gan_pretrained"), "Crossing Nets baseline: as scratch, the trunk pre-trained "
                                                       "as the depth GAN's discriminator (Fig. 3)"),
    "wan17_crossing_nets_no_smo": NamedConfig(
        lambda: _variant(cn_lambda_smo=0.0), "Crossing Nets ablation without the smoothness loss (Fig. 4)"),
    "wan17_crossing_nets_no_gan": NamedConfig(
        lambda: _variant(cn_lambda_gan=0.0), "Crossing Nets ablation without the joint stage's GAN terms (Fig. 4)"),
    "wan17_crossing_nets_gpu128": NamedConfig(
        lambda: _gpu128(), "Wan et al. 2017 Crossing Nets at the paper's 128 px, for an accelerator"),
}


def _variant(**fields) -> ml_collections.ConfigDict:
    c = crossing_nets_config()
    c.update(fields)
    if c.cn_variant == "scratch":  # the same number of posterior updates as full's warm-up + joint stages
        c.num_train_steps -= c.cn_gan_steps
    return c


def _gpu128() -> ml_collections.ConfigDict:
    c = crossing_nets_config(image_size=128)
    c.synthetic_image_size = 256
    c.batch_size = 64
    c.cn_vae_steps, c.cn_gan_steps, c.cn_warm_steps = 20000, 50000, 5000
    c.num_train_steps = 125000
    c.eval_every = c.checkpoint_every = 5000
    return c
