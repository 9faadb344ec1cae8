"""A CI-sized cross-modal VAE config shared by the training tests."""

from jaxhands.configs.spurr18 import cross_modal_config


def tiny_config(data_dir, **overrides):
    c = cross_modal_config("kp2d", 3)
    c.data_dir = str(data_dir)
    c.image_size, c.num_points = 32, 32
    c.synthetic_num_train, c.synthetic_num_test = 400, 40
    c.mlp_width, c.mlp_layers, c.latent_dim = 64, 2, 8
    c.batch_size = 16
    c.learning_rate = 1e-3
    c.num_train_steps = 8
    c.log_every = 2
    c.checkpoint_every = 4
    c.eval_every = 0
    c.async_checkpointing = False
    c.parallel = "mesh"
    c.update(overrides)
    return c
