"""The grader's defences against hostile and unlucky submissions, each proved on a real batch.

One batch of the tiny lab (real nbgrader gradebook, real sandboxed kernels) holds honest learners
and one learner per defect of the grader-hardening issue; each test reads what that learner's
grading did, and checks that the honest learners around it were graded as usual.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from rich.console import Console

from pipeline_fixtures import (
    LAB, NOTEBOOK, learner_notebook, release_path, released_course, submit, submit_answers,
)

from autograder.curriculum import CurriculumError, load_curriculum
from autograder.feedback import write_feedback
from autograder.grading.grade import grade_lab
from autograder.grading.lock import CourseBusy, course_lock
from autograder.grading.outcomes import CORRUPT, GRADED, load_outcomes

ADD = "def add(a, b):\n    return a + b"
HOSTILE = {
    # 1. A string that rich reads as markup, in a tamper reason and in the learner's own id.
    "markup": (ADD + "\nnote = 'gradebook [/]'\nother = '[bold]x[/bold'", "answer = 42"),
    # 2. Prints its arguments: the hidden tests' inputs must not reach the feedback page.
    "printer": ("def add(a, b):\n    print('called with', a, b)\n    return a + b", "answer = 42"),
    # 5. An output flood far past any sensible size.
    "flood": (ADD + "\nfor _ in range(400):\n    print('x' * 100_000)", "answer = 42"),
    # 6. Active content in outputs: HTML with a script, JavaScript, an SVG with a script.
    "active": (ADD + "\nfrom IPython.display import HTML, Javascript, SVG, display\n"
               "display(HTML('<b>hi</b><script>alert(1)</script>'))\ndisplay(Javascript('alert(2)'))\n"
               "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(3)</script></svg>'))",
               "answer = 42"),
    # 9. Looks for an instructor's file placed in source/<lab>/.
    "looks-for-source": (ADD, "import os\nanswer = 42\nprint('SOURCE-FILE-' + ('SEEN' if os.path.exists('secret.txt') else 'ABSENT'))"),
    # 14. Loops forever in its first answer: the cells after the timeout are not run.
    "loops": ("import time\nwhile True:\n    time.sleep(0.5)", "answer = 42"),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = released_course(tmp_path_factory, "hardening")
    (root / "source" / LAB / "secret.txt").write_text("instructor only")
    submit_answers(root, "honest-a", "solution")
    for student, (add_code, answer_code) in HOSTILE.items():
        submit(root, student, learner_notebook(release_path(root), add_code, answer_code))
    submit(root, "[bold red]markup-id", learner_notebook(release_path(root), *HOSTILE["markup"]))
    submit_answers(root, "zz-honest", "solution")
    # 11. A submission that is a link to the instructor's source notebook.
    linked = root / "submitted" / "linker" / LAB
    linked.mkdir(parents=True)
    (linked / NOTEBOOK).symlink_to(root / "source" / LAB / NOTEBOOK)
    shown = io.StringIO()
    started = time.monotonic()
    outcomes = grade_lab(load_curriculum(root), LAB, workers=2, cell_timeout=4,
                         console=Console(file=shown, force_terminal=True, width=200), show_progress=True)
    return {"root": root, "outcomes": {o.student: o for o in outcomes}, "console": shown.getvalue(),
            "seconds": time.monotonic() - started}


def autograded(batch, student):
    return nbformat.read(batch["root"] / "autograded" / student / LAB / NOTEBOOK, as_version=4)


def test_every_learner_is_graded_and_honest_ones_get_full_marks(batch):
    outcomes = batch["outcomes"]
    assert set(outcomes) == {"honest-a", "zz-honest", "linker", "[bold red]markup-id", *HOSTILE}
    for student in ("honest-a", "zz-honest"):
        assert (outcomes[student].status, outcomes[student].score) == (GRADED, 5)


def test_markup_in_learner_text_neither_stops_nor_styles_the_console(batch):
    """Defect 1: rich used to raise MarkupError on 'gradebook [/]' and stop the batch."""
    assert batch["outcomes"]["zz-honest"].status == GRADED  # graded after the hostile ones
    assert "[bold red]markup-id" in batch["console"] and "gradebook [/]" in batch["console"]


def test_feedback_never_shows_what_was_printed_during_hidden_tests(batch):
    """Defect 2: the hidden test calls add(-5, 5); the learner's print would have shown it."""
    [page] = write_feedback(load_curriculum(batch["root"]), ["printer"], [LAB])
    text = page.read_text()
    assert "called with 1 2" in text, "what the visible check printed must stay"
    assert "-5" not in text and "called with -5" not in text
    assert "aicl-hidden" not in text and "aicl-visible" not in text


def test_an_output_flood_is_cut_while_it_runs(batch):
    """Defect 5: output is capped as it arrives, and the learner is graded (not the worker killed)."""
    outcome = batch["outcomes"]["flood"]
    assert outcome.score == 5 and "output cut" in outcome.reason
    path = batch["root"] / "autograded" / "flood" / LAB / NOTEBOOK
    assert path.stat().st_size < 5 << 20


def test_active_content_in_a_written_answer_is_shown_as_text():
    """Defect 6, written answers: a tag a learner types is text, not a tag, when formgrader renders it."""
    from autograder.grading.execute import NeutraliseActiveContent

    cell = nbformat.v4.new_markdown_cell("My answer <script>alert(1)</script> and 2 < 3",
                                         metadata={"nbgrader": {"solution": True, "grade": True}})
    cell, _ = NeutraliseActiveContent().preprocess_cell(cell, {}, 0)
    assert "<" not in cell.source and "&lt;script>alert(1)&lt;/script> and 2 &lt; 3" in cell.source


def test_active_content_is_neutralised_before_anything_renders_it(batch):
    """Defect 6: no script, JavaScript or SVG survives in the stored notebook formgrader shows."""
    text = json.dumps([c.get("outputs", []) for c in autograded(batch, "active").cells])
    for active in ("<script", "alert(", "application/javascript", "image/svg+xml", "text/html"):
        assert active not in text
    assert "IPython.core.display.HTML object" in text, "the plain-text form of a rich output stays"


def test_the_working_copy_comes_from_release_not_source(batch):
    """Defect 9: a file beside the source notebook is the instructor's, never the learner's."""
    text = json.dumps([c.get("outputs", []) for c in autograded(batch, "looks-for-source").cells])
    assert "SOURCE-FILE-ABSENT" in text and "SOURCE-FILE-SEEN" not in text


def test_a_symlinked_submission_is_refused_not_graded_as_the_solution(batch):
    """Defect 11: the trusted side read the link and graded the instructor's notebook (5/5)."""
    outcome = batch["outcomes"]["linker"]
    assert outcome.status == CORRUPT and "symbolic link" in outcome.reason and outcome.needs_review
    assert not outcome.score


def test_cells_after_a_timeout_are_not_run(batch):
    """Defect 14: one timeout, not one per remaining cell; the rest fail without running."""
    outcome = batch["outcomes"]["loops"]
    assert outcome.status == "timeout" and "not run" in outcome.reason and not outcome.score
    errors = [o.get("ename") for c in autograded(batch, "loops").cells for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert errors.count("CellTimeoutError") == 1 and "NotRun" in errors


def test_a_second_grading_run_on_the_course_is_refused(tmp_path_factory):
    """Defect 7: two runs used to rewrite outcomes.json over each other."""
    root = released_course(tmp_path_factory, "locked")
    submit_answers(root, "only", "solution")
    with course_lock(root):
        with pytest.raises(CourseBusy, match="Another `autograder grade` is running"):
            grade_lab(load_curriculum(root), LAB, workers=1, console=Console(file=io.StringIO()),
                      show_progress=False)
    assert not (root / "outcomes.json").exists() and not load_outcomes(root)


def test_a_never_released_lab_leaves_no_gradebook_behind(tmp_path):
    """Defect 16: grading before release used to create an empty gradebook.db."""
    from pipeline_fixtures import make_course

    root = make_course(tmp_path / "course")
    with pytest.raises(CurriculumError, match="release the labs first"):
        grade_lab(load_curriculum(root), LAB, workers=1, console=Console(file=io.StringIO()), show_progress=False)
    assert not (root / "gradebook.db").exists()


def test_a_long_temp_folder_does_not_break_the_kernel_sockets(tmp_path_factory, monkeypatch):
    """Defect 15: with a deep TMPDIR the ipc socket path passed ~107 characters and every kernel failed."""
    root = released_course(tmp_path_factory, "deep-tmp")
    submit_answers(root, "honest", "solution")
    deep = tmp_path_factory.mktemp("t") / ("deep-folder-" * 12)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)
    [outcome] = grade_lab(load_curriculum(root), LAB, workers=1, console=Console(file=io.StringIO()),
                          show_progress=False)
    assert (outcome.status, outcome.score) == (GRADED, 5)


KILL_BETWEEN_COMMIT_AND_OUTCOME = """
import os, signal, sys
from autograder.grading import outcomes
from autograder.cli import main
real_put, calls = outcomes.OutcomeStore.put, []
def put_then_die(self, outcome):
    calls.append(outcome.student)
    if len(calls) == 2:  # the 2nd submission's grades are committed; its outcome is not yet written
        os.kill(os.getpid(), signal.SIGKILL)
    real_put(self, outcome)
outcomes.OutcomeStore.put = put_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_resume_after_a_kill_between_gradebook_commit_and_outcome_write(tmp_path_factory):
    """Killed at the worst moment, the next run re-grades only what has no outcome, duplicating nothing."""
    root = released_course(tmp_path_factory, "kill-between")
    expected = {f"k{i}": submit_answers(root, f"k{i}", kind)
                for i, kind in enumerate(["solution", "half", "wrong_hidden", "alternative"])}
    command = ["--course", str(root), "grade", LAB, "--workers", "1", "--no-progress"]
    killed = subprocess.Popen([sys.executable, "-c", KILL_BETWEEN_COMMIT_AND_OUTCOME, *command],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert killed.wait(300) == -signal.SIGKILL
    finally:
        try:
            os.killpg(killed.pid, signal.SIGKILL)  # its workers and kernels, as a lost machine would end them
        except ProcessLookupError:
            pass
    assert len(load_outcomes(root)) == 1
    # That one outcome was saved as a journal line, not by rewriting outcomes.json (issue 17).
    assert not (root / "outcomes.json").exists() and (root / "outcomes.journal").exists()
    again = subprocess.run([sys.executable, "-m", "autograder", *command], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 already graded, 3 to grade" in again.stdout
    assert {o.student: o.score for o in load_outcomes(root)} == expected
    assert not (root / "outcomes.journal").exists()  # folded into outcomes.json when the run ended
    assert len(json.loads((root / "outcomes.json").read_text(encoding="utf-8"))["outcomes"]) == len(expected)
    from pipeline_fixtures import gradebook_scores
    assert len(gradebook_scores(root)) == len(expected) * 2  # two graded cells each, no duplicates


def test_time_limits_follow_the_labs_own_solution(tmp_path_factory):
    """Defect 14: limits come from the solution's measured run time (cached), not fixed defaults."""
    from autograder.grading.budget import FLOOR, SolutionTimes, derive

    assert derive(0.5) == (FLOOR, FLOOR) and derive(12.5) == (125, 125)
    root = released_course(tmp_path_factory, "budget")
    submit_answers(root, "first", "solution")
    shown = io.StringIO()
    [outcome] = grade_lab(load_curriculum(root), LAB, workers=1, console=Console(file=shown, width=200),
                          show_progress=False)
    assert outcome.score == 5
    seconds = SolutionTimes(root).get(LAB, root / "source" / LAB / NOTEBOOK)
    assert seconds is not None and 0 < seconds < FLOOR
    assert "timing the solution of 01-tiny" in shown.getvalue()
    assert f"01-tiny: {FLOOR} s per cell, {FLOOR} s per notebook" in shown.getvalue()
    submit_answers(root, "second", "half")
    shown = io.StringIO()
    grade_lab(load_curriculum(root), LAB, workers=1, console=Console(file=shown, width=200), show_progress=False)
    assert "timing the solution" not in shown.getvalue(), "an unchanged lab is timed once"


def test_a_course_execute_timeout_cannot_loosen_the_cell_limit(tmp_path_factory):
    """A course's ``c.Execute.timeout`` in nbgrader_config.py used to replace the grader's per-cell
    limit (nbconvert re-applies configuration when it starts executing), so an endless loop ran until
    the notebook budget. The grader's own limit must hold whatever the course configures."""
    root = released_course(tmp_path_factory, "course-timeout")
    with (root / "nbgrader_config.py").open("a") as config:
        config.write("\nc.Execute.timeout = 600\n")
    submit(root, "loops", learner_notebook(release_path(root), *HOSTILE["loops"]))
    started = time.monotonic()
    [outcome] = grade_lab(load_curriculum(root), LAB, workers=1, cell_timeout=3, notebook_budget=90,
                          console=Console(file=io.StringIO()), show_progress=False)
    assert outcome.status == "timeout" and "per-cell timeout" in outcome.reason, outcome.reason
    assert time.monotonic() - started < 60
