"""Yang et al. 2019 Fig. 8, weakly supervised S4 (RC2CHP): only `labelled_fraction` of the training
samples keep their 3D pose (and 2D heatmap) labels; the rest train only the RC -> C parts
(RGB and cloud encoders, cloud decoder, KL terms). CPU-sized; set --config.labelled_fraction.
"""

from configs.yang19_common import latent_alignment_config


def get_config():
    c = latent_alignment_config("S4", "rgb", ("cloud", "heatmap"), "cloud", name="yang19_s4_rc2chp_weak")
    c.labelled_fraction = 0.25
    return c
