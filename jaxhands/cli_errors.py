"""One-line reports of the failures a user fixes outside the code, for the command-line
entry points (train.py, eval.py, sample.py): today a full disk. The exception raised
deep inside orbax, TFDS or numpy is usually a wrapper several causes away from the
OSError that says what happened; `disk_full` finds it."""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import shutil

# No space left, and a user or group quota exhausted: both are fixed by freeing space.
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def disk_full(err: BaseException) -> OSError | None:
    """The OSError (ENOSPC / EDQUOT) behind `err` - itself, a cause, a context or a member
    of an exception group - or None."""
    seen, todo = set(), [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _FULL:
            return e
        todo.extend([e.__cause__, e.__context__, *getattr(e, "exceptions", ())])
    return None


def disk_full_message(script: str, err: OSError, directory: str | os.PathLike) -> str:
    """"train.py: disk full writing <file> (No space left on device); 0.0 GiB free on
    <dir>: free space and run the same command again, it resumes from the last complete
    checkpoint"."""
    where = f"writing {err.filename}" if err.filename else f"under {directory}"
    try:
        free = f"{shutil.disk_usage(_existing(directory)).free / 2**30:.1f} GiB free on {_existing(directory)}"
    except OSError:
        free = f"on {directory}"
    return (f"{script}: disk full {where} ({err.strerror or os.strerror(err.errno)}); {free}: free space and run "
            f"the same command again, it resumes from the last complete checkpoint")


def _existing(path: str | os.PathLike) -> pathlib.Path:
    path = pathlib.Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@contextlib.contextmanager
def exit_on_disk_full(script: str, directory: str | os.PathLike):
    """A full disk inside the block ends the script with `disk_full_message` (exit status
    1, no traceback); every other error passes through."""
    try:
        yield
    except Exception as err:
        full = disk_full(err)
        if full is None:
            raise
        raise SystemExit(disk_full_message(script, full, directory)) from None


def reporting_disk_full(script: str, main, directory):
    """`main(argv)` (an absl main) run under `exit_on_disk_full`, the directory named by
    `directory()` (called then: flags are parsed by that time)."""
    def run(argv):
        with exit_on_disk_full(script, directory()):
            return main(argv)
    return run
