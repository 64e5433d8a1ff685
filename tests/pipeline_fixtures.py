"""A tiny synthetic course for the grading pipeline's tests: one lab that runs in a second.

The real labs are written elsewhere and take tens of seconds each; these tests need a lab whose
answers, hidden tests and points are known exactly, so they build one in a temporary course folder
(with the repository's own nbgrader_config.py) and exercise the real nbgrader, gradebook and
kernels on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
LAB = "01-tiny"
NOTEBOOK = "tiny.ipynb"
HIDDEN_MARKER = "HIDDEN_SECRET_CHECK_4711"
SOLUTION_MARKER = "SOLUTION_SECRET_0815"

CURRICULUM = f"""
course: {{id: tiny-course, title: Tiny course}}
tracks:
  - id: practitioner
    title: Practitioner
    labs: [{LAB}]
    rule: {{min_share_per_lab: 0.7, allow_under_review: false}}
labs:
  - id: {LAB}
    notebook: {NOTEBOOK}
    title: Tiny lab
    status: ready
    grade_prefix: tiny01
    minutes: 5
    points: 5
    pass_mark: 0.7
    objectives: [Add numbers.]
"""


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def tiny_source_notebook():
    """Two exercises: ``add`` (visible + hidden test, 3 points) and ``answer`` (2 points)."""
    cells = [
        new_markdown_cell("# Tiny lab", metadata=_meta("tiny01-intro", locked=True)),
        new_code_cell("import math", metadata=_meta("tiny01-setup", locked=True)),
        new_code_cell(
            "def add(a, b):\n    ### BEGIN SOLUTION\n"
            f"    # {SOLUTION_MARKER}\n    return a + b\n    ### END SOLUTION",
            metadata=_meta("tiny01-ex1-answer", solution=True),
        ),
        new_code_cell(
            'assert add(1, 2) == 3, "add(1, 2) should be 3: check you return the sum."\n'
            "### BEGIN HIDDEN TESTS\n"
            f"assert add(-5, 5) == 0  # {HIDDEN_MARKER}\n"
            "### END HIDDEN TESTS\n"
            'print("Well done: the visible checks pass.")',
            metadata=_meta("tiny01-ex1-test", grade=True, locked=True, points=3),
        ),
        new_code_cell(
            "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION",
            metadata=_meta("tiny01-ex2-answer", solution=True),
        ),
        new_code_cell(
            'assert isinstance(answer, int), "answer must be a whole number."\n'
            "### BEGIN HIDDEN TESTS\n"
            f"assert answer == 42  # {HIDDEN_MARKER}\n"
            "### END HIDDEN TESTS",
            metadata=_meta("tiny01-ex2-test", grade=True, locked=True, points=2),
        ),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def make_course(root: Path) -> Path:
    """A course folder with the tiny lab's source notebook, ready for `autograder release`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "curriculum.yml").write_text(CURRICULUM, encoding="utf-8")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    source = root / "source" / LAB
    source.mkdir(parents=True, exist_ok=True)
    nbformat.write(tiny_source_notebook(), source / NOTEBOOK)
    return root


# Answers a learner may write, with the points each earns (out of 5).
ANSWERS = {
    "solution": ("def add(a, b):\n    return a + b", "answer = 42", 5),
    "alternative": ("def add(a, b):\n    return sum([a, b])", "answer = 6 * 7", 5),
    "wrong_hidden": ("def add(a, b):\n    return abs(a) + abs(b)", "answer = 41", 0),
    "half": ("def add(a, b):\n    return a + b", "answer = 41", 3),
    "warns": (
        "import warnings\ndef add(a, b):\n    warnings.warn('deprecated thing', FutureWarning)\n    return a + b",
        "answer = 42", 5,
    ),
}


def learner_notebook(release_notebook: Path, add_code: str | None, answer_code: str | None):
    """The release notebook with the learner's answers written in (None leaves the stub)."""
    notebook = nbformat.read(release_notebook, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "tiny01-ex1-answer" and add_code is not None:
            cell.source = add_code
        if grade_id == "tiny01-ex2-answer" and answer_code is not None:
            cell.source = answer_code
    return notebook


def submit(root: Path, student: str, notebook, timestamp: str | None = None) -> Path:
    """Place a submission where nbgrader expects it: submitted/<student>/<lab>/<notebook>."""
    folder = Path(root) / "submitted" / student / LAB
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NOTEBOOK
    if isinstance(notebook, (str, bytes)):
        path.write_bytes(notebook.encode() if isinstance(notebook, str) else notebook)
    else:
        nbformat.write(notebook, path)
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
    return path
