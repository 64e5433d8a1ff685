"""After the due date, publish a lab's worked solutions: ``solutions/<lab>/<notebook>.html``.

Learners learn most from a worked solution once they have tried (issue 9, item 10), but a solution
out before the due date is an answer key. So this step reads the lab's due date from the gradebook
(nbgrader's ``Assignment.duedate``, set by ``autograder release LAB --due``) and refuses before it,
or when none is set. The page is built from ``source/`` (the single source of truth) with the
instructor's answers and the reflection's mark scheme, but without the hidden tests, which stay
secret because the same checks grade the next cohort: they are removed by nbgrader's own
``ClearHiddenTests`` with the course's configured delimiters. The notebook is then run, so the page
shows every result and plot, and exported to one self-contained HTML file (read-only: it cannot be
mistaken for, or submitted as, a learner's notebook).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbformat.v4 import new_markdown_cell
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from autograder.curriculum import Curriculum, CurriculumError, load_curriculum
from autograder.files import atomic_write_bytes
from autograder.course import load_nbgrader_config, open_gradebook

SOLUTIONS_DIR = "solutions"
CELL_TIMEOUT = 300


class SolutionsError(RuntimeError):
    """The solutions were not published; the message says why and what to do."""


def due_date(curriculum: Curriculum, lab_id: str) -> datetime:
    """The lab's due date (UTC, naive as nbgrader stores it); refuses when it is not released or has none."""
    with open_gradebook(curriculum.root, load_nbgrader_config(curriculum.root)) as gradebook:
        try:
            due = gradebook.find_assignment(lab_id).duedate
        except MissingEntry:
            due = None
            released = False
        else:
            released = True
    if not released:
        raise SolutionsError(f"{lab_id} is not in the gradebook: release it first with "
                             f"`autograder release {lab_id} --due \"YYYY-MM-DD HH:MM\"`.")
    if due is None:
        raise SolutionsError(f"{lab_id} has no due date, so its solutions are never published: set one with "
                             f"`autograder release {lab_id} --due \"YYYY-MM-DD HH:MM\"`.")
    return due


def worked_solution(curriculum: Curriculum, lab_id: str, due: datetime | None = None):
    """The source notebook with hidden tests removed and nbgrader's solution markers dropped (not run)."""
    lab = curriculum.lab(lab_id)
    config = load_nbgrader_config(curriculum.root)
    notebook = nbformat.read(curriculum.source_notebook(lab), as_version=4)
    try:
        notebook, _ = ClearHiddenTests(config=config).preprocess(notebook, {})
    except RuntimeError as error:  # an unclosed region, or hidden tests outside a graded test cell
        raise SolutionsError(f"{lab_id}: {error} Nothing was published.") from None
    markers = ClearSolutions(config=config)
    for cell in notebook.cells:  # nbgrader's own rule: a line containing a delimiter is a marker line
        lines = cell.source.split("\n")
        cell.source = "\n".join(line for line in lines if markers.begin_solution_delimeter not in line
                                and markers.end_solution_delimeter not in line)
    when = f" (due {due:%Y-%m-%d %H:%M} UTC)" if due else ""
    notebook.cells.insert(0, new_markdown_cell(
        f"**Worked solutions for {lab.title}{when}.** The instructor's answers, with every result they "
        "produce and the mark scheme of the reflection. The hidden tests that grade the lab are not "
        "included."))
    return notebook


def publish(curriculum: Curriculum, lab_id: str, now: datetime | None = None,
            force_before_due: bool = False) -> Path:
    """Write ``solutions/<lab>/<notebook>.html`` once the due date has passed; return its path."""
    lab = curriculum.lab(lab_id)
    if not lab.ready or not curriculum.source_notebook(lab).exists():
        raise SolutionsError(f"{lab_id} has no source notebook ({curriculum.source_notebook(lab)}).")
    due = due_date(curriculum, lab_id)
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    if now < due and not force_before_due:
        raise SolutionsError(f"{lab_id} is due {due:%Y-%m-%d %H:%M} UTC: its solutions can be published "
                             "after that, not before.")
    notebook = worked_solution(curriculum, lab_id, due)
    source_dir = curriculum.source_notebook(lab).parent
    try:
        NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(source_dir)}}).execute()
    except CellExecutionError as error:
        last = str(error).strip().splitlines()[-1:] or ["?"]
        raise SolutionsError(f"the solution notebook of {lab_id} failed to run: {last[0]} — run "
                             f"`pytest source/{lab_id}` to see where.") from None
    html, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
    target = curriculum.root / SOLUTIONS_DIR / lab.id / f"{lab.notebook_stem}.html"
    atomic_write_bytes(target, html.encode("utf-8"))
    return target


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "solutions", help="after a lab's due date, write its worked solutions to solutions/<lab>/ (no hidden tests)"
    )
    parser.add_argument("labs", nargs="+", help="lab ids")
    parser.add_argument("--force-before-due", action="store_true",
                        help="publish even before the due date (for instructors to review; do not share)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, echo=print) -> int:
    curriculum = load_curriculum(args.course)
    failed = 0
    for lab_id in args.labs:
        try:
            path = publish(curriculum, lab_id, force_before_due=args.force_before_due)
            echo(f"solutions of {lab_id}: {path}")
        except (SolutionsError, CurriculumError) as error:
            failed += 1
            echo(f"NOT published {lab_id}: {error}")
    return 1 if failed else 0
