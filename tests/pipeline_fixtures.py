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
course: {{id: tiny-course, title: Tiny course, publish_url: "https://certificates.example.org/tiny-course/"}}
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


def course_with_roster(folder: Path):
    """The tiny course (not released) and a two-learner roster: what `autograder import` needs."""
    from autograder.curriculum import load_curriculum

    root = make_course(Path(folder) / "course")
    roster = Path(folder) / "roster.csv"
    roster.write_text("id,name,email\njsmith,Jane Smith,jane@example.org\nokim,Oh-seo Kim,okim@example.org\n")
    return load_curriculum(root), roster


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


# --------------------------------------------------------------------------- released course, built once

_TEMPLATE: dict[str, Path] = {}


def released_course(tmp_path_factory, name: str = "course") -> Path:
    """A fresh copy of the tiny course, already released (the release itself runs once per session)."""
    from autograder.curriculum import load_curriculum
    from autograder.release import release

    if "root" not in _TEMPLATE:
        template = make_course(tmp_path_factory.mktemp("template"))
        results = release(load_curriculum(template), echo=lambda *a: None)
        assert all(isinstance(p, Path) for p in results.values()), results
        _TEMPLATE["root"] = template
    target = tmp_path_factory.mktemp(name) / "course"
    shutil.copytree(_TEMPLATE["root"], target)
    return target


def release_path(root: Path) -> Path:
    return Path(root) / "release" / LAB / NOTEBOOK


def submit_answers(root: Path, student: str, kind: str, timestamp: str | None = None) -> int:
    """Submit one of :data:`ANSWERS` for ``student``; returns the points it must earn."""
    add_code, answer_code, points = ANSWERS[kind]
    submit(root, student, learner_notebook(release_path(root), add_code, answer_code), timestamp)
    return points


def gradebook_scores(root: Path) -> dict[tuple[str, str], float | None]:
    """(student, grade_id) -> score, read straight from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(LAB).submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[(submission.student.id, grade.name)] = grade.score
    return scores


def nbgrader_cli(root: Path, *args: str, timeout: float = 600):
    """Stock nbgrader's CLI, run in the course folder with the virtual environment's tools on PATH."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout)


_GRADED: dict[str, Path] = {}
# Learners whose names and answers exercise feedback and export: commas, quotes, a formula, a newline.
GRADED_LEARNERS = {
    "ada": ("Lovelace, Ada", "ada@example.org", "solution"),
    "bob": ('Bob "Bobby" Tables', "bob@example.org", "wrong_hidden"),
    "cy": ("=HYPERLINK(\"http://x\")", "cy@example.org", "half"),
    "dee": ("Dee\nNewline", "dee@example.org", None),            # a learner with a visible failure
}


def graded_course(tmp_path_factory) -> Path:
    """The tiny course with four learners imported from a roster and graded (once per session)."""
    if "root" in _GRADED:
        return _GRADED["root"]
    import csv
    import os

    from rich.console import Console

    from autograder.collect import import_submissions
    from autograder.curriculum import load_curriculum
    from autograder.grading.grade import grade_lab

    root = released_course(tmp_path_factory, "graded")
    download = root.parent / "download"
    for learner, (_, _, kind) in GRADED_LEARNERS.items():
        folder = download / learner
        folder.mkdir(parents=True)
        if kind is None:  # add returns nothing: the visible check fails with its message
            notebook = learner_notebook(release_path(root), "def add(a, b):\n    pass", "answer = 42")
        else:
            notebook = learner_notebook(release_path(root), *ANSWERS[kind][:2])
        nbformat.write(notebook, folder / NOTEBOOK)
    roster = root.parent / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email"])
        for learner, (name, email, _) in GRADED_LEARNERS.items():
            writer.writerow([learner, name, email])
    curriculum = load_curriculum(root)
    report = import_submissions(curriculum, download, roster)
    assert len(report.imported) == len(GRADED_LEARNERS), report.rows
    grade_lab(curriculum, LAB, workers=2, console=Console(file=open(os.devnull, "w")), show_progress=False)
    _GRADED["root"] = root
    return root
