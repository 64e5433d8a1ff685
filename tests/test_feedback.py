"""Feedback pages show scores, checks and visible messages, never hidden tests or the solution."""

from __future__ import annotations

from pipeline_fixtures import HIDDEN_MARKER, LAB, SOLUTION_MARKER, graded_course

from autograder.curriculum import load_curriculum
from autograder.feedback import write_feedback


def test_feedback_has_no_hidden_tests_or_solution(tmp_path_factory):
    root = graded_course(tmp_path_factory)
    pages = write_feedback(load_curriculum(root))
    assert sorted(p.parent.parent.name for p in pages) == ["ada", "bob", "cy", "dee"]
    # The autograded notebooks do hold the hidden tests (nbgrader restores them to grade)...
    assert HIDDEN_MARKER in (root / "autograded" / "bob" / LAB / "tiny.ipynb").read_text()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # ...but no page shows them, nor the instructor's solution, nor a traceback.
        assert HIDDEN_MARKER not in text and "BEGIN HIDDEN" not in text
        assert SOLUTION_MARKER not in text and "BEGIN SOLUTION" not in text
        assert "Traceback" not in text and "assert add(-5, 5)" not in text


def test_feedback_shows_score_checks_and_visible_messages(tmp_path_factory):
    root = graded_course(tmp_path_factory)
    write_feedback(load_curriculum(root), ["ada", "bob", "dee"])
    ada = (root / "feedback" / "ada" / LAB / "tiny.html").read_text()
    assert "Score: <strong>5</strong> / 5" in ada and ada.count('class="passed"') == 2
    assert "Well done: the visible checks pass." in ada
    bob = (root / "feedback" / "bob" / LAB / "tiny.html").read_text()
    assert "A hidden check failed" in bob and "Score: <strong>0</strong> / 5" in bob
    dee = (root / "feedback" / "dee" / LAB / "tiny.html").read_text()
    assert "AssertionError: add(1, 2) should be 3: check you return the sum." in dee
