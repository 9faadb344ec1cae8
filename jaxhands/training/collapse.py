"""Warns, loudly, when a pose regressor has collapsed to one constant pose.

Methods log `.../spread` metrics (jaxhands.evaluation.spread): the spread of their
pose predictions across the batch divided by that of the targets. A value that
stays below `threshold` for `patience_steps` training steps means the network
outputs (nearly) the same hand for every input, whatever the loss curve shows
(issue 25). Each metric is watched on its own, so one collapsed pair of a
multi-pair method is reported even when the others are healthy. A metric that
recovers re-arms its warning.
"""

from __future__ import annotations

import dataclasses
import logging

log = logging.getLogger("jaxhands.train")

ACTIONS = ("warn", "stop", "off")


class PredictionCollapseError(RuntimeError):
    """Raised with collapse_action="stop": a pose metric's spread stayed ~0."""


def is_spread_metric(name: str) -> bool:
    return name.endswith("/spread") or name.endswith("_spread") or name == "spread"


@dataclasses.dataclass
class CollapseMonitor:
    threshold: float = 0.02
    patience_steps: int = 1000
    action: str = "warn"
    _below_since: dict = dataclasses.field(default_factory=dict)
    _warned: set = dataclasses.field(default_factory=set)

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"config.collapse_action must be one of {ACTIONS}, got {self.action!r}")
        if self.threshold < 0 or self.patience_steps < 1:
            raise ValueError(f"collapse check needs threshold >= 0 and patience_steps >= 1, got "
                             f"{self.threshold}, {self.patience_steps}")

    @classmethod
    def from_config(cls, config) -> CollapseMonitor:
        return cls(threshold=float(config.collapse_spread_threshold),
                   patience_steps=int(config.collapse_patience_steps),
                   action=config.collapse_action)

    def update(self, step: int, metrics: dict) -> list[str]:
        """Feeds the metrics logged at `step` (steps done); returns the newly collapsed names."""
        if self.action == "off":
            return []
        newly = []
        for name, value in metrics.items():
            if not is_spread_metric(name):
                continue
            if value >= self.threshold:
                self._below_since.pop(name, None)
                self._warned.discard(name)
                continue
            since = self._below_since.setdefault(name, step)
            if step - since >= self.patience_steps and name not in self._warned:
                self._warned.add(name)
                newly.append(name)
        for name in newly:
            message = (
                f"PREDICTION COLLAPSE: '{name}' = {metrics[name]:.4f} < {self.threshold} since step "
                f"{self._below_since[name]} (now {step}): the predictions barely vary across the batch "
                f"(spread ratio 1 = as varied as the ground truth), i.e. the network outputs one constant "
                f"pose, the mean pose, whatever the input. Check the input crop (config.hand_crop), the "
                f"learning rate and the encoder; see README 'Image -> pose collapse'.")
            if self.action == "stop":
                raise PredictionCollapseError(message)
            log.warning(message)
        return newly
