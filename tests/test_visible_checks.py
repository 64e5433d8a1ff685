"""The visible checks of every ready lab teach before grading (issue 9, items 1 and 2).

A self-paced learner only sees the visible checks before submitting, so for each lab: at least 80 %
of the answer bank's wrong answers must hear "not yet", no correct answer (the solution or an
alternative) may be rejected, and the blank release may show no error longer than two lines. The
figures are printed at the end of the run (tests/conftest.py) and by ``tests/visible_checks.py``.

The figures come from the grading harness's own run (real nbgrader autograde of the same sample
submissions): its copy of each lab's source prints a marker as each test cell's hidden tests start,
so what a cell showed before the marker is what the visible checks alone show
(``visible_checks.judge_graded``). ``tests/visible_checks.py LAB`` measures the same by running the
release notebooks themselves, for lab authors.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import visible_checks
from autograder.curriculum import Lab
from autograder.demo.samples import Variant
from visible_checks import (
    BLANK_LINES_GOAL, NOT_YET, PASSES, WRONG_TOLD_GOAL, LabVisible, check_labs, judge_graded,
)


@pytest.fixture
def visible(lab, lab_run) -> LabVisible:
    """The lab's visible-check figures, read from the harness's grading run (no extra execution)."""
    if lab.id not in visible_checks.CHECKED:
        variants = [v for v in lab_run.variants if v.name != "noisy-solution"]
        visible_checks.CHECKED[lab.id] = judge_graded(lab, lab_run.exercises, variants,
                                                       lab_run.course / "autograded")
    return visible_checks.CHECKED[lab.id]


def test_wrong_answers_are_told_not_yet(visible):
    missed = [f"{row.variant} {row.exercise}: {row.verdict} — {row.why}" for row in visible.wrong
              if row.verdict != NOT_YET]
    assert visible.wrong, "The answer bank has no wrong answers to run."
    assert visible.wrong_share >= WRONG_TOLD_GOAL, (
        f"Only {len(visible.wrong_told)}/{len(visible.wrong)} wrong answers are told \"not yet\" by the "
        f"visible checks (goal {WRONG_TOLD_GOAL:.0%}). Not caught:\n" + "\n".join(missed))


def test_no_correct_answer_is_rejected_visibly(visible):
    rejected = [f"{row.variant} {row.exercise}: {row.verdict} — {row.message} ({row.why})"
                for row in visible.rejected]
    assert not rejected, "The visible checks reject a correct answer:\n" + "\n".join(rejected)


def test_blank_release_shows_only_short_messages(visible):
    long = [f"{cell}: {lines} lines, ending {last!r}" for cell, lines, last in visible.too_long]
    assert not long, (f"On the blank release a learner sees errors longer than {BLANK_LINES_GOAL} "
                      "lines:\n" + "\n".join(long))


# --------------------------------------------------------------------------- the measure itself

def _tiny_variants(tmp_path):
    """A two-exercise lab run for real: proves each verdict and the line count come from the outputs."""
    answer = {"nbgrader": {"grade_id": "tiny-ex1", "solution": True, "grade": False}}
    test = {"nbgrader": {"grade_id": "tiny-ex1-tests", "solution": False, "grade": True, "points": 1}}
    release = new_notebook(cells=[
        new_code_cell("def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", metadata=answer),
        new_code_cell("from labs.feedback import answered\nanswered('double')\n"
                      "assert double(3) == 6, 'Multiply by two.'\n"
                      "assert isinstance(double(3), int), 'Return an int.'", metadata=test),
        new_code_cell("double(1)"),  # an ordinary cell: a blank release shows a full traceback here
    ])
    (tmp_path / "tiny.ipynb").write_text(nbformat.writes(release))

    def filled(code):
        notebook = nbformat.reads(nbformat.writes(release), as_version=4)
        notebook.cells[0].source = code
        return notebook

    return [
        Variant("solution", filled("def double(x):\n    return 2 * x"), {"tiny-ex1": "full"}),
        Variant("blank", release, {"tiny-ex1": "lose"}),
        Variant("alternative-1", filled("def double(x):\n    return x + x"), {"tiny-ex1": "full"}),
        # a correct answer the (too strict) check rejects, so the measure must count it
        Variant("alternative-2", filled("def double(x):\n    return 2.0 * x"), {"tiny-ex1": "full"}),
        Variant("wrong-1", filled("def double(x):\n    return x * x"), {"tiny-ex1": "lose"}, {"tiny-ex1": "squares"}),
        # right on the worked example (3 -> 6), wrong elsewhere: visible checks cannot see it
        Variant("wrong-2", filled("def double(x):\n    return x + 3"), {"tiny-ex1": "lose"}, {"tiny-ex1": "adds three"}),
    ]


def test_the_measure_reads_real_outputs(tmp_path):
    lab = Lab(id="99-tiny", title="Tiny", status="ready", notebook="tiny.ipynb")
    result = check_labs([lab], release_dirs={lab.id: tmp_path},
                        variants={lab.id: _tiny_variants(tmp_path)})[lab.id]
    verdicts = {row.variant: row.verdict for row in result.rows}
    assert verdicts == {"solution": PASSES, "alternative-1": PASSES, "alternative-2": NOT_YET,
                        "wrong-1": NOT_YET, "wrong-2": PASSES}
    assert result.wrong_share == 0.5
    assert [row.variant for row in result.rejected] == ["alternative-2"]
    assert next(row for row in result.rows if row.variant == "wrong-1").message == "Not yet: Multiply by two."
    cells = {cell.split(" ")[1]: lines for cell, lines, _ in result.blank_errors}
    assert cells["1"] == 1, "answered() on a stub is one line"
    assert cells["2"] > BLANK_LINES_GOAL, "a plain cell calling the stub shows a full traceback"


def test_a_cell_meant_to_fail_is_not_a_check_message():
    """A cell tagged raises-exception shows a traceback on purpose (lab 00 teaches reading one)."""
    from visible_checks import CellOutcome, Execution, blank_errors

    lesson = CellOutcome(3, None, errors=[["Traceback"] * 40], meant_to_fail=True)
    check = CellOutcome(5, "x-test", errors=[["Not yet: a hint."]])
    assert [lines for _, lines, _ in blank_errors(Execution([lesson, check], 1.0))] == [1]
