"""PNG figures for evaluation: PCK / success-rate curves and hand skeletons (2D and 3D).

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`, rendered by
the Agg canvas), never through pyplot, so nothing opens a window and no global figure
state is left behind. Every function writes one PNG of a fixed pixel size
(figsize x dpi; no tight bounding box) and returns its path.

Skeletons use the canonical 21-joint layout (jaxhands.geometry.layouts): one colour
per finger, the palm bone from the wrist to each finger's base in that finger's colour.
3D skeletons are drawn in the camera frame (x right, y down, z forward) turned so the
image's "up" (-y) is the plot's vertical axis and depth runs into the picture; axes
are equal in scale and unit-agnostic (metres, millimetres or normalised units alike).
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from jaxhands.evaluation.skeleton_drawing import (PREDICTION_COLOUR, axis_half_range, bone_colours, draw_skeleton_3d,
                                                  frame_axes_3d, joint_colours, new_figure, save_figure, to_plot_frame)
from jaxhands.geometry.layouts import BONES, NUM_JOINTS

_LINE_STYLES = ("-", "--", ":", "-.")


def _check_curves(curves: Mapping[str, tuple], name: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if not curves:
        raise ValueError(f"{name}: expected at least one curve (label -> (thresholds_mm, values))")
    checked = []
    for label, curve in curves.items():
        if len(curve) != 2:
            raise ValueError(f"{name}[{label!r}]: expected a (thresholds_mm, values) pair")
        thresholds, values = (np.asarray(a, np.float64) for a in curve)
        if thresholds.ndim != 1 or thresholds.shape != values.shape or thresholds.size == 0:
            raise ValueError(f"{name}[{label!r}]: thresholds and values must be equal-length 1-D arrays, "
                             f"got {thresholds.shape} and {values.shape}")
        if np.any((values < 0) | (values > 1)):
            raise ValueError(f"{name}[{label!r}]: values must be fractions in [0, 1]")
        checked.append((str(label), thresholds, values))
    return checked


def _plot_curves(curves, path, title, ylabel, name, figsize, dpi) -> pathlib.Path:
    checked = _check_curves(curves, name)
    figure = new_figure(figsize, dpi)
    ax = figure.add_subplot()
    for label, thresholds, values in checked:
        ax.plot(thresholds, 100.0 * values, label=label, linewidth=2,
                marker="o" if thresholds.size <= 25 else None, markersize=3.5)
    ax.set_xlabel("error threshold (mm)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    ax.set_xlim(min(t[0] for _, t, _ in checked), max(t[-1] for _, t, _ in checked))
    ax.grid(True, alpha=0.35)
    ax.legend(loc="lower right", fontsize=9)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_pck_curve(curves: Mapping[str, tuple], path, title: str | None = None, *,
                   figsize: tuple[float, float] = (6.4, 4.8), dpi: int = 100) -> pathlib.Path:
    """3D PCK curves, {label: (thresholds_mm [T], fraction of correct keypoints [T])} -> PNG.

    Put the AUC in the label (e.g. "ours (AUC=0.95)") as the papers do.
    """
    return _plot_curves(curves, path, title, "3D PCK (% of keypoints)", "curves", figsize, dpi)


def plot_success_rate(curves: Mapping[str, tuple], path, title: str | None = None, *,
                      figsize: tuple[float, float] = (6.4, 4.8), dpi: int = 100) -> pathlib.Path:
    """Success-rate curves, {label: (thresholds_mm, fraction of frames with all joints
    within the threshold)} -> PNG (same style as `plot_pck_curve`)."""
    return _plot_curves(curves, path, title, "% frames with all joints within threshold", "curves",
                        figsize, dpi)


def _as_skeletons(joints, name: str) -> list[np.ndarray]:
    array_list = [joints] if np.ndim(joints) == 2 else list(joints)
    skeletons = []
    for i, skeleton in enumerate(array_list):
        skeleton = np.asarray(skeleton, np.float64)
        if skeleton.shape != (NUM_JOINTS, 3):
            raise ValueError(f"{name}[{i}]: expected shape [{NUM_JOINTS}, 3] (canonical layout), "
                             f"got {skeleton.shape}")
        if not np.all(np.isfinite(skeleton)):
            raise ValueError(f"{name}[{i}]: contains NaN or Inf")
        skeletons.append(skeleton)
    if not skeletons:
        raise ValueError(f"{name}: expected at least one skeleton")
    return skeletons


def plot_skeleton_3d(joints, path, labels: Sequence[str] | None = None,
                     colours: Sequence[str] | None = None, title: str | None = None, *,
                     view: tuple[float, float] = (15.0, -65.0), figsize: tuple[float, float] = (6.0, 6.0),
                     dpi: int = 100) -> pathlib.Path:
    """One or several skeletons [21, 3] (camera frame) in one 3D plot -> PNG.

    colours=None draws every skeleton with one colour per finger, telling skeletons apart
    by line style (solid, dashed, dotted, ...); otherwise one colour per skeleton.
    labels (one per skeleton) fill a legend. view = (elevation, azimuth) in degrees.
    """
    skeletons = _as_skeletons(joints, "joints")
    for given, name in ((labels, "labels"), (colours, "colours")):
        if given is not None and len(given) != len(skeletons):
            raise ValueError(f"{name}: expected one per skeleton ({len(skeletons)}), got {len(given)}")
    figure = new_figure(figsize, dpi)
    ax = figure.add_subplot(projection="3d")
    points = [to_plot_frame(s) for s in skeletons]
    for i, p in enumerate(points):
        draw_skeleton_3d(ax, p, None if colours is None else colours[i],
                          _LINE_STYLES[i % len(_LINE_STYLES)], None if labels is None else labels[i])
    everything = np.concatenate(points)
    frame_axes_3d(ax, everything, axis_half_range(everything), view, show_ticks=True)
    if labels is not None:
        ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title)
    return save_figure(figure, path)


def plot_skeleton_grid(skeletons, path, ncols: int = 5, titles: Sequence[str] | None = None, *,
                       title: str | None = None, view: tuple[float, float] = (15.0, -65.0),
                       panel_size: float = 2.4, dpi: int = 100) -> pathlib.Path:
    """A grid of skeletons [21, 3] (latent walks, prior samples) -> PNG.

    Every panel is centred on its own skeleton with the SAME axis range, so sizes stay
    comparable across panels. Image size: ncols x ceil(n / ncols) panels of panel_size
    inches at dpi.
    """
    skeletons = _as_skeletons(skeletons, "skeletons")
    if ncols < 1:
        raise ValueError(f"ncols: expected >= 1, got {ncols}")
    if titles is not None and len(titles) != len(skeletons):
        raise ValueError(f"titles: expected one per skeleton ({len(skeletons)}), got {len(titles)}")
    ncols = min(ncols, len(skeletons))
    nrows = -(-len(skeletons) // ncols)
    figure = new_figure((panel_size * ncols, panel_size * nrows), dpi)
    points = [to_plot_frame(s) for s in skeletons]
    half_range = max(axis_half_range(p) for p in points)
    for i, p in enumerate(points):
        ax = figure.add_subplot(nrows, ncols, i + 1, projection="3d")
        draw_skeleton_3d(ax, p, None, "-", None)
        frame_axes_3d(ax, p, half_range, view, show_ticks=False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    # A fixed band (inches) on top keeps the figure title clear of the panel titles.
    header = 0.45 / (panel_size * nrows) if title else 0.0
    if title:
        figure.suptitle(title, y=1.0 - 0.1 / (panel_size * nrows), va="top")
    figure.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=1.0 - header, wspace=0.0, hspace=0.08)
    return save_figure(figure, path)


def plot_skeleton_2d_on_image(image, keypoints_2d, path, visible=None, title: str | None = None, *,
                              scale: float = 2.0, dpi: int = 100) -> pathlib.Path:
    """Draws the 21 keypoints (u, v pixels, pixel-centre convention) and bones on an image.

    image: uint8 [H, W, 3]; keypoints_2d: [21, 2]; visible: optional bool [21] (bones
    touching an invisible joint are dashed, invisible joints hollow). The PNG is
    (W * scale) x (H * scale) pixels with the image filling it; the title, if any, is
    written inside the top edge.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image: expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
    keypoints = np.asarray(keypoints_2d, np.float64)
    if keypoints.shape != (NUM_JOINTS, 2):
        raise ValueError(f"keypoints_2d: expected shape [{NUM_JOINTS}, 2], got {keypoints.shape}")
    if not np.all(np.isfinite(keypoints)):
        raise ValueError("keypoints_2d: contains NaN or Inf")
    visible = np.ones(NUM_JOINTS, bool) if visible is None else np.asarray(visible, bool)
    if visible.shape != (NUM_JOINTS,):
        raise ValueError(f"visible: expected shape [{NUM_JOINTS}], got {visible.shape}")
    height, width = image.shape[:2]
    figure = new_figure((width * scale / dpi, height * scale / dpi), dpi)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    # extent puts pixel (i, j)'s centre at (u, v) = (j + 0.5, i + 0.5), the schema's convention.
    ax.imshow(image, extent=(0, width, height, 0), interpolation="nearest")
    line_width = max(1.5, 0.008 * min(width, height) * scale / 2)
    for (parent, child), colour in zip(BONES, bone_colours()):
        style = "-" if visible[parent] and visible[child] else "--"
        ax.plot(keypoints[[parent, child], 0], keypoints[[parent, child], 1], style, color=colour,
                linewidth=line_width, solid_capstyle="round")
    colours = np.array(joint_colours())
    marker_area = (2.0 * line_width) ** 2
    ax.scatter(keypoints[visible, 0], keypoints[visible, 1], s=marker_area, c=colours[visible],
               edgecolors="white", linewidths=0.8, zorder=3)
    ax.scatter(keypoints[~visible, 0], keypoints[~visible, 1], s=marker_area, facecolors="none",
               edgecolors=colours[~visible], linewidths=1.2, zorder=3)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if title:
        ax.text(0.5, 0.99, title, transform=ax.transAxes, ha="center", va="top", fontsize=10,
                color="white", bbox=dict(facecolor="black", alpha=0.5, edgecolor="none", pad=2))
    return save_figure(figure, path)


def plot_prediction_grid(predictions, ground_truth, path, ncols: int = 4, titles: Sequence[str] | None = None, *,
                         title: str | None = None, view: tuple[float, float] = (15.0, -65.0),
                         panel_size: float = 2.6, dpi: int = 100) -> pathlib.Path:
    """Predicted (black, dashed) over ground-truth (finger colours, solid) skeletons [21, 3],
    one sample per panel -> PNG.

    Each panel is centred on its ground truth with one axis range shared by all panels,
    so errors look equally large wherever they happen.
    """
    predicted = _as_skeletons(predictions, "predictions")
    truth = _as_skeletons(ground_truth, "ground_truth")
    if len(predicted) != len(truth):
        raise ValueError(f"predictions ({len(predicted)}) and ground_truth ({len(truth)}) must pair up")
    if titles is not None and len(titles) != len(truth):
        raise ValueError(f"titles: expected one per sample ({len(truth)}), got {len(titles)}")
    ncols = max(1, min(ncols, len(truth)))
    nrows = -(-len(truth) // ncols)
    figure = new_figure((panel_size * ncols, panel_size * nrows), dpi)
    pairs = [(to_plot_frame(t), to_plot_frame(p)) for t, p in zip(truth, predicted)]
    half_range = max(axis_half_range(np.concatenate(pair)) for pair in pairs)
    for i, (t, p) in enumerate(pairs):
        ax = figure.add_subplot(nrows, ncols, i + 1, projection="3d")
        draw_skeleton_3d(ax, t, None, "-", "ground truth" if i == 0 else None)
        draw_skeleton_3d(ax, p, PREDICTION_COLOUR, "--", "prediction" if i == 0 else None)
        frame_axes_3d(ax, t, half_range, view, show_ticks=False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
        if i == 0:
            ax.legend(loc="upper left", fontsize=7)
    header = 0.45 / (panel_size * nrows) if title else 0.0
    if title:
        figure.suptitle(title, y=1.0 - 0.1 / (panel_size * nrows), va="top")
    figure.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=1.0 - header, wspace=0.0, hspace=0.1)
    return save_figure(figure, path)


def plot_point_cloud_pairs(targets, reconstructions, path, *, title: str | None = None,
                           row_labels: tuple[str, str] = ("ground truth", "reconstruction"),
                           view: tuple[float, float] = (15.0, -65.0), panel_size: float = 2.4,
                           dpi: int = 100) -> pathlib.Path:
    """Columns of (target cloud above, reconstructed cloud below), each [N, 3] (camera-like
    axes, any unit; the two clouds of a column may differ in N) -> PNG (Yang et al. Fig. 3).

    A column's two panels share their centre and range, so shape and size compare directly.
    """
    targets = [np.asarray(t, np.float64) for t in targets]
    reconstructions = [np.asarray(r, np.float64) for r in reconstructions]
    if not targets or len(targets) != len(reconstructions):
        raise ValueError(f"targets ({len(targets)}) and reconstructions ({len(reconstructions)}) must pair up, "
                         "at least one pair")
    for name, clouds in (("targets", targets), ("reconstructions", reconstructions)):
        for i, cloud in enumerate(clouds):
            if cloud.ndim != 2 or cloud.shape[-1] != 3 or not np.all(np.isfinite(cloud)):
                raise ValueError(f"{name}[{i}]: expected a finite [N, 3] cloud, got shape {cloud.shape}")
    ncols = len(targets)
    figure = new_figure((panel_size * ncols, panel_size * 2), dpi)
    for col, (target, recon) in enumerate(zip(targets, reconstructions)):
        t, r = to_plot_frame(target), to_plot_frame(recon)
        half_range = axis_half_range(np.concatenate([t, r]))
        for row, (cloud, colour) in enumerate(((t, "#1f77b4"), (r, "#d62728"))):
            ax = figure.add_subplot(2, ncols, row * ncols + col + 1, projection="3d")
            ax.scatter(cloud[:, 0], cloud[:, 1], cloud[:, 2], s=3, c=colour, depthshade=True)
            frame_axes_3d(ax, t, half_range, view, show_ticks=False)
            if col == 0:
                ax.set_title(row_labels[row], fontsize=9)
    header = 0.45 / (panel_size * 2) if title else 0.0
    if title:
        figure.suptitle(title, y=1.0 - 0.1 / (panel_size * 2), va="top")
    figure.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=1.0 - header, wspace=0.0, hspace=0.1)
    return save_figure(figure, path)


def plot_depth_rows(rows: Sequence[Sequence], path, *, row_titles: Sequence[str] | None = None,
                    column_titles: Sequence[str] | None = None, title: str | None = None,
                    value_range: tuple[float, float] = (-1.0, 1.0), panel_size: float = 1.3,
                    dpi: int = 100) -> pathlib.Path:
    """Rows of depth maps [S, S] on one colour scale (`value_range`; near = bright, the
    background at the far end dark) -> PNG: latent walks rendered as depth maps (Wan et
    al. Fig. 1), real maps beside their renders. RGB panels [S, S, 3] in the rgb
    modality's [-0.5, 0.5] are drawn as colour images (Yang & Yao's transfers)."""
    maps = [[np.asarray(m, np.float64) for m in row] for row in rows]
    if not maps or not maps[0]:
        raise ValueError("plot_depth_rows: expected at least one row of maps")
    ncols = max(len(row) for row in maps)
    for r, row in enumerate(maps):
        for c, m in enumerate(row):
            if not (m.ndim == 2 or (m.ndim == 3 and m.shape[-1] == 3)) or not np.all(np.isfinite(m)):
                raise ValueError(f"rows[{r}][{c}]: expected a finite [S, S] depth map or [S, S, 3] RGB image, got "
                                 f"shape {m.shape}")
    if row_titles is not None and len(row_titles) != len(maps):
        raise ValueError(f"row_titles: expected one per row ({len(maps)}), got {len(row_titles)}")
    figure = new_figure((panel_size * ncols, panel_size * len(maps)), dpi)
    for r, row in enumerate(maps):
        for c, m in enumerate(row):
            ax = figure.add_subplot(len(maps), ncols, r * ncols + c + 1)
            if m.ndim == 3:
                ax.imshow(np.clip(m + 0.5, 0.0, 1.0), interpolation="nearest")
            else:
                ax.imshow(m, cmap="magma_r", vmin=value_range[0], vmax=value_range[1], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0 and row_titles is not None:
                ax.set_ylabel(row_titles[r], fontsize=7)
            if r == 0 and column_titles is not None and c < len(column_titles):
                ax.set_title(column_titles[c], fontsize=7)
    header = 0.35 / (panel_size * len(maps)) if title else 0.0
    if title:
        figure.suptitle(title, y=1.0 - 0.05 / (panel_size * len(maps)), va="top", fontsize=9)
    figure.subplots_adjust(left=0.04 if row_titles is not None else 0.0, right=1.0, bottom=0.0,
                           top=1.0 - header - (0.12 / len(maps) if column_titles is not None else 0.0),
                           wspace=0.03, hspace=0.03)
    return save_figure(figure, path)
