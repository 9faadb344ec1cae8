"""Yang et al. ICCV 2019 (aligning latent spaces) configs, CPU-sized by default.

Paper settings kept: latent 64, lambda_heat 0.01, lambda_cloud 1 (Eq. 11), beta annealed
1e-5 -> 1e-3, beta' = 1 (Eq. 3), 256-point clouds, view correction (target "kp3d_vc",
cloud "cloud"), middle-finger MCP as the root (Sec. 5.1), pose decoder 4 x 128 units,
batch 32. CPU-sized (changed from the paper): 64 px crops, ResNet-18 of width 16, ResPEL
of width 128 with 2 residual blocks (paper: Li & Lee's layer count at half width; see
jaxhands.models.point_cloud), FoldingNet width 128, lr 1e-3 (paper 1e-4), a few thousand
steps, and the 4000/500 synthetic split the other 64 px experiments share.
"""

import ml_collections

from configs.common import base_config


def latent_alignment_config(strategy: str, input_modality: str = "rgb", extra_decoders=(),
                            aligned_modality: str = "", *, name: str = "") -> ml_collections.ConfigDict:
    c = base_config()
    c.method = "latent_alignment"
    c.strategy = strategy
    c.input_modality = input_modality
    c.target_modality = "kp3d_vc"  # "kp3d" = without view correction
    c.extra_decoders = tuple(extra_decoders)
    c.aligned_modality = aligned_modality
    c.name = name or f"yang19_{strategy.lower()}_{input_modality}"

    c.image_size = 64
    c.num_points = 256
    c.synthetic_num_train = 4000
    c.synthetic_num_test = 500
    # Yang Sec. 4.1: scale [1, 1.2], shift +-20 px of 256 (~0.08), rotation +-180 deg, hue +-0.1;
    # the 256-point cloud is re-drawn from the (augmented) depth map at every step.
    c.augment = ml_collections.ConfigDict(dict(
        rotation_max_deg=180.0, scale_range=(1.0, 1.2), shift_max=0.08, flip_prob=0.0, hue_max=0.1,
        points_from_depth=True))

    c.latent_dim = 64
    c.beta = 1e-3
    c.beta_start = 1e-5
    c.beta_anneal_steps = 2000
    c.align_beta = 1.0
    c.loss_weights = ml_collections.ConfigDict(dict(kp3d=1.0, heatmap=0.01, cloud=1.0))
    c.cloud_chamfer_weight = 1.0
    c.cloud_emd_weight = 1.0
    c.poe_include_prior = False
    c.joint_width = 256

    c.resnet_depth = 18
    c.resnet_width = 16
    c.encoder_logvar_init = -6.0  # image encoder's initial posterior sigma ~0.05 (see configs/common.py)
    c.heatmap_size = 32
    # The papers' crop around the hand before augmentation (issue 25; configs/common.py):
    # image inputs get hand3d's keypoint box (Yang et al. crop RHD/STB that way), cut from
    # frames of twice the resolution; the depth map is cropped with the same box, so the point cloud
    # re-drawn from it (points_from_depth) is unchanged in the camera frame.
    c.hand_crop = ml_collections.ConfigDict(dict(mode="rgb_keypoints", margin=1.2, cube_size_m=0.3))
    c.respel_width = 128
    c.respel_blocks = 2
    c.folding_width = 128
    c.pose_decoder_width = 128
    c.pose_decoder_layers = 4
    c.mlp_width = 512  # only for MLP encoders (kp2d / kp3d inputs)
    c.mlp_layers = 6

    c.invariances = ml_collections.ConfigDict(dict(
        translation=True, scale=True, handedness=True, root="middle_mcp", reference_bone=("wrist", "middle_mcp")))

    c.batch_size = 32
    c.learning_rate = 1e-3
    c.num_train_steps = 3000
    c.log_every = 50
    c.eval_every = 1000
    c.eval_num_batches = 4
    c.checkpoint_every = 1000
    return c
