"""The default experiment of `python train.py`: Spurr et al.'s 2D -> 3D cross-modal
VAE (Variant 1) on the built-in synthetic hands; a few minutes on a laptop CPU."""

from configs.common import cross_modal_config


def get_config():
    c = cross_modal_config("kp2d", 1)
    c.name = "default"
    c.synthetic_num_train = 10000
    c.synthetic_num_test = 1000
    c.num_train_steps = 3000
    c.eval_every = 1000
    c.checkpoint_every = 500
    return c
