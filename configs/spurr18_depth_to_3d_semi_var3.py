"""Spurr et al. 2018 semi-supervised depth -> 3D (Sec. 5.4), Variant 3, 10 % of the 3D labels
(image -> image on every image, image -> 3D on the labelled 10 %);
see configs.common.semi_supervised_config."""

from configs.common import semi_supervised_config


def get_config():
    return semi_supervised_config("depth", 3)
