"""Yang et al. 2019 Table 1, strategy S4: rc2chp (R = rgb, P = pose, H = heatmap, C = cloud), CPU-sized.

See configs/yang19_common.py and jaxhands/methods/latent_alignment.py.
"""

from configs.yang19_common import latent_alignment_config


def get_config():
    return latent_alignment_config("S4", "rgb", ("cloud", "heatmap"), "cloud", name="yang19_s4_rc2chp")
