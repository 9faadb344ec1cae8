"""Spurr et al. 2018 semi-supervised rgb -> 3D (Sec. 5.4), Variant 1, 10 % of the 3D labels
(trained on the labelled 10 % alone);
see configs.common.semi_supervised_config."""

from configs.common import semi_supervised_config


def get_config():
    return semi_supervised_config("rgb", 1)
