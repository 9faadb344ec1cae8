"""Logging of the command-line entry points (train.py, eval.py, sample.py): jaxhands'
own progress at INFO, library chatter (orbax, tfds) only from WARNING up."""

from __future__ import annotations

import logging


def configure_cli_logging() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("jaxhands").setLevel(logging.INFO)
