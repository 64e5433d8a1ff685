"""Friendly checks for the visible test cells of a lab.

A check has three outcomes, as in Kaggle Learn: *not attempted yet* (the answer is still nbgrader's
stub: the name is undefined, or the function only raises ``NotImplementedError``), *incorrect* (an
``AssertionError`` with a hint that does not give the answer away), and *correct* (a short
confirmation). The grader scores a test cell by whether it raises, so these helpers only raise and
print; they never decide points.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

__all__ = ["NotAttempted", "answered", "passed"]


class NotAttempted(AssertionError):
    """The learner has not written (or not run) the answer this check needs."""


def _is_stub(value) -> bool:
    """True for a function whose body only raises NotImplementedError (after an optional docstring)."""
    if not inspect.isfunction(value):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(value)))
    except (OSError, TypeError, SyntaxError):
        return False  # no source to read: treat it as attempted and let the checks speak
    function = tree.body[0] if tree.body else None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [node for node in function.body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def answered(*names: str) -> None:
    """Raise :class:`NotAttempted` unless every name holds the learner's own answer.

    Looks the names up in the caller's globals, which in a notebook are the learner's variables, so
    a test cell can say "write your answer above and run it" instead of a bare ``NameError`` or
    ``NotImplementedError`` from the stub nbgrader left in the answer cell.
    """
    caller = inspect.stack()[1].frame.f_globals
    for name in names:
        value = caller.get(name)
        if value is None or _is_stub(value):
            raise NotAttempted(
                f"Not attempted yet: `{name}` has no answer. Replace `raise NotImplementedError()` in the "
                "answer cell above with your code, run that cell, then run this check again."
            )


def passed(what: str = "this exercise") -> None:
    """Print a short confirmation once every visible check in a test cell has passed."""
    print(f"Well done: the visible checks for {what} pass. (Hidden checks run when it is graded.)")
