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

    # Loop.
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
