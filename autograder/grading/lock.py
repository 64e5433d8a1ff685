"""One grading run per course at a time: an exclusive lock on the course folder.

Two ``autograder grade`` runs on one course would each rewrite ``outcomes.json`` and one would
lose the other's results. The lock is an ``flock`` on ``.autograder.lock`` in the course folder:
the operating system releases it when the process ends, even after a ``kill -9``, so a crashed
run never leaves the course locked.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from autograder.curriculum import CurriculumError

LOCK_FILE = ".autograder.lock"


class CourseBusy(CurriculumError):
    """Another grading run holds the course; the message names it."""


@contextmanager
def course_lock(course_root: Path):
    """Hold the course's lock for the ``with`` block, or raise :class:`CourseBusy` at once."""
    path = Path(course_root) / LOCK_FILE
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CourseBusy(
                f"Another `autograder grade` is running on this course ({holder}; lock {path}). "
                "Wait for it to finish, or stop it, then run this command again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
