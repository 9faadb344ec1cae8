"""Yang et al. 2019 Table 1, strategy S2: r2hp (R = rgb, P = pose, H = heatmap, C = cloud), CPU-sized.

See configs/yang19_common.py and jaxhands/methods/latent_alignment.py.
"""

from configs.yang19_common import latent_alignment_config


def get_config():
    return latent_alignment_config("S2", "rgb", ("heatmap",), "", name="yang19_s2_r2hp")
