"""Metrics to a JSON-lines file (one record per log interval), written by process 0."""

from __future__ import annotations

import json
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np


def stack_history(history: list[dict]) -> list[dict]:
    """Fetches a list of per-step metric pytrees to the host in one transfer per leaf and
    phase (stacked on device first: per-scalar transfers stall the loop). Steps of
    different phases carry different metrics; each structure is stacked on its own."""
    if not history:
        return []
    by_structure: dict = {}
    for i, record in enumerate(history):
        by_structure.setdefault(jax.tree.structure(record), []).append(i)
    out: list = [None] * len(history)
    for indices in by_structure.values():
        stacked = jax.device_get(jax.tree.map(lambda *xs: jnp.stack(xs), *[history[i] for i in indices]))
        for j, i in enumerate(indices):
            out[i] = jax.tree.map(lambda x, j=j: x[j], stacked)
    return out


def summarize_phase_metrics(history: list[dict], phase_names: list[str] | None = None) -> dict[str, float]:
    """Averages each phase's metrics over the steps it was active ("count" = 1).

    `history` holds the step functions' metric dicts {phase: {name: value, count}}
    (host values, see `stack_history`; a step may hold its own phase only). phase_names:
    the method's phases, in order (default: those in `history`). Returns flat
    {"phase/name": mean}; for a method with a single phase the prefix is dropped. There is no loss averaged over phases: phases
    optimise different objectives (a discriminator's and a generator's, two pairs'), so
    each phase's loss is its own "phase/loss".
    """
    if not history:
        return {}
    phases = list(phase_names) if phase_names is not None else list(dict.fromkeys(p for h in history for p in h))
    out: dict[str, float] = {}
    for phase in phases:
        rows = [h[phase] for h in history if phase in h]
        counts = np.array([r["count"] for r in rows], np.float64)
        if counts.sum() == 0:
            continue
        for name in rows[0]:
            if name == "count":
                continue
            values = np.array([r[name] for r in rows], np.float64)
            mean = float(np.sum(values * counts) / counts.sum())
            if len(phases) == 1:
                key = name
            elif name == "loss":
                key = f"{phase}/loss"
            elif name.startswith(phase):  # already named by pair, e.g. "kp2d->kp3d/recon"
                key = name
            else:
                key = f"{phase}/{name}"
            out[key] = mean
    return out


def find_nonfinite(history: list[dict], first_step: int):
    """(step, phase, metric) of the first non-finite loss term in `history`, else None."""
    for offset, record in enumerate(history):
        for phase, metrics in record.items():
            if not metrics["count"]:
                continue
            for name, value in metrics.items():
                if not math.isfinite(float(np.asarray(value))):
                    return first_step + offset, phase, name
    return None


PENDING_WINDOWS = "metrics_pending"  # <workdir>/metrics_pending/<step>.json


class MetricsWriter:
    def __init__(self, workdir: str | pathlib.Path, filename: str = "metrics.jsonl"):
        self.path = pathlib.Path(workdir) / filename
        self.enabled = jax.process_index() == 0
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, step: int, metrics: dict, **extra) -> None:
        if not self.enabled:
            return
        record = {"step": int(step), **{k: float(v) for k, v in metrics.items()}, **extra}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    # A save between log steps (Ctrl-C, SIGTERM, a stage end) leaves a logging window half
    # done; its per-step metrics are kept beside the checkpoint, so the run resumed from that
    # step logs the whole window, exactly as an uninterrupted run does.
    def save_window(self, step: int, window_start: int, history: list[dict]) -> None:
        """Keeps the per-step metrics (host values, `stack_history`) of steps
        [window_start, step), for a run resumed at `step`. Written before the checkpoint."""
        if not self.enabled:
            return
        directory = self.path.parent / PENDING_WINDOWS
        directory.mkdir(exist_ok=True)
        rows = [jax.tree.map(float, row) for row in history]
        tmp = directory / f"{int(step)}.json.tmp"
        tmp.write_text(json.dumps({"window_start": int(window_start), "history": rows}))
        tmp.replace(directory / f"{int(step)}.json")  # atomic: a crash leaves the old or the new

    def load_window(self, step: int) -> tuple[int, list[dict]] | None:
        """(window_start, per-step metrics) saved for a resume at `step`, or None."""
        path = self.path.parent / PENDING_WINDOWS / f"{int(step)}.json"
        if not self.enabled or not path.is_file():
            return None
        saved = json.loads(path.read_text())
        return int(saved["window_start"]), list(saved["history"])

    def clear_windows(self) -> None:
        """Drops the kept windows (called once a window is logged: they are all older)."""
        directory = self.path.parent / PENDING_WINDOWS
        if self.enabled and directory.is_dir():
            for path in directory.iterdir():
                path.unlink()

    def truncate_after(self, step: int) -> None:
        """Drops records past `step` (written after the checkpoint a resumed run restarts
        from), so the file reads as one uninterrupted run."""
        if not self.enabled or not self.path.exists():
            return
        lines = [ln for ln in self.path.read_text().splitlines() if ln.strip()]
        kept = [ln for ln in lines if json.loads(ln).get("step", 0) <= step]
        self.path.write_text("".join(ln + "\n" for ln in kept))
