"""labs.feedback gives the three outcomes a learner should see: not attempted, not yet, correct.

The first tests call the helpers in plain Python (as pytest and the hidden tests do: they only check
and raise). The rest run small notebooks in a real IPython kernel with nbclient, because what a
learner sees there (one line instead of a traceback, stderr held back during a check, and back to
normal after it) only exists inside IPython, and nbgrader scores exactly those outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from labs.feedback import NotAttempted, NotYet, answered, passed, ready, recorded

REPO = Path(__file__).resolve().parents[1]


def stub(df):
    """Return the share of missing values per column."""
    # YOUR CODE HERE
    raise NotImplementedError()


def real(df):
    """Return the share of missing values per column."""
    return df.isna().mean()


def raises_on_bad_input(x):
    if x is None:
        raise NotImplementedError("not for None")
    return x


# --------------------------------------------------------------------------- plain Python

def test_undefined_name_is_not_attempted():
    with pytest.raises(NotAttempted, match="`nothing_here` has no answer yet") as caught:
        answered("nothing_here")
    assert caught.value._render_traceback_()[0].startswith("Not attempted yet: `nothing_here`")


def test_nbgrader_stub_function_is_not_attempted():
    with pytest.raises(NotAttempted, match="`stub`"):
        answered("stub")


def test_real_answers_pass(capsys):
    answered("real", "raises_on_bad_input")
    passed("exercise 1")
    out = capsys.readouterr().out
    assert out.startswith("Correct: the visible checks for exercise 1 pass.")
    assert "Well done" not in out


def test_not_attempted_and_not_yet_are_assertions_so_the_grader_scores_zero():
    assert issubclass(NotAttempted, NotYet) and issubclass(NotYet, AssertionError)


answer_q1 = "B "


def test_recorded_acknowledges_a_valid_letter_in_plain_python(capsys):
    recorded("answer_q1", "abcd")
    assert capsys.readouterr().out == "Answer recorded (b): it is checked when your work is graded.\n"
    with pytest.raises(NotAttempted):
        recorded("no_such_answer", "abcd")


def test_ready_in_plain_python(capsys):
    assert ready("real", exercise="exercise 1") is True
    assert ready("stub", exercise="exercise 2") is False
    assert capsys.readouterr().out == "Finish exercise 2 first: this cell uses its answer.\n"


# --------------------------------------------------------------------------- in a real kernel

def run_notebook(*sources: str) -> list[list[dict]]:
    """Execute cells in a fresh kernel, errors allowed; return each cell's outputs."""
    notebook = new_notebook(cells=[new_code_cell(source) for source in sources])
    NotebookClient(notebook, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    return [cell.outputs for cell in notebook.cells]


def errors(outputs) -> list[list[str]]:
    return [output["traceback"] for output in outputs if output["output_type"] == "error"]


def stream(outputs, name: str) -> str:
    return "".join(output["text"] for output in outputs
                   if output["output_type"] == "stream" and output["name"] == name)


STUB = "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
NOISY = '''
import sys, warnings
import tqdm

def double(x):
    for _ in tqdm.tqdm(range(3)):
        pass
    warnings.warn("a library warning", FutureWarning)
    print("a line on stderr", file=sys.stderr)
    return 2 * x
'''
CHECK = "from labs.feedback import answered, passed\nanswered('double')\n"


def test_not_attempted_shows_one_line():
    outputs = run_notebook(STUB, CHECK + "assert double(3) == 6, 'Multiply by two.'")
    assert errors(outputs[1]) == [[
        "Not attempted yet: `double` has no answer yet: replace `raise NotImplementedError()` above "
        "with your code, run that cell, then this one. (If that cell showed an error, fix it first: text "
        "needs quotes, as in \"b\", and a line keeps its indentation.)"]]


def test_failing_assert_shows_one_line_with_its_hint():
    outputs = run_notebook("def double(x):\n    return x * x", CHECK + "assert double(3) == 6, 'Multiply by two.'")
    assert errors(outputs[1]) == [["Not yet: Multiply by two."]]


def test_error_inside_the_learners_function_names_the_function():
    outputs = run_notebook("def double(x):\n    return {'a': 1}[x]", CHECK + "assert double(3) == 6")
    (lines,) = errors(outputs[1])
    assert len(lines) == 1, lines
    assert lines[0].startswith("Not yet: your function `double` raised KeyError: 3"), lines


def test_noisy_correct_function_passes_without_stderr():
    outputs = run_notebook(NOISY, CHECK + "assert double(3) == 6\npassed('exercise 1')")
    assert not errors(outputs[1])
    assert stream(outputs[1], "stderr") == "", "stderr during a check zeroes the cell under nbgrader"
    assert stream(outputs[1], "stdout").startswith("Correct: the visible checks for exercise 1 pass.")


@pytest.mark.parametrize("check", ["assert double(3) == 6", "assert double(3) == 7, 'Off by one.'"],
                         ids=["after-a-passing-check", "after-a-failing-check"])
def test_cells_after_a_check_are_back_to_normal(check):
    outputs = run_notebook(
        NOISY, CHECK + check,
        "import warnings\ndouble(1)\nwarnings.warn('shown again', UserWarning)",
        "def broken():\n    return 1 / 0\nbroken()",
    )
    stderr = stream(outputs[2], "stderr")
    assert "a line on stderr" in stderr and "shown again" in stderr, stderr
    (traceback,) = errors(outputs[3])
    assert "ZeroDivisionError" in traceback[-1] and len("\n".join(traceback).splitlines()) > 2, traceback


def test_recorded_never_says_well_done_and_rejects_an_invalid_letter():
    record = "from labs.feedback import recorded\nrecorded('answer_q1', 'abcd')"
    right, wrong, invalid, missing = (run_notebook(setup, record)[1] for setup in
                                      ("answer_q1 = 'c'", "answer_q1 = 'a'", "answer_q1 = 'e'", "answer_q1 = ''"))
    assert stream(right, "stdout") == "Answer recorded (c): it is checked when your work is graded.\n"
    assert stream(wrong, "stdout") == "Answer recorded (a): it is checked when your work is graded.\n"
    assert not errors(right) and not errors(wrong)
    assert errors(invalid) == [["Not yet: `answer_q1` is 'e'; it must be one of 'a', 'b', 'c', 'd'."]]
    assert len(errors(missing)) == 1 and errors(missing)[0][0].startswith("Not attempted yet: set `answer_q1`")
    assert all("well done" not in str(outputs).lower() for outputs in (right, wrong, invalid, missing))


def test_ready_prints_one_line_and_draws_nothing():
    plot = ("import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
            "import matplotlib.pyplot as plt\nfrom labs.feedback import ready\n"
            "if ready('double', exercise='exercise 3'):\n    plt.plot([double(1), double(2)])")
    waiting = run_notebook(STUB, plot)[1]
    assert waiting == [{"output_type": "stream", "name": "stdout",
                        "text": "Finish exercise 3 first: this cell uses its answer.\n"}]
    done = run_notebook("def double(x):\n    return 2 * x", plot)[1]
    assert [output["output_type"] for output in done if output["output_type"] == "display_data"] == ["display_data"]
