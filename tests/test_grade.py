"""`autograder grade` on a tiny synthetic lab, with real nbgrader, real gradebook, real kernels.

Proves: the same scores as stock `nbgrader autograde`; a library warning does not zero a correct
answer; a corrupt notebook, a dead kernel and a timeout each get a status and reason while the rest
of the batch is graded; a run killed with SIGKILL and started again loses and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from pipeline_fixtures import (
    ANSWERS, LAB, gradebook_scores, learner_notebook, nbgrader_cli, release_path, released_course, submit,
    submit_answers,
)

from autograder.curriculum import load_curriculum
from autograder.grading.grade import grade_lab
from autograder.course import open_gradebook
from autograder.grading.outcomes import CORRUPT, FAILED, GRADED, TIMEOUT, load_outcomes



def quiet(**kw):
    from rich.console import Console
    return dict(console=Console(file=open(os.devnull, "w")), show_progress=False, **kw)


def deleted_test_cell(root):
    notebook = learner_notebook(release_path(root), *ANSWERS["solution"][:2])
    notebook.cells = [c for c in notebook.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") != "tiny01-ex2-test"]
    return notebook


def cohort(root: Path) -> None:
    """Every kind of honest submission (no warnings: stock nbgrader zeroes those, by design)."""
    for kind in ("solution", "alternative", "wrong_hidden", "half"):
        submit_answers(root, f"s-{kind}", kind, "2026-11-01 10:00:00 UTC")
    submit(root, "s-blank", learner_notebook(release_path(root), None, None))
    submit(root, "s-deleted", deleted_test_cell(root))
    submit(root, "s-late", learner_notebook(release_path(root), *ANSWERS["solution"][:2]), "2027-01-05 09:00:00 UTC")


def test_scores_equal_stock_nbgrader(tmp_path_factory):
    ours, stock = released_course(tmp_path_factory, "ours"), released_course(tmp_path_factory, "stock")
    for root in (ours, stock):
        with open_gradebook(root) as gb:
            gb.update_or_create_assignment(LAB, duedate="2026-12-01 00:00:00 UTC")
        cohort(root)
        submit_answers(root, "s-warns", "warns")  # a correct answer whose library warns on stderr
    result = nbgrader_cli(stock, "autograde", LAB)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = grade_lab(load_curriculum(ours), LAB, workers=2, **quiet())
    assert {o.status for o in outcomes} == {GRADED}
    expected, got = gradebook_scores(stock), gradebook_scores(ours)
    # Stock nbgrader zeroes the test cell whose code warned; this pipeline does not (on purpose).
    assert expected.pop(("s-warns", "tiny01-ex1-test")) == 0
    assert got.pop(("s-warns", "tiny01-ex1-test")) == 3
    assert got == expected
    by_student = {o.student: o.score for o in outcomes}
    assert by_student == {"s-solution": 5, "s-alternative": 5, "s-wrong_hidden": 0, "s-half": 3, "s-blank": 0,
                          "s-deleted": 5, "s-late": 5, "s-warns": 5}
    assert {o.student for o in outcomes if o.late} == {"s-late"}
    autograded = nbformat.read(ours / "autograded" / "s-warns" / LAB / "tiny.ipynb", as_version=4)
    assert "FutureWarning" not in json.dumps([c.get("outputs", []) for c in autograded.cells])


def test_broken_submissions_get_a_status_and_the_batch_goes_on(tmp_path_factory):
    root = released_course(tmp_path_factory, "broken")
    release = release_path(root)
    submit_answers(root, "good-1", "solution")
    submit(root, "corrupt", '{"cells": [')
    submit(root, "dies", learner_notebook(release, "import os\nos._exit(3)", "answer = 42"))
    submit(root, "loops", learner_notebook(release, "import time\ntime.sleep(60)\ndef add(a, b): return a + b",
                                           "answer = 42"))
    submit_answers(root, "good-2", "alternative")
    outcomes = {o.student: o for o in grade_lab(load_curriculum(root), LAB, workers=2, cell_timeout=3,
                                                **quiet())}
    assert outcomes["good-1"].status == GRADED and outcomes["good-1"].score == 5
    assert outcomes["good-2"].status == GRADED and outcomes["good-2"].score == 5
    assert outcomes["corrupt"].status == CORRUPT and "not a readable notebook" in outcomes["corrupt"].reason
    assert outcomes["dies"].status == FAILED and "kernel died" in outcomes["dies"].reason
    assert outcomes["loops"].status == TIMEOUT and "tiny01-ex1-answer" in outcomes["loops"].reason
    for student in ("corrupt", "dies", "loops"):
        assert outcomes[student].needs_review
    # The outcomes are on disk for the certificate step, and a second run has nothing left to do...
    assert {o.student for o in load_outcomes(root)} == set(outcomes)
    assert grade_lab(load_curriculum(root), LAB, workers=2, **quiet()) == []
    # ...until a learner resubmits: only that submission is graded again.
    submit_answers(root, "corrupt", "half")
    [regraded] = grade_lab(load_curriculum(root), LAB, workers=2, **quiet())
    assert (regraded.student, regraded.status, regraded.score, regraded.needs_review) == ("corrupt", GRADED, 3, False)
    # A notebook that keeps going (no single cell too long) is stopped by its wall-clock budget.
    submit(root, "runaway", learner_notebook(release, "import time\nfor _ in range(60): time.sleep(2)", "answer = 42"))
    started = time.monotonic()
    [runaway] = grade_lab(load_curriculum(root), LAB, workers=1, cell_timeout=300, notebook_budget=10, **quiet())
    assert runaway.status == TIMEOUT and "budget" in runaway.reason and runaway.needs_review
    assert time.monotonic() - started < 60


def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path_factory):
    root = released_course(tmp_path_factory, "resume")
    expected = {}
    kinds = ["solution", "half", "wrong_hidden", "alternative", "solution", "half", "solution", "half"]
    for i, kind in enumerate(kinds):
        expected[f"r{i}"] = submit_answers(root, f"r{i}", kind)
    command = [sys.executable, "-m", "autograder", "--course", str(root), "grade", LAB, "--workers", "2",
               "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if len(load_outcomes(root)) >= 2:
                break
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the grader, its workers and their kernels, mid-run
        process.wait()
    done_before = len(load_outcomes(root))
    assert done_before < len(kinds), "the run finished before it could be killed; add submissions"
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = load_outcomes(root)
    assert sorted(o.student for o in outcomes) == sorted(expected)
    assert {o.student: o.score for o in outcomes} == expected
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submissions = gb.find_assignment(LAB).submissions
        assert sorted(s.student.id for s in submissions) == sorted(expected)
        assert {s.student.id: s.score for s in submissions} == expected
    scores = gradebook_scores(root)
    assert len(scores) == len(expected) * 2  # two graded cells each, no duplicates
