"""Spurr et al. 2018 2D -> 3D lifting on the real STB skeletons (train 15000 / test 3000),
Variant 3, T+S invariances (root-relative, scale-normalised); 2D keypoints from
projecting the joints with STB's Bumblebee intrinsics. Needs JAXHANDS_SHARED_DATA."""

from configs.common import cross_modal_config


def get_config():
    c = cross_modal_config("kp2d", 3, dataset="stb_skeletons")
    c.invariances.handedness = False  # STB is one (left) hand: the flag carries nothing
    c.num_train_steps = 6000
    c.eval_every = 1000
    c.checkpoint_every = 1000
    c.name = "spurr18_stb_2d_to_3d_var3"
    return c
