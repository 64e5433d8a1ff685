"""`autograder solutions LAB` publishes worked solutions only after the due date, never the hidden tests.

Run on the tiny course of tests/pipeline_fixtures.py, released for real with nbgrader into a real
gradebook (the due date is nbgrader's Assignment.duedate), and on every real lab's source for the
part that needs no kernel (hidden tests removed, answers and mark scheme kept).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

import nbformat
import pytest
from nbgrader import utils

from autograder import solutions
from autograder.curriculum import load_curriculum
from autograder.course import open_gradebook
from autograder.nbcells import nbgrader_meta
from pipeline_fixtures import HIDDEN_MARKER, LAB, SOLUTION_MARKER, released_course

NOW = datetime(2026, 12, 1, 12, 0)


def set_due(root, due: datetime | None) -> None:
    with open_gradebook(root) as gradebook:
        gradebook.update_or_create_assignment(LAB, duedate=due)


def run_command(root, *argv: str) -> tuple[int, list[str]]:
    """`autograder solutions ...` through its own argparse registration (cli.py wires it the same way)."""
    parser = argparse.ArgumentParser(prog="autograder")
    parser.add_argument("--course", default=None)
    solutions.add_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["--course", str(root), "solutions", *argv])
    said: list[str] = []
    return args.run(args, echo=said.append), said


def published(root):
    return root / "solutions" / LAB / "tiny.html"


@pytest.fixture
def course(tmp_path_factory):
    return released_course(tmp_path_factory, "solutions")


def test_refuses_without_a_due_date_and_says_how_to_set_one(course):
    code, said = run_command(course, LAB)
    assert code == 1 and not published(course).exists()
    assert said == [f"NOT published {LAB}: {LAB} has no due date, so its solutions are never published: "
                    f"set one with `autograder release {LAB} --due \"YYYY-MM-DD HH:MM\"`."]


def test_refuses_before_the_due_date(course):
    set_due(course, utils.parse_utc("2999-01-01 17:00"))
    code, said = run_command(course, LAB)
    assert code == 1 and not published(course).exists()
    assert said == [f"NOT published {LAB}: {LAB} is due 2999-01-01 17:00 UTC: its solutions can be "
                    "published after that, not before."]


def test_refuses_a_lab_that_was_never_released(tmp_path):
    from pipeline_fixtures import make_course

    root = make_course(tmp_path / "course")
    with pytest.raises(solutions.SolutionsError, match=f"release it first with `autograder release {LAB} --due"):
        solutions.publish(load_curriculum(root), LAB)


def test_publishes_after_the_due_date_without_hidden_tests(course):
    set_due(course, NOW - timedelta(minutes=1))
    path = solutions.publish(load_curriculum(course), LAB, now=NOW)
    assert path == published(course)
    html = path.read_text()
    assert SOLUTION_MARKER in html, "the instructor's answer is missing"
    # once in the code, once in its output: the page shows results, so the notebook was run
    assert html.count("Well done: the visible checks pass.") == 2, "the notebook was not run"
    for secret in (HIDDEN_MARKER, "HIDDEN TESTS", "BEGIN SOLUTION"):
        assert secret not in html, f"{secret!r} reached the learners' page"


def test_the_boundary_is_the_due_date_itself(course):
    set_due(course, NOW)
    with pytest.raises(solutions.SolutionsError, match="is due"):
        solutions.publish(load_curriculum(course), LAB, now=NOW - timedelta(seconds=1))
    assert solutions.publish(load_curriculum(course), LAB, now=NOW).exists()


def test_force_before_due_publishes_for_review(course):
    set_due(course, utils.parse_utc("2999-01-01 17:00"))
    code, said = run_command(course, LAB, "--force-before-due")
    assert code == 0 and said == [f"solutions of {LAB}: {published(course)}"]
    assert HIDDEN_MARKER not in published(course).read_text()


def _split_hidden(text: str) -> tuple[str, list[str]]:
    """(the text outside ### BEGIN/END HIDDEN TESTS regions, the lines inside them)."""
    outside, inside, hidden = [], [], False
    for line in text.split("\n"):
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            hidden = "BEGIN" in line
        else:
            (inside if hidden else outside).append(line)
    return "\n".join(outside), inside


def test_every_real_lab_keeps_answers_and_mark_scheme_but_no_hidden_test(lab):
    curriculum = load_curriculum(solutions.Path(__file__).resolve().parents[1])
    source = nbformat.read(curriculum.source_notebook(lab), as_version=4)
    worked = solutions.worked_solution(curriculum, lab.id)
    split = [_split_hidden(cell.source) for cell in source.cells]
    visible = {line.strip() for outside, _ in split for line in outside.splitlines()}
    # lines that exist only in hidden tests (one may repeat a line of the solution, or be just ")")
    secret = {line.strip() for _, inside in split for line in inside
              if len(line.strip()) > 3 and line.strip() not in visible}
    shown = "\n".join(cell.source for cell in worked.cells)
    assert secret, f"{lab.id} has no hidden tests to remove?"
    assert "HIDDEN TESTS" not in shown, "a hidden-test delimiter reached the worked solutions"
    leaked = secret & {line.strip() for line in shown.splitlines()}
    assert not leaked, f"hidden-test lines in the worked solutions: {sorted(leaked)[:3]}"
    for cell in source.cells:
        if nbgrader_meta(cell).get("solution"):  # every answer, the reflection's mark scheme included
            kept = [line for line in cell.source.splitlines() if "SOLUTION" not in line and line.strip()]
            assert all(line in shown for line in kept), f"{nbgrader_meta(cell)['grade_id']} lost its answer"
