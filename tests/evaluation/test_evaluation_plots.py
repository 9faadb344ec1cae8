"""Plots write PNGs of the promised pixel size with the promised content."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest

from jaxhands.evaluation import plots
from jaxhands.evaluation.skeleton_drawing import FINGER_COLOURS
from jaxhands.geometry.layouts import FINGERS


def _read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


def _hand(scale: float = 0.08) -> np.ndarray:
    """A flat open hand in the canonical layout (fingers fanned upwards, -y), metres."""
    joints = np.zeros((21, 3))
    joints[:, 2] = 0.5
    for f in range(5):
        angle = np.deg2rad(-50 + 25 * f)
        direction = np.array([np.sin(angle), -np.cos(angle), 0.0])
        for k in range(4):
            joints[1 + 4 * f + k, :2] = (0.4 + 0.2 * k) * scale * direction[:2]
    return joints


def test_curve_plots_have_expected_size_and_drawn_content(tmp_path):
    thresholds = np.linspace(0, 50, 20)
    curves = {"a (AUC=0.50)": (thresholds, thresholds / 50), "b": (thresholds, np.sqrt(thresholds / 50))}
    for function, name in ((plots.plot_pck_curve, "pck.png"), (plots.plot_success_rate, "success.png")):
        path = function(curves, tmp_path / "out" / name, title="curves", figsize=(5.0, 4.0), dpi=80)
        image = _read_png(path)
        assert image.shape[:2] == (320, 400)
        # Both default line colours appear (C0 blue, C1 orange).
        for colour in ("C0", "C1"):
            rgb = np.array(matplotlib.colors.to_rgb(colour))
            assert np.any(np.all(np.abs(image[..., :3] - rgb) < 0.05, axis=-1)), colour


def test_curve_plot_rejects_percent_values(tmp_path):
    with pytest.raises(ValueError, match="fractions"):
        plots.plot_pck_curve({"x": ([0, 10], [0, 95])}, tmp_path / "x.png")


def test_skeleton_3d_uses_one_colour_per_finger(tmp_path):
    hand = _hand()
    path = plots.plot_skeleton_3d([hand, hand + 0.01], tmp_path / "skel.png", labels=["gt", "pred"],
                                  title="two hands", figsize=(4.0, 4.0), dpi=100)
    image = _read_png(path)
    assert image.shape[:2] == (400, 400)
    for finger in FINGERS:
        rgb = np.array(matplotlib.colors.to_rgb(FINGER_COLOURS[finger]))
        assert np.sum(np.all(np.abs(image[..., :3] - rgb) < 0.05, axis=-1)) > 20, finger
    with pytest.raises(ValueError, match=r"labels: expected one per skeleton \(2\)"):
        plots.plot_skeleton_3d([hand, hand], tmp_path / "bad.png", labels=["only one"])
    with pytest.raises(ValueError, match=r"joints\[0\]: expected shape \[21, 3\]"):
        plots.plot_skeleton_3d(hand[:16], tmp_path / "bad.png")


def test_skeleton_grid_size(tmp_path):
    hands = [_hand(0.06 + 0.005 * i) for i in range(7)]
    path = plots.plot_skeleton_grid(hands, tmp_path / "grid.png", ncols=4, title="walk", panel_size=2.0, dpi=50)
    image = _read_png(path)
    assert image.shape[:2] == (2 * 100, 4 * 100)
    assert image[..., :3].std() > 0.01


def test_skeleton_2d_on_image_draws_bones_at_keypoints(tmp_path):
    image = np.zeros((64, 64, 3), np.uint8)
    keypoints = np.zeros((21, 2))
    keypoints[0] = (32, 60)
    for f in range(5):
        for k in range(4):
            keypoints[1 + 4 * f + k] = (8 + 12 * f, 44 - 12 * k)
    visible = np.ones(21, bool)
    visible[4] = False
    path = plots.plot_skeleton_2d_on_image(image, keypoints, tmp_path / "overlay.png", visible=visible, scale=2)
    drawn = _read_png(path)
    assert drawn.shape[:2] == (128, 128)
    # The middle of each finger's second bone (v = 26 px -> row 52 at scale 2) has its colour.
    for f, finger in enumerate(FINGERS):
        rgb = np.array(matplotlib.colors.to_rgb(FINGER_COLOURS[finger]))
        np.testing.assert_allclose(drawn[52, 2 * (8 + 12 * f), :3], rgb, atol=0.1, err_msg=finger)
    # Far from the hand the black image shows through.
    np.testing.assert_allclose(drawn[4, 120, :3], 0.0, atol=0.02)
    with pytest.raises(ValueError, match=r"image: expected uint8 \[H, W, 3\]"):
        plots.plot_skeleton_2d_on_image(image.astype(np.float32), keypoints, tmp_path / "bad.png")


def test_prediction_grid_draws_every_panel_and_pairs_inputs(tmp_path):
    hands = [_hand(), _hand(0.07)]
    path = plots.plot_prediction_grid([h + 0.01 for h in hands], hands, tmp_path / "ex.png", ncols=2,
                                      titles=["a", "b"], panel_size=2.0, dpi=100)
    image = _read_png(path)
    assert image.shape[:2] == (200, 400)
    thumb = np.array(matplotlib.colors.to_rgb(FINGER_COLOURS["thumb"]))
    hits = np.all(np.abs(image[..., :3] - thumb) < 0.05, axis=-1)
    assert hits[:, :200].sum() > 20 and hits[:, 200:].sum() > 20  # both panels drawn
    with pytest.raises(ValueError, match=r"predictions \(1\) and ground_truth \(2\) must pair up"):
        plots.plot_prediction_grid(hands[:1], hands, tmp_path / "bad.png")


def test_point_cloud_pairs_put_targets_above_reconstructions(tmp_path):
    rng = np.random.default_rng(0)
    clouds = [rng.normal(size=(64, 3)) * 0.03 for _ in range(3)]
    path = plots.plot_point_cloud_pairs(clouds, [c * 1.1 for c in clouds], tmp_path / "clouds.png",
                                        panel_size=2.0, dpi=100)
    image = _read_png(path)
    assert image.shape[:2] == (400, 600)
    blue = np.all(np.abs(image[..., :3] - np.array(matplotlib.colors.to_rgb("#1f77b4"))) < 0.15, axis=-1)
    red = np.all(np.abs(image[..., :3] - np.array(matplotlib.colors.to_rgb("#d62728"))) < 0.15, axis=-1)
    assert blue[:200].sum() > 50 and blue[200:].sum() == 0
    assert red[200:].sum() > 50 and red[:200].sum() == 0
    with pytest.raises(ValueError, match=r"reconstructions\[1\]: expected a finite \[N, 3\] cloud"):
        plots.plot_point_cloud_pairs(clouds[:2], [clouds[0], np.zeros((5, 2))], tmp_path / "bad.png")
