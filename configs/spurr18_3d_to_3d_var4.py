"""Spurr et al. 2018, 3D joints -> 3D joints (a pose VAE), Variant 4, on the synthetic default.

With input = target = 3D the variants' pairs coincide up to duplicates: Var. 1/2/3/4
all reduce to the single pair (kp3d -> kp3d): the pose VAE that Crossing Nets and
Yang et al. also use as their pose prior. Kept as four files so that every table
row has a config."""

from configs.common import cross_modal_config


def get_config():
    c = cross_modal_config("kp3d", 4)
    c.name = "spurr18_3d_to_3d_var4"
    return c
