"""Friendly checks for the visible test cells of a lab.

A check has three outcomes, as in Kaggle Learn: *not attempted yet* (the answer cell still raises
``NotImplementedError`` so the name was never defined), *incorrect* (an ``AssertionError`` with a hint
that does not give the answer away), and *correct* (a short confirmation). The grader scores a test
cell by whether it raises, so these helpers only raise and print; they never decide points.
"""

from __future__ import annotations

import inspect

__all__ = ["NotAttempted", "answered", "passed"]


class NotAttempted(AssertionError):
    """The learner has not written (or not run) the answer this check needs."""


def answered(*names: str) -> None:
    """Raise :class:`NotAttempted` unless every name is defined in the notebook and not ``None``.

    Looks the names up in the caller's globals, which in a notebook are the learner's variables,
    so a test cell can say "write your answer above and run it" instead of a bare ``NameError``.
    """
    caller = inspect.stack()[1].frame.f_globals
    for name in names:
        if caller.get(name) is None:
            raise NotAttempted(
                f"Not attempted yet: `{name}` is not defined. Write your answer in the cell above "
                "(replace `raise NotImplementedError()`), run that cell, then run this check again."
            )


def passed(what: str = "this exercise") -> None:
    """Print a short confirmation once every visible check in a test cell has passed."""
    print(f"Well done: the visible checks for {what} pass. (Hidden checks run when it is graded.)")
