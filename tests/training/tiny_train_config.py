"""The tiny test config as a config file for `python train.py --config` (data dir from
$JAXHANDS_DATA_DIR)."""

from tests.training.tiny_configs import tiny_config


def get_config():
    return tiny_config("")
