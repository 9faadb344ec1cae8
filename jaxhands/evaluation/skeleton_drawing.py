"""Drawing primitives shared by the evaluation figures (plots.py) and the inference
figures (jaxhands.inference): finger colours, a pyplot-free figure, PNG saving, and 3D
skeletons in the plot frame.

Figures are matplotlib `Figure` objects with the Agg canvas attached explicitly: no
pyplot, no window, no global backend switch. 3D skeletons are drawn in the camera frame
(x right, y down, z forward) turned so the image's "up" (-y) is the plot's vertical axis
and depth runs into the picture, with equal axis scales.
"""

from __future__ import annotations

import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from jaxhands.geometry.layouts import BONES, FINGER_BASE, FINGERS, NUM_JOINTS, WRIST

FINGER_COLOURS: dict[str, str] = {
    "thumb": "#d62728",   # red
    "index": "#ff7f0e",   # orange
    "middle": "#2ca02c",  # green
    "ring": "#1f77b4",    # blue
    "little": "#9467bd",  # purple
}
WRIST_COLOUR = "#404040"
PREDICTION_COLOUR = "#000000"

def _finger_of_joint(joint: int) -> str | None:
    if joint == WRIST:
        return None
    return next(f for f in FINGERS if FINGER_BASE[f] <= joint < FINGER_BASE[f] + 4)


def bone_colours() -> list[str]:
    """Colour of each bone of BONES (that of the finger its child joint belongs to)."""
    return [FINGER_COLOURS[_finger_of_joint(child)] for _, child in BONES]


def joint_colours() -> list[str]:
    """Colour of each of the 21 joints (the wrist dark grey)."""
    return [WRIST_COLOUR if j == WRIST else FINGER_COLOURS[_finger_of_joint(j)] for j in range(NUM_JOINTS)]


def new_figure(figsize: tuple[float, float], dpi: int) -> Figure:
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=figure.dpi)
    return path


def to_plot_frame(skeleton: np.ndarray) -> np.ndarray:
    # Camera (x right, y down, z forward) -> plot (x, depth z, up = -y).
    return np.stack([skeleton[:, 0], skeleton[:, 2], -skeleton[:, 1]], -1)


def draw_skeleton_3d(ax, points: np.ndarray, colour: str | None, style: str, label: str | None) -> None:
    colours = bone_colours() if colour is None else [colour] * len(BONES)
    for (parent, child), bone_colour in zip(BONES, colours):
        segment = points[[parent, child]]
        ax.plot(segment[:, 0], segment[:, 1], segment[:, 2], style, color=bone_colour, linewidth=2.2)
    dot_colours = joint_colours() if colour is None else colour
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=dot_colours, s=14, depthshade=False)
    if label is not None:
        # Proxy artist so the legend shows one entry per skeleton.
        ax.plot([], [], style, color=colour or WRIST_COLOUR, linewidth=2.2, label=label)


def frame_axes_3d(ax, points: np.ndarray, half_range: float, view: tuple[float, float],
                   show_ticks: bool) -> None:
    centre = (points.max(axis=0) + points.min(axis=0)) / 2.0
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
        setter(c - half_range, c + half_range)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=view[0], azim=view[1])
    if show_ticks:
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel("x")
        ax.set_ylabel("z (depth)")
        ax.set_zlabel("-y (up)")
        ax.tick_params(labelsize=7)
    else:
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])


def axis_half_range(points: np.ndarray) -> float:
    extent = float(np.max(points.max(axis=0) - points.min(axis=0)))
    return 0.55 * extent if extent > 0 else 1.0
