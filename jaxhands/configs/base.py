"""Every knob of every experiment, declared once with its default.

Library code reads fields as attributes (`config.resnet_width`), never with a
`config.get(name, default)` fallback: a knob's default lives here and only here. Named
experiments (jaxhands.configs.spurr18, .yang19) start from `base_config()` and change
fields; every field can be overridden on the command line
(`python train.py --config=spurr18_2d_to_3d_var3 --config.num_train_steps=20`).

Optional fields are typed placeholders (`placeholder(float)`: None until set), so they
can be overridden too (`--config.beta_start=1e-5`). Defaults are CPU-sized; the papers'
sizes are noted beside them and set by the `*_gpu256` configs.
"""

from __future__ import annotations

import ml_collections
from ml_collections.config_dict import placeholder


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "experiment"
    # "cross_modal" (Spurr et al. 2018) or "latent_alignment" (Yang et al. 2019); see
    # jaxhands.methods.registry for methods registered by users.
    c.method = "cross_modal"
    c.seed = 0
    _data_fields(c)
    _optimisation_fields(c)
    _model_fields(c)
    _cross_modal_fields(c)
    _latent_alignment_fields(c)
    _crossing_nets_fields(c)
    _loop_fields(c)
    return c


def _data_fields(c: ml_collections.ConfigDict) -> None:
    # dataset: "synthetic" (built-in generator; shards are built under data_dir on first
    # use), "stb_skeletons" (real STB joints, ../shared/data), or the name or path of a
    # dataset written by `python -m data_prep <dataset>`.
    c.dataset = "synthetic"
    c.data_dir = ""  # "" = $JAXHANDS_DATA_DIR or ~/.cache/jaxhands/datasets
    c.data_threads = 2  # host threads decoding and augmenting records
    c.image_size = 64  # side of the images the network sees (Spurr/Yang: 256)
    c.num_points = 256  # points per cloud (Yang et al.: 256)
    c.synthetic_num_train = 20000
    c.synthetic_num_test = 1000
    c.synthetic_seed = 0
    c.synthetic_background = "textured"  # or "plain"
    # K > 0: K shared contents (background, skin, light), records carry content_id and
    # tag_image (Yang & Yao's synthesis; jaxhands.synthetic.config.SyntheticConfig).
    c.synthetic_num_backgrounds = 0
    # Hand skeletons: "stb" (around STB's one fitted skeleton; every result so far) or
    # "anthropometric" (each bone ratio uniform within the published limits: covers
    # other datasets' joint conventions; jaxhands.synthetic.config.SyntheticConfig).
    c.synthetic_hand_shapes = "stb"
    # Side of the stored synthetic frames; 0 = automatic: image_size without a hand crop,
    # 2 * image_size with one (the network sees image_size-pixel crops cut from them).
    c.synthetic_image_size = 0
    # The papers' crop around the hand, before augmentation (jaxhands.data.hand_crop):
    # mode "none", "rgb_keypoints" (hand3d box from the 2D keypoints, `margin` times wider)
    # or "depth_cube" (DeepPrior cube of cube_size_m around the depth centre of mass).
    c.hand_crop = ml_collections.ConfigDict(dict(mode="none", margin=1.0, cube_size_m=0.3))
    # jaxhands.data.augment.AugmentConfig; the defaults switch everything off.
    c.augment = ml_collections.ConfigDict(dict(
        rotation_max_deg=0.0, scale_range=(1.0, 1.0), shift_max=0.0, flip_prob=0.0, hue_max=0.0,
        points_from_depth=False))
    # Semi-supervision: this fraction of the training records keeps its 3D labels (a fixed
    # seeded subset); labelled_only trains on that subset alone (the supervised baseline).
    c.labelled_fraction = 1.0
    c.labelled_only = False
    # Held out of the training split for model selection (a fixed subset, the same for every
    # seed, never trained on): the in-training evaluation then reads it, logged as val/*,
    # instead of the first test batches (eval/*). 0 = no validation split.
    c.validation_fraction = 0.0
    # Labelled rows per batch of the "labelled_mix" stream (jaxhands.data.streams; Crossing
    # Nets' k labelled pairs among B); 0 = no phase reads that stream.
    c.stream_labelled_rows = 0


def _optimisation_fields(c: ml_collections.ConfigDict) -> None:
    # Spurr et al.: Adam, lr 1e-4, batch 64.
    c.batch_size = 64
    c.num_train_steps = 2000
    c.learning_rate = 1e-4
    c.lr_schedule = "constant"  # or "cosine" (decays to lr_min_ratio * learning_rate)
    c.lr_min_ratio = 0.0
    c.warmup_steps = 0  # linear warm-up from 0, before either schedule
    c.adam_b1 = 0.9
    c.adam_b2 = 0.999
    c.grad_clip_norm = 0.0  # 0 = no clipping (global norm)
    # Parallelism: "mesh" (jit over a Mesh, default) or "pmap" (same step function).
    c.parallel = "mesh"


def _model_fields(c: ml_collections.ConfigDict) -> None:
    c.latent_dim = 64
    # MLP encoders/decoders of keypoints: `mlp_layers` hidden Linear(mlp_width) + ReLU layers,
    # then the output layer. Spurr et al. Table 3 has five hidden layers of 512; the default
    # 6 is one more (the README's lifting figures were measured with it).
    c.mlp_width = 512
    c.mlp_layers = 6
    # Their hidden layers' initialiser: "lecun_normal" (Flax's default) or "he_normal" (for
    # ReLU; the image configs use it: issue 25, a deep decoder's slow start).
    c.mlp_kernel_init = "lecun_normal"
    # ResNet image encoders (Spurr et al.: ResNet-18 of width 64).
    c.resnet_depth = 18  # 18, 34 or 50
    c.resnet_width = 64
    c.resnet_stem = "imagenet"  # or "small" (3x3 stride-1 stem: 2x the resolution, 4x the cost)
    c.resnet_pooling = "average"  # or "flatten" (keeps the last map's layout, DeepPrior-style)
    # How the ResNet's convolutions and max-pool are computed: "xla" (flax's), "im2col"
    # (over shifted slices: the same function and parameters, 1.2-1.4 x faster train steps at
    # 128 px width 64 with XLA's CPU backend; jaxhands.models.im2col, benchmarks/conv_lowering.py)
    # or "im2col_body" (im2col but the stem's convolution, which im2col slows at 64 px width 16).
    c.resnet_lowering = "xla"
    # Initial bias of the ResNet posterior's logvar head; 0 = sigma 1 at the start (the
    # image configs use -6: with sigma 1, z is almost pure noise at first and an RGB
    # decoder learns only the mean pose).
    c.encoder_logvar_init = 0.0
    c.image_decoder_channels = 256  # first feature map of the image decoder (Spurr Table 4)
    c.heatmap_size = 32  # 2D heatmaps (Yang et al.)
    c.heatmap_decoder_channels = 256
    # Point clouds (Yang et al.): ResPEL encoder, FoldingNet decoder, pose decoder.
    c.respel_width = 512
    c.respel_blocks = 3
    c.folding_width = 512
    c.pose_decoder_width = 128
    c.pose_decoder_layers = 4
    # Pose normalisation before encoding (Spurr Sec. 4: T/S/H invariances).
    c.invariances = ml_collections.ConfigDict(dict(
        translation=True, scale=True, handedness=True, root="wrist", reference_bone=("wrist", "middle_mcp")))


def _cross_modal_fields(c: ml_collections.ConfigDict) -> None:
    # Spurr et al. 2018 (jaxhands.methods.cross_modal).
    c.input_modality = "kp2d"  # kp2d, kp3d, rgb, depth, cloud
    c.target_modality = "kp3d"  # latent_alignment: "kp3d_vc" (view-corrected)
    c.variant = 1  # Spurr Sec. 4.3, Variants 1-4
    c.pairs = ()  # empty: derived from `variant`; or e.g. ("kp2d->kp3d", "kp3d->kp3d")
    c.schedule = "alternate"  # Alg. 1; "joint" sums all pairs per step
    c.predict_from = ""  # "" = the first pair's encoder
    # Weight of each decoded modality's reconstruction term in a pair's loss (Alg. 1: 1, the
    # plain ||x - x^||^2 summed over the modality's values; e.g. rgb = 1 / 12288 makes a 64 px
    # image pair's term a per-value mean like the 63 joint coordinates').
    # One per built-in modality (jaxhands.methods.modality_registry; a test keeps them in step).
    c.recon_weights = ml_collections.ConfigDict({m: 1.0 for m in (
        "cloud", "cloud_uncorrected", "depth", "heatmap", "kp2d", "kp3d", "kp3d_vc", "rgb", "tag")})
    c.beta = 1e-4  # KL weight (end value of the annealing)
    c.beta_start = placeholder(float)  # None = no annealing
    c.beta_anneal_steps = 0  # log-linear from beta_start to beta over these steps


def _latent_alignment_fields(c: ml_collections.ConfigDict) -> None:
    # Yang et al. 2019 (jaxhands.methods.latent_alignment).
    c.strategy = "S1"  # S1-S4
    c.extra_decoders = ()  # e.g. ("cloud", "heatmap")
    c.aligned_modality = ""  # S3/S4: the second encoder ("cloud")
    c.align_beta = 1.0  # beta' of Eq. 3 (end value of its warm-up, if any)
    # None = beta' constant; else log-linear from this to align_beta over align_beta_anneal_steps
    # (docs/results/yang19_s3_alignment_probe.json: from RGB, S3 leaves the collapse of its
    # first steps at beta' 0.01, not at 0.1 or 1).
    c.align_beta_start = placeholder(float)
    # beta''s warm-up length; None = beta_anneal_steps (beside beta). Apart from beta's so
    # that beta' can reach the paper's 1 within a short run while beta keeps its 2000 steps.
    c.align_beta_anneal_steps = placeholder(int)
    c.loss_weights = ml_collections.ConfigDict(dict(kp3d=1.0, heatmap=1.0, cloud=1.0))  # lambdas of Eq. 11
    c.cloud_chamfer_weight = 1.0
    c.cloud_emd_weight = 1.0
    # The auction EMD's tolerance: a converged bijection's mean cost is within this fraction
    # of the optimum (jaxhands.losses.emd.approx_emd); looser is fewer auction phases.
    c.cloud_emd_rel_tol = 0.05
    c.poe_include_prior = False  # product of experts with the N(0, I) prior as an expert
    c.joint_width = 256  # S3's joint (image, cloud) encoder


def _crossing_nets_fields(c: ml_collections.ConfigDict) -> None:
    # Wan et al. 2017 (jaxhands.methods.crossing_nets; spec B4): stages of the schedule, in
    # steps (the joint stage runs to the end), and each stage's learning rate (Adam, beta1 0.5).
    c.cn_vae_steps = 2000
    c.cn_gan_steps = 3000
    c.cn_warm_steps = 500
    c.cn_lr_vae = 3e-4
    c.cn_lr_gan = 3e-4
    c.cn_lr_warm = 1e-2
    c.cn_lr_joint = 1e-3
    c.cn_adam_b1 = 0.5
    c.cn_latent_noise = 0.05  # std of the noise injected after the pose encoder (z = mu + 0.05 sigma eps)
    c.cn_cube_size_m = 0.25  # metric cube around the depth centre of mass (the code's 250 mm)
    c.cn_pose_unit_m = 0.05  # joints and origin in units of 50 mm
    c.cn_mix_weights = 5  # latents mixed into each smoothness sample Z_r
    c.cn_variant = "full"  # full | gan_pretrained | scratch (the last two: trunk + posterior head on L_pos alone)
    c.cn_lambda_smo = 1.0  # weight of L_smo (warm-up and joint); 0 = the paper's ablation without it
    c.cn_lambda_gan = 1.0  # weight of the joint stage's GAN terms (D's BCE, G's feature matching); 0 = ablation
    c.cn_pca_init = True
    # Yang & Yao 2019 dVAE (jaxhands.methods.disentangled_vae; spec Part A): z = [z_c, z_v],
    # latent_dim / 2 each; Alg. 1's disentangling stage, then the embedding of the input.
    # "pose": Fig. 2c (canonical pose / viewpoint, the pose estimator); "synthesis": Fig. 2a
    # (pose / image content from tag images; needs synthetic_num_backgrounds > 0);
    # "synthesis_zu": Fig. 2b (pose / unlabelled content z_u encoded from the image, Alg. 2).
    c.dvae_variant = "pose"
    c.dvae_disentangle_steps = 3000  # stage 1; the embedding runs to num_train_steps
    # Alg. 2's T2 (synthesis_zu): pose-invariance steps after each Eq. 6 step in stage 1
    # (unspecified in the paper; 1 alternates them). 0 is the ablation without the loop.
    c.dvae_zu_inner_steps = 1
    c.dvae_lambda_x = 1.0  # weight of the 3D pose reconstruction (paper: 1)
    # The paper's lambda_y 0.01 is for its own units; here the pose term sums 63 coordinates
    # in reference-bone units and the viewpoint is 6 numbers of unit size. Measured at 3000
    # steps (docs/results/dvae_disentangle_probes.json): with 0.01 z_v never encodes the rotation's
    # first row (the viewpoint decoder's output there has std 0.02 against the target's
    # 0.58; recon 0.39x the mean pose); with 1 the factors are learnt (recon 0.19x, 9 deg).
    c.dvae_lambda_y = 1.0  # weight of the canonical pose and viewpoint reconstructions
    # Unspecified for pose estimation; 1 squeezes both factors (recon 0.76x / 0.66x the mean pose).
    c.dvae_beta_disentangle = 0.01  # KL weight of the disentangling step
    c.dvae_beta_embed = 0.01  # KL weight of the embedding step (the paper's beta-triple-prime)
    # The synthesis variants' KL weight on the pose factor z_p alone, in both stages (None: the
    # paper's one beta, dvae_beta_disentangle, then beta' = dvae_beta_embed). At 32 px that beta
    # is 1.56 and z_p collapses to the prior (docs/results/dvae_synthesis.json, dvae_zu*.json);
    # the pose dVAE learns its pose at 0.01.
    c.dvae_beta_pose = placeholder(float)
    # Sec. 4.4 with labelled_fraction < 1: "poses" (the labelled records' poses: the
    # supervised baseline) or "all_poses" (every record's, unpaired: semi-supervised).
    c.dvae_pose_stream = "poses"
    c.dvae_weak_viewpoint = False  # unlabelled images keep their viewpoint label (weak supervision)


def _loop_fields(c: ml_collections.ConfigDict) -> None:
    # Collapse check (jaxhands.training.collapse): a logged pose-prediction spread ratio
    # (prediction spread / target spread across the batch) below the threshold for this
    # many steps means one constant output pose; action "warn", "stop" or "off".
    # Measured (64 px RGB -> 3D): a full-frame run stays at 0.001-0.006 for 1300 steps;
    # the cropped runs start there too and stay below 0.05 for up to 550 steps before they
    # break out. Of fourteen later image runs (docs/results/collapse_threshold_scan.json) every
    # one that learnt left 0.05 by step 250; Yang S3 at beta' 1, which never learnt, hovered
    # at 0.02-0.04.
    c.collapse_spread_threshold = 0.05
    c.collapse_patience_steps = 800
    c.collapse_action = "warn"
    c.log_every = 50
    # Every log step's scalars (and eval.py's metrics and figures) also go to TensorBoard
    # event files in <workdir>/tensorboard (jaxhands.training.tensorboard).
    c.tensorboard = True
    c.eval_every = 500  # 0 = no quick evaluation during training
    c.eval_num_batches = 4
    c.checkpoint_every = 500
    c.max_checkpoints_to_keep = 3
    # Also keep every checkpoint at a multiple of this step (0 = none): a run scored later
    # at an earlier step (an equal-time comparison) needs that step on disk.
    c.keep_checkpoint_every = 0
    # Also keep the checkpoint with the lowest val/mean_epe_mm (needs validation_fraction > 0:
    # choosing on the test split would be model selection on the test set); load it with
    # load_run(workdir, "best") or eval.py --step=best.
    c.keep_best_checkpoint = False
    c.async_checkpointing = True
    # Groups initialised from other runs when this one starts (jaxhands.training.init_from):
    # entries "GROUP=WORKDIR[@STEP][:SOURCE_GROUP]", e.g. ("dec_kp3d=workdirs/pose_vae",).
    c.init_from = ()


def cpu_image_budget(c: ml_collections.ConfigDict) -> None:
    """The CPU-sized optimisation of the 64 px image experiments (Spurr, Yang): batch 32,
    lr 1e-3 (the papers' 1e-4 at batch 64 is too slow for a few thousand CPU steps), 3000
    steps, evaluation and checkpoints every 1000."""
    c.batch_size = 32
    c.learning_rate = 1e-3
    c.num_train_steps = 3000
    c.eval_every = 1000
    c.checkpoint_every = 1000
