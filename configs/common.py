"""Fields every experiment has, with CPU-sized defaults. Experiment files start from
`base_config()` and override; any field can be overridden on the command line
(`python train.py --config configs/X.py --config.num_train_steps=20`)."""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "experiment"
    c.method = "cross_modal"
    c.seed = 0

    # Data. dataset: "synthetic" (built-in generator; shards are built under data_dir
    # on first use), "stb_skeletons" (real STB joints, ../shared/data), or the name or
    # path of a dataset written by `python -m data_prep <dataset>`.
    c.dataset = "synthetic"
    c.data_dir = ""  # default: $JAXHANDS_DATA_DIR or ~/.cache/jaxhands/datasets
    c.image_size = 64
    c.num_points = 256
    c.synthetic_num_train = 20000
    c.synthetic_num_test = 1000
    c.synthetic_background = "textured"
    # Side of the stored synthetic frames; 0 = automatic: image_size without a hand crop,
    # 2 * image_size with one (the network sees image_size-pixel crops cut from them).
    c.synthetic_image_size = 0
    # The papers' crop around the hand, before augmentation (jaxhands.data.hand_crop):
    # mode "none", "rgb_keypoints" (hand3d box from the 2D keypoints) or "depth_cube"
    # (DeepPrior cube of cube_size_m around the depth centre of mass); output image_size.
    c.hand_crop = ml_collections.ConfigDict(dict(mode="none", margin=1.0, cube_size_m=0.3))
    c.augment = ml_collections.ConfigDict(dict(
        rotation_max_deg=0.0, scale_range=(1.0, 1.0), shift_max=0.0, flip_prob=0.0, hue_max=0.0))
    c.labelled_fraction = 1.0

    # Optimisation (Spurr et al.: Adam, lr 1e-4, batch 64).
    c.batch_size = 64
    c.num_train_steps = 2000
    c.learning_rate = 1e-4
    c.lr_schedule = "constant"
    c.warmup_steps = 0
    c.grad_clip_norm = 0.0

    # Model.
    c.latent_dim = 64

    # Parallelism: "mesh" (jit over a Mesh, default) or "pmap" (same step function).
    c.parallel = "mesh"

    # Loop.
    # Collapse check (jaxhands.training.collapse): a logged pose-prediction spread ratio
    # (prediction spread / target spread across the batch) below the threshold for this
    # many steps means one constant output pose; action "warn", "stop" or "off".
    # Measured (64 px RGB -> 3D): a full-frame run stays at 0.001-0.006 for 1300 steps;
    # the cropped run starts there too but passes 0.02 by step 450 and 0.2 by 1000.
    c.collapse_spread_threshold = 0.02
    c.collapse_patience_steps = 1000
    c.collapse_action = "warn"
    c.log_every = 50
    c.eval_every = 500
    c.eval_num_batches = 4
    c.checkpoint_every = 500
    c.max_checkpoints_to_keep = 3
    c.async_checkpointing = True
    return c


def cross_modal_config(input_modality: str, variant: int, *, dataset: str = "synthetic") -> ml_collections.ConfigDict:
    """Spurr et al. 2018 cross-modal VAE, Var. `variant` for `input_modality` -> 3D."""
    c = base_config()
    c.method = "cross_modal"
    c.name = f"cross_modal_{input_modality}_to_kp3d_var{variant}_{dataset}"
    c.dataset = dataset
    c.input_modality = input_modality
    c.target_modality = "kp3d"
    c.variant = variant
    c.pairs = ()  # empty: derived from `variant`; or e.g. ("kp2d->kp3d", "kp3d->kp3d")
    c.schedule = "alternate"  # Alg. 1; "joint" sums all pairs per step
    c.predict_from = ""
    c.beta = 1e-4
    c.beta_start = None
    c.beta_anneal_steps = 0
    c.mlp_width = 512
    c.mlp_layers = 6
    c.invariances = ml_collections.ConfigDict(dict(
        translation=True, scale=True, handedness=True, root="wrist", reference_bone=("wrist", "middle_mcp")))
    return c


def image_cross_modal_config(input_modality: str, variant: int, *, dataset: str = "synthetic",
                             image_size: int = 64) -> ml_collections.ConfigDict:
    """Spurr et al. 2018 image ("rgb" | "depth") -> 3D cross-modal VAE, Var. `variant`.

    CPU-sized defaults: 64 px crops, a ResNet-18 of width 16 (the paper's is 64; the
    GPU configs `*_gpu256.py` use 64 at 256 px), batch 32, lr 1e-3, and the 4000/500
    synthetic split that the other 64 px experiments share. Var. 3's x_i -> x_i pair
    is the image self-reconstruction (Table 4 decoder at `image_size`).
    """
    if input_modality not in ("rgb", "depth"):
        raise ValueError(f"image_cross_modal_config: input_modality must be 'rgb' or 'depth', got {input_modality!r}")
    c = cross_modal_config(input_modality, variant, dataset=dataset)
    c.image_size = image_size
    # 20 000 training hands: with the hand crop, 4000 are memorised within ~1000 steps
    # (issue 25: train loss 0.47 against test 0.70); a 128 px sample renders in ~3 ms.
    c.synthetic_num_train = 20000
    c.synthetic_num_test = 500
    c.resnet_depth = 18  # 18, 34 or 50
    c.resnet_width = 16
    c.resnet_stem = "imagenet"  # or "small" (3x3 stride-1 stem: 2x the resolution, 4x the cost)
    c.resnet_pooling = "average"  # or "flatten" (keeps the last map's layout, DeepPrior-style)
    # Initial bias of the ResNet posterior's logvar head (sigma = exp(-3) ~ 0.05 at the start):
    # with 0 (sigma 1) z is almost pure noise at first and the RGB decoder learns only the mean pose.
    c.encoder_logvar_init = -6.0
    c.heatmap_size = 32  # for pairs decoding to "heatmap" (Yang et al.)
    # The papers' input is a crop around the hand (issue 25: without it the pooled features
    # are mostly background and the regressor collapses to the mean pose). RGB: hand3d's
    # box from the 2D keypoints, 20 % wider so fingertips stay inside; depth: a 0.3 m cube
    # around the depth centre of mass. Cut from frames rendered at twice the resolution
    # (synthetic_image_size 0 = automatic).
    c.hand_crop = ml_collections.ConfigDict(dict(
        mode="rgb_keypoints" if input_modality == "rgb" else "depth_cube", margin=1.2, cube_size_m=0.3))
    # Spurr supp.: shifted boxes, rotations in [-45, 45] degrees, flips; the paper's hue jitter
    # only changes colour, so depth runs without it.
    c.augment = ml_collections.ConfigDict(dict(
        rotation_max_deg=45.0, scale_range=(1.0, 1.2), shift_max=0.1, flip_prob=0.5,
        hue_max=0.1 if input_modality == "rgb" else 0.0))
    c.batch_size = 32
    c.learning_rate = 1e-3
    c.num_train_steps = 3000
    c.log_every = 50
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c


def semi_supervised_config(input_modality: str, variant: int, labelled_fraction: float = 0.1):
    """Spurr et al. Sec. 5.4 on 64 px synthetic images: `labelled_fraction` of the training
    records keep their 3D labels (a fixed seeded subset, jaxhands.training.experiment).
    Var. 1 has no label-free pair, so it trains on the labelled subset alone (the supervised
    baseline); Var. 3's image -> image pair also sees every unlabelled image."""
    c = image_cross_modal_config(input_modality, variant)
    c.name = f"spurr18_{input_modality}_to_3d_semi_var{variant}"
    c.labelled_fraction = labelled_fraction
    c.labelled_only = variant in (1, 2)
    return c


def image_cross_modal_gpu_config(input_modality: str, variant: int, *, dataset: str = "synthetic"):
    """The paper's sizes for an accelerator: 256 px, ResNet-18 of width 64, batch 64, lr 1e-4."""
    c = image_cross_modal_config(input_modality, variant, dataset=dataset, image_size=256)
    c.name = f"spurr18_{input_modality}_to_3d_var{variant}_gpu256"
    c.resnet_width = 64
    c.heatmap_size = 64
    c.synthetic_image_size = 256  # the crop upsamples ~2x; 512 px frames take hours to render on CPU
    c.synthetic_num_train = 20000
    c.synthetic_num_test = 1000
    c.batch_size = 64
    c.learning_rate = 1e-4
    c.num_train_steps = 100000
    c.log_every = 100
    c.eval_every = 5000
    c.checkpoint_every = 5000
    return c
