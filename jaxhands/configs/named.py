"""A named experiment: how to build its config, and what table row it reproduces."""

from __future__ import annotations

import dataclasses
from typing import Callable

import ml_collections


@dataclasses.dataclass(frozen=True)
class NamedConfig:
    build: Callable[[], ml_collections.ConfigDict]
    description: str
