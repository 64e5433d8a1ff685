"""nbgrader's cell vocabulary, taken from nbgrader itself: which cell is a test or an answer, and
which lines open and close a test cell's hidden tests or an answer's solution.

The grader (grading/execute.py, grading/tamper.py), the feedback page and the sample generator (demo/samples.py) must
all see a notebook the way nbgrader does, so nothing here re-implements it: the cell kinds are
built on ``nbgrader.utils`` and the delimiters are ``ClearHiddenTests``'s and ``ClearSolutions``'s
own settings (``begin_test_delimeter`` / ``end_test_delimeter``, nbgrader's spelling), which a
course may change in its ``nbgrader_config.py``. Like nbgrader, a line belongs to the markers when it *contains* the
delimiter, so ``### BEGIN HIDDEN TESTS`` and ``# BEGIN HIDDEN TESTS`` both open hidden tests.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from traitlets.config import Config


def nbgrader_meta(cell) -> dict:
    """A cell's ``nbgrader`` metadata (empty for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    """A graded cell that is not an answer: its code checks the answers (nbgrader's autograder tests)."""
    return bool(utils.is_grade(cell) and not utils.is_solution(cell))


def is_autograded_answer(cell) -> bool:
    """An answer cell that tests grade: nbgrader's solution cell that is not itself graded."""
    return bool(cell.cell_type == "code" and utils.is_solution(cell) and not utils.is_grade(cell))


def hidden_test_delimiters(config: Config | None = None) -> tuple[str, str]:
    """The text that opens and closes hidden tests, as nbgrader's ``ClearHiddenTests`` is configured."""
    clear = ClearHiddenTests(config=config) if config is not None else ClearHiddenTests()
    return clear.begin_test_delimeter, clear.end_test_delimeter


def solution_delimiters(config: Config | None = None) -> tuple[str, str]:
    """The text that opens and closes a solution, as nbgrader's ``ClearSolutions`` is configured."""
    clear = ClearSolutions(config=config) if config is not None else ClearSolutions()
    return clear.begin_solution_delimeter, clear.end_solution_delimeter


# nbgrader's defaults, for code that is given no course configuration.
HIDDEN_BEGIN, HIDDEN_END = hidden_test_delimiters()
SOLUTION_BEGIN, SOLUTION_END = solution_delimiters()
