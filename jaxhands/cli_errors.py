"""One-line reports of the failures a user fixes outside the code, for the command-line
entry points (train.py, eval.py, sample.py): a full disk, a folder that is no workdir, a
damaged checkpoint or shard, a config a workdir cannot resume with, a bad config field.
Each of those errors' messages already names the file or field, what was expected and
the fix; the traceback says nothing more to a user, so it is shown only with
JAXHANDS_TRACEBACK=1. A full disk's OSError is usually a wrapper several causes away
inside orbax, TFDS or numpy; `disk_full` finds it."""

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
    existing = _existing(directory)
    try:
        free = f"{shutil.disk_usage(existing).free / 2**30:.1f} GiB free on {existing}"
    except OSError:
        free = f"on {directory}"
    return (f"{script}: disk full {where} ({err.strerror or os.strerror(err.errno)}); {free}: free space and run "
            f"the same command again, it resumes from the last complete checkpoint")


def _existing(path: str | os.PathLike) -> pathlib.Path:
    path = pathlib.Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def user_error_types() -> tuple[type, ...]:
    """The errors whose message is the whole report (module docstring)."""
    from jaxhands.configs.loader import ConfigError
    from jaxhands.configs.workdir_record import IncompatibleResumeError
    from jaxhands.data.storage import CorruptShardError, DatasetNotFoundError
    from jaxhands.runs import NotAWorkdirError
    from jaxhands.training.checkpoints import CheckpointDamagedError, CheckpointNotFoundError

    return (ConfigError, IncompatibleResumeError, CorruptShardError, DatasetNotFoundError, NotAWorkdirError,
            CheckpointDamagedError, CheckpointNotFoundError)


@contextlib.contextmanager
def exit_on_user_errors(script: str, directory: str | os.PathLike):
    """A full disk or a user error (`user_error_types`) inside the block ends the script in
    one line on stderr, exit status 1, without a traceback (JAXHANDS_TRACEBACK=1 keeps
    it); every other error passes through."""
    try:
        yield
    except Exception as err:
        if os.environ.get("JAXHANDS_TRACEBACK"):
            raise
        full = disk_full(err)
        if full is not None:
            raise SystemExit(disk_full_message(script, full, directory)) from None
        if isinstance(err, user_error_types()):
            raise SystemExit(f"{script}: {err}") from None
        raise


def reporting_user_errors(script: str, main, directory):
    """`main(argv)` (an absl main) run under `exit_on_user_errors`, the directory named by
    `directory()` (called then: flags are parsed by that time)."""
    def run(argv):
        with exit_on_user_errors(script, directory()):
            return main(argv)
    return run
