"""Friendly checks for the visible test cells of a lab: one line a learner can act on, never a traceback.

A check has three outcomes, as in Kaggle Learn's learntools:

- *not attempted yet*: the answer is still nbgrader's stub (the name is undefined, or the function
  only raises ``NotImplementedError``);
- *not yet*: an ``assert`` failed, and its message is a hint that names the likely mistake without
  giving the answer away; or the learner's own function raised (``KeyError``, a NaN, a shape
  mismatch), which becomes a hint naming that function and the error;
- *correct*: a short confirmation from :func:`passed`.

How a test cell uses it::

    from labs.feedback import answered, passed
    answered("precision_recall_at")          # the cell's first call: starts a quiet check
    result = precision_recall_at(truth, scores, 0.6)
    assert np.isclose(result["precision"], 0.75), "Precision divides by the cases flagged, not the real positives."
    passed("exercise 1")

:func:`answered` makes the rest of the cell a *check*: until the cell ends, anything written to
stderr (a ``tqdm`` progress bar, a library warning) is held back, because nbgrader scores a test cell
0 when it wrote to stderr, and a correct answer must not lose its points for a progress bar; and a
failure is shown as one line (IPython shows what an exception handler returns instead of the
traceback; the cell still ends in an error, so nbgrader still scores it 0). Outside IPython (plain
Python, pytest) these helpers only check and raise.

The grader scores a test cell by whether it raises, so these helpers only raise and print; they
never decide points.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
import textwrap
import warnings

__all__ = ["NotAttempted", "NotYet", "answered", "passed", "recorded", "ready"]

NOT_ATTEMPTED = "Not attempted yet"
NOT_YET = "Not yet"
CORRECT = "Correct"


class NotYet(AssertionError):
    """A visible check failed; the message is the hint. Shown as one line in a notebook."""

    def _render_traceback_(self):
        return [f"{NOT_YET}: {self}"]


class NotAttempted(NotYet):
    """The learner has not written (or not run) the answer this check needs."""

    def _render_traceback_(self):
        return [f"{NOT_ATTEMPTED}: {self}"]


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


def _missing(names, namespace) -> str | None:
    """The first name that holds no answer of the learner's (undefined, None or the stub)."""
    for name in names:
        value = namespace.get(name)
        if value is None or _is_stub(value):
            return name
    return None


# --------------------------------------------------------------------------- one quiet check per cell

def _shell():
    """The running IPython shell, or None outside IPython."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def _learner_function(tb, namespace) -> str | None:
    """The innermost function in the traceback that the learner defined in the notebook."""
    name = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals is namespace and frame.f_code.co_name != "<module>":
            name = frame.f_code.co_name
        tb = tb.tb_next
    return name


def _one_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _QuietCheck:
    """Holds stderr and warnings back, and shows a failure as one line, until the cell ends."""

    def __init__(self, shell):
        self.shell = shell

    active: "_QuietCheck | None" = None  # one per cell, however many checks the cell calls

    def start(self) -> None:
        if _QuietCheck.active is not None:
            return
        _QuietCheck.active = self
        self.stderr = sys.stderr
        self.filters = warnings.filters[:]
        self.showwarning = warnings.showwarning
        sys.stderr = io.StringIO()
        warnings.simplefilter("ignore")
        self.shell.set_custom_exc((Exception,), self._show_error)
        self.shell.events.register("post_run_cell", self.stop)

    def stop(self, *_result) -> None:
        sys.stderr = self.stderr
        warnings.filters[:] = self.filters
        warnings.showwarning = self.showwarning
        self.shell.set_custom_exc((), None)
        self.shell.events.unregister("post_run_cell", self.stop)
        _QuietCheck.active = None

    def _show_error(self, shell, etype, value, tb, tb_offset=None):
        """IPython's custom-exception hook: it must show the error itself (as an ``error`` output,
        which is what nbgrader scores 0), so it hands IPython's display step one line."""
        lines = self.describe(etype, value, tb)
        shell._showtraceback(etype, value, lines)
        return lines

    def describe(self, etype, value, tb) -> list[str]:
        if hasattr(value, "_render_traceback_"):
            return value._render_traceback_()
        if isinstance(value, AssertionError):
            return [f"{NOT_YET}: {_one_line(value) if str(value) else 'a visible check failed.'}"]
        function = _learner_function(tb, self.shell.user_ns)
        where = f"your function `{function}` raised" if function else "the check raised"
        return [f"{NOT_YET}: {where} {etype.__name__}: {_one_line(value)} — run it on the example "
                "above to see where."]


def answered(*names: str) -> None:
    """Raise :class:`NotAttempted` unless every name holds the learner's own answer.

    Looks the names up in the caller's globals, which in a notebook are the learner's variables, so
    a test cell says "write your answer above and run it" instead of a bare ``NameError``. In a
    notebook it also starts a quiet check for the rest of the cell (see the module docstring).
    """
    caller = inspect.stack()[1].frame.f_globals
    shell = _shell()
    if shell is not None and caller is shell.user_ns:
        _QuietCheck(shell).start()
    name = _missing(names, caller)
    if name is not None:
        raise NotAttempted(
            f"`{name}` has no answer yet: replace `raise NotImplementedError()` above with your code, "
            "run that cell, then this one. (If that cell showed an error, fix it first: text needs quotes, "
            "as in \"b\", and a line keeps its indentation.)"
        )


def recorded(name: str, options) -> None:
    """Acknowledge a graded multiple-choice answer without saying whether it is right.

    Saying "well done" to any valid letter would mislead (or, to a wrong one, give the answer away
    by contrast); the grader checks the choice.
    """
    caller = inspect.stack()[1].frame.f_globals
    options = [str(option) for option in options]
    value = caller.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise NotAttempted(f"set `{name}` to one of {', '.join(repr(o) for o in options)} and run that cell.")
    chosen = str(value).strip().lower()
    if chosen not in [option.lower() for option in options]:
        raise NotYet(f"`{name}` is {value!r}; it must be one of {', '.join(repr(o) for o in options)}.")
    print(f"Answer recorded ({chosen}): it is checked when your work is graded.")


def ready(*names: str, exercise: str) -> bool:
    """True when every name holds an answer; else print one line and return False.

    For a cell that needs an earlier exercise (a plot of its result, say): it should draw nothing,
    and say what to finish, rather than fail with a traceback or an empty figure.
    """
    caller = inspect.stack()[1].frame.f_globals
    if _missing(names, caller) is None:
        return True
    print(f"Finish {exercise} first: this cell uses its answer.")
    return False


def passed(what: str = "this exercise") -> None:
    """Print a short confirmation once every visible check in a test cell has passed."""
    print(f"{CORRECT}: the visible checks for {what} pass. (Hidden checks run when it is graded.)")
