"""What config a workdir's checkpoints were made with, kept across resumes.

A run writes `config.json` once, when it starts from scratch, and never over it: that is
the record of how its first checkpoints were made. Resuming with a different config (a
larger batch, more steps, a new data_dir) appends one row to `config_changes.jsonl`,

    {"step": 1200, "changes": {"batch_size": [32, 64]}}

the step the changed config took over and each changed field's (old, new) value, so the
run's history stays readable and `load_config(workdir)` (config.json, then every recorded
change in order) gives what the run last trained with. A change the checkpoint cannot
take (a different latent_dim, another method) is refused before anything is written:
`IncompatibleResumeError` names the changed fields and both values.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Mapping

import ml_collections

CONFIG_FILE = "config.json"
CHANGES_FILE = "config_changes.jsonl"


class IncompatibleResumeError(ValueError):
    """A workdir's checkpoints cannot be resumed with the given config; the message names
    the changed fields and what to do."""


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _json_values(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """The config as its config.json holds it (tuples as lists), flattened to dotted paths."""
    return _flat(json.loads(config.to_json_best_effort()))


def config_differences(old: ml_collections.ConfigDict, new: ml_collections.ConfigDict) -> dict[str, list]:
    """{dotted field: [old value, new value]} for every field whose value differs (a field
    only one side has shows None on the other)."""
    a, b = _json_values(old), _json_values(new)
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def describe_changes(changes: Mapping[str, list], limit: int = 6) -> str:
    """"latent_dim 64 -> 32, batch_size 32 -> 64" (the first `limit`, then a count)."""
    items = [f"{k} {v[0]!r} -> {v[1]!r}" for k, v in changes.items()]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def read_json_lines(path: str | pathlib.Path, *, record: str, expected: str, check=None) -> list[dict]:
    """The objects of a JSON-lines workdir record, oldest first ([] without the file). A line
    that is not JSON, or that `check(obj)` rejects with a ValueError, fails naming the file,
    the line, `record` (what the file holds) and the `expected` form."""
    path = pathlib.Path(path)
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if check is not None:
                check(row)
        except ValueError as err:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{path}, line {number}: not a {record} ({err}); expected {expected}") from None
        rows.append(row)
    return rows


def _check_change(row) -> None:
    if not isinstance(row.get("changes"), dict):
        raise ValueError("no 'changes' mapping")


def read_changes(workdir: str | pathlib.Path) -> list[dict]:
    """The rows of <workdir>/config_changes.jsonl, oldest first ([] without the file)."""
    return read_json_lines(pathlib.Path(workdir) / CHANGES_FILE, record="config change record",
                           expected='{"step": N, "changes": {"field": [old, new]}}', check=_check_change)


def recorded_overrides(workdir: str | pathlib.Path) -> dict[str, Any]:
    """{dotted field: value} of every change recorded in the workdir, the latest winning:
    applied on top of config.json, the config the run last trained with."""
    out: dict[str, Any] = {}
    for row in read_changes(workdir):
        out.update({field: values[1] for field, values in row["changes"].items()})
    return out


def record_start(workdir: pathlib.Path, config: ml_collections.ConfigDict) -> None:
    """A run starting from scratch: its config.json, and no change history."""
    (workdir / CONFIG_FILE).write_text(config.to_json_best_effort(indent=2))
    (workdir / CHANGES_FILE).unlink(missing_ok=True)


def record_resume(workdir: pathlib.Path, step: int, changes: Mapping[str, list]) -> None:
    """Appends the changes a resume at `step` brings (nothing when there are none)."""
    if changes:
        with open(workdir / CHANGES_FILE, "a") as f:
            f.write(json.dumps({"step": int(step), "changes": dict(changes)}) + "\n")
