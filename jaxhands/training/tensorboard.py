"""Training and evaluation summaries as TensorBoard event files, beside metrics.jsonl
(which stays the record every tool here reads).

    <workdir>/tensorboard/events.out.tfevents.*   every log step's scalars (loss terms,
                                                  spread, quick eval eval/*, speed), and
                                                  eval.py's whole-test-split metrics and
                                                  figures (test_split/<eval folder>/*) at
                                                  the evaluated step

Watch runs with `pip install tensorboard && tensorboard --logdir workdirs/`. The files are
written by tensorboardX (the event format without TensorFlow). A resumed run opens a new
file that starts with a purge marker at the step after its checkpoint, so TensorBoard drops
what the interrupted run logged past that checkpoint, as `MetricsWriter.truncate_after`
does for metrics.jsonl. Only process 0 writes. `read_scalars` reads the files back
(with the purge markers applied) for scripts and tests that have no TensorBoard.
"""

from __future__ import annotations

import os
import pathlib
import re
import struct
import time
from typing import Mapping

import jax
import numpy as np

TENSORBOARD_DIR = "tensorboard"


def board_tag(name: str) -> str:
    """The TensorBoard tag of a metric: TensorBoard allows only [-/\\w.] in tags, so the
    pair arrow becomes "_to_" ("rgb->kp3d/recon" -> "rgb_to_kp3d/recon"); every other
    character outside that set becomes "_" (as tensorboardX would do silently)."""
    return re.sub(r"[^-/\w.]", "_", name.replace("->", "_to_"))


class TensorBoardWriter:
    """Scalars and images into <workdir>/tensorboard; `purge_step`: see the module docstring."""

    def __init__(self, workdir: str | pathlib.Path, *, purge_step: int | None = None):
        self.directory = pathlib.Path(workdir) / TENSORBOARD_DIR
        self._writer = None
        if jax.process_index() == 0:
            from tensorboardX import SummaryWriter

            # tensorboardX names a file by the second it opens and truncates a file of the
            # same name: two writers within a second (train, then eval.py) would lose the
            # first one's events. A nanosecond suffix keeps them apart, and in creation
            # order when sorted by name, which is how TensorBoard applies purge markers.
            self._writer = SummaryWriter(logdir=str(self.directory), purge_step=purge_step, flush_secs=30,
                                         filename_suffix=f".{time.time_ns():020d}.{os.getpid()}")

    def scalars(self, step: int, metrics: Mapping[str, float], *, prefix: str = "") -> None:
        if self._writer is None:
            return
        for name, value in metrics.items():
            self._writer.add_scalar(board_tag(prefix + name), float(value), global_step=int(step))

    def image(self, step: int, tag: str, image) -> None:
        """image: [H, W, 3] (or [H, W, 4], alpha dropped) uint8, or floats in [0, 1]."""
        if self._writer is None:
            return
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] not in (3, 4):
            raise ValueError(f"TensorBoardWriter.image({tag!r}): expected [H, W, 3 or 4], got shape {image.shape}")
        self._writer.add_image(board_tag(tag), image[..., :3], global_step=int(step), dataformats="HWC")

    def png(self, step: int, tag: str, path: str | pathlib.Path) -> None:
        """A figure already drawn to a PNG file (eval.py's PCK curve, examples), as an image."""
        from PIL import Image

        with Image.open(path) as picture:
            self.image(step, tag, np.asarray(picture.convert("RGB")))

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "TensorBoardWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _records(path: pathlib.Path):
    """The payloads of a TFRecord file: [len u64][crc u32][data][crc u32] each (crcs unchecked)."""
    data = path.read_bytes()
    offset = 0
    while offset + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        start = offset + 12
        if start + length + 4 > len(data):
            break  # a record cut short by a crash: everything before it stands
        yield data[start:start + length]
        offset = start + length + 4


def _read(workdir, kind: str) -> dict[str, list[tuple[int, object]]]:
    from tensorboardX.proto import event_pb2

    directory = pathlib.Path(workdir) / TENSORBOARD_DIR
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} not found: no TensorBoard files in {workdir} (config.tensorboard=False?)")
    found: dict[str, dict[int, object]] = {}
    for path in sorted(directory.glob("events.out.tfevents.*")):  # creation order, as TensorBoard reads them
        for payload in _records(path):
            event = event_pb2.Event.FromString(payload)
            if event.HasField("session_log") and event.session_log.status == event_pb2.SessionLog.START:
                for values in found.values():
                    for step in [s for s in values if s >= event.step]:
                        del values[step]
            for value in event.summary.value:
                if kind == "scalar" and value.HasField("simple_value"):
                    found.setdefault(value.tag, {})[int(event.step)] = float(value.simple_value)
                elif kind == "image" and value.HasField("image"):
                    found.setdefault(value.tag, {})[int(event.step)] = value.image.encoded_image_string
    return {tag: sorted(values.items()) for tag, values in found.items() if values}


def read_scalars(workdir: str | pathlib.Path) -> dict[str, list[tuple[int, float]]]:
    """{tag (`board_tag` of the metric): [(step, value), ...] in step order} from
    <workdir>/tensorboard, as TensorBoard shows them: files in creation order, each purge
    marker dropping the earlier steps >= it."""
    return _read(workdir, "scalar")


def read_images(workdir: str | pathlib.Path) -> dict[str, list[tuple[int, bytes]]]:
    """{tag: [(step, PNG bytes), ...]}: the images of <workdir>/tensorboard, read as `read_scalars`."""
    return _read(workdir, "image")
