"""The toy two-player method's config file, for `python train.py --config` (data dir
from $JAXHANDS_DATA_DIR or --config.data_dir)."""

from tests.training.toy_gan import toy_gan_config


def get_config():
    return toy_gan_config()
