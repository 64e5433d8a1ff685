"""The grader, the tamper checks and the feedback page read hidden tests where nbgrader does.

A course may rename nbgrader's hidden-test delimiters in nbgrader_config.py
(``ClearHiddenTests.begin_test_delimeter`` / ``end_test_delimeter``); every place that cuts a test
cell at its hidden tests follows that setting instead of a copy of nbgrader's default. No kernel runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.grading import tamper
from autograder.grading.execute import MarkHiddenTests
from autograder.feedback import hidden_line_range
from autograder.nbcells import HIDDEN_BEGIN, HIDDEN_END, hidden_test_delimiters

AUTOGRADER = Path(__file__).resolve().parents[1] / "autograder"
TEST_CELL = "assert add(1, 2) == 3\n### BEGIN SECRET CHECKS\nassert add(-5, 5) == 0\n### END SECRET CHECKS\npassed('add')"


def course_config() -> Config:
    config = Config()
    config.ClearHiddenTests.begin_test_delimeter = "BEGIN SECRET CHECKS"
    config.ClearHiddenTests.end_test_delimeter = "END SECRET CHECKS"
    return config


def test_the_delimiters_are_nbgraders_setting_with_its_defaults():
    assert (HIDDEN_BEGIN, HIDDEN_END) == hidden_test_delimiters() == ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    assert hidden_test_delimiters(course_config()) == ("BEGIN SECRET CHECKS", "END SECRET CHECKS")


def test_grading_announces_a_courses_own_hidden_tests():
    cell = new_code_cell(TEST_CELL, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    notebook, _ = MarkHiddenTests(config=course_config())(new_notebook(cells=[cell]), {})
    begin, end = notebook.cells[0].metadata["autograder"]["hidden_markers"]
    lines = notebook.cells[0].source.splitlines()
    assert lines[lines.index("### BEGIN SECRET CHECKS") + 1] == f"print({begin!r}, flush=True)"
    assert lines[lines.index("### END SECRET CHECKS") + 1] == f"print({end!r}, flush=True)"


def test_canaries_and_feedback_cut_at_a_courses_own_hidden_tests():
    delimiters = hidden_test_delimiters(course_config())
    canary = tamper.canary_source(TEST_CELL, delimiters=delimiters).splitlines()
    assert canary[0] == "assert add(1, 2) == 3" and canary[1] == "### BEGIN SECRET CHECKS"
    assert canary[3] == "### END SECRET CHECKS" and canary[4] == "passed('add')"
    assert "add(-5, 5)" not in "\n".join(canary)  # the real hidden check never reaches a canary
    assert hidden_line_range(TEST_CELL, delimiters) == [(2, 4)]


def test_no_product_module_imports_the_demo_package():
    """The demo and its sample generator sit outside the product code: the grader (tamper checks
    included) must work without them, so no module outside autograder/demo/ imports them (cli.py
    only registers the `demo` sub-command by name)."""
    importers = []
    for path in sorted(AUTOGRADER.rglob("*.py")):
        if "demo" in path.relative_to(AUTOGRADER).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        if any(name == "autograder.demo" or name.startswith("autograder.demo.") for name in imported):
            importers.append(str(path.relative_to(AUTOGRADER)))
    assert importers == []
