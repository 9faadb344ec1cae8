"""Results files that grow by seeds: a later call adds its seeds' rows to a file instead of
writing over the rows of the seeds it did not re-run (benchmarks/dvae_embedding.py,
benchmarks/dvae_zu.py)."""

from __future__ import annotations

import json
import pathlib
from typing import Callable


def kept_rows(out: pathlib.Path | None, setting: dict, seeds, *,
              setting_of: Callable[[dict], dict]) -> list[dict]:
    """The rows already in `out` for seeds this run does not measure, each with the command
    that measured it (its own "command", else the file's). A file whose rows were
    measured in another setting (`setting_of(row) != setting`: steps, overrides, ...) is
    refused, naming both: mixing them would make one table of two experiments, and writing
    over them would lose them."""
    if out is None or not out.is_file():
        return []
    try:
        earlier = json.loads(out.read_text())
        rows = earlier["rows"]
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"--out {out}: not a results file with rows ({error!r}); write to another --out") from error
    for row in rows:
        if setting_of(row) != setting:
            raise SystemExit(f"--out {out}: its seed {row.get('seed')} row was measured with {setting_of(row)}, "
                             f"this run is {setting}; write to another --out")
    # A row keeps the command that measured it; the file's "command" will be this call's.
    return [{"command": earlier["command"], **row} if "command" in earlier else row
            for row in rows if row["seed"] not in seeds]


def file_notes(out: pathlib.Path | None) -> dict:
    """The file-level "note" of `out`, if any, to write back beside the merged rows."""
    if out is None or not out.is_file():
        return {}
    earlier = json.loads(out.read_text())
    note = earlier.get("note") if isinstance(earlier, dict) else None
    return {} if note is None else {"note": note}
