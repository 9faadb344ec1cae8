"""The collapse warning: fires after `patience_steps` below threshold, once, per metric."""

import logging

import pytest

from jaxhands.training.collapse import CollapseMonitor, PredictionCollapseError


def test_warns_once_after_patience_and_rearms_on_recovery(caplog):
    monitor = CollapseMonitor(threshold=0.1, patience_steps=100)
    healthy = "kp3d->kp3d/spread"
    collapsed = "rgb->kp3d/spread"
    with caplog.at_level(logging.WARNING, logger="jaxhands.train"):
        assert monitor.update(50, {collapsed: 0.01, healthy: 0.9, "loss": 1.0}) == []
        assert monitor.update(100, {collapsed: 0.01, healthy: 0.9}) == []
        assert monitor.update(150, {collapsed: 0.02, healthy: 0.9}) == [collapsed]
        assert monitor.update(200, {collapsed: 0.02, healthy: 0.9}) == []  # already reported
        assert monitor.update(250, {collapsed: 0.5, healthy: 0.9}) == []  # recovered: re-armed
        assert monitor.update(300, {collapsed: 0.01}) == []
        assert monitor.update(400, {collapsed: 0.01}) == [collapsed]
    warnings = [r.getMessage() for r in caplog.records if "PREDICTION COLLAPSE" in r.getMessage()]
    assert len(warnings) == 2 and collapsed in warnings[0] and "since step 50" in warnings[0]


def test_stop_action_raises_and_off_stays_silent():
    with pytest.raises(PredictionCollapseError, match="rgb->kp3d/spread"):
        monitor = CollapseMonitor(threshold=0.1, patience_steps=1, action="stop")
        monitor.update(1, {"rgb->kp3d/spread": 0.0})
        monitor.update(2, {"rgb->kp3d/spread": 0.0})
    off = CollapseMonitor(threshold=0.1, patience_steps=1, action="off")
    assert off.update(1, {"a/spread": 0.0}) == [] and off.update(5, {"a/spread": 0.0}) == []
    with pytest.raises(ValueError, match="collapse_action"):
        CollapseMonitor(action="panic")
