"""Step 1, release: build each lab's student version from ``source/`` with nbgrader.

``nbgrader generate_assignment`` strips solutions and hidden tests, locks the instructor's cells,
writes ``release/<lab>/`` and records every graded cell (with its hidden tests) in the gradebook;
grading later restores those cells from the gradebook, so a lab must be released before its
submissions are graded. This step calls nbgrader's API in-process (no CLI start per lab) and can
set the lab's due date, which is what makes a submission "late".
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path

from nbgrader import utils
from nbgrader.apps import NbGraderAPI

from autograder.curriculum import Curriculum, CurriculumError, load_curriculum
from autograder.course import course_directory, load_nbgrader_config, open_gradebook


class ReleaseError(RuntimeError):
    """A lab could not be released; the message names the notebook and the fix."""


def release_lab(curriculum: Curriculum, lab_id: str, due: datetime | None = None) -> Path:
    """Generate ``release/<lab>/`` and the lab's gradebook entry; return the released notebook."""
    lab = curriculum.lab(lab_id)
    source = curriculum.source_notebook(lab)
    if not lab.ready:
        raise ReleaseError(f"Lab '{lab.id}' is planned, not ready: it has no notebook to release yet.")
    if not source.exists():
        raise ReleaseError(
            f"{source} does not exist. Write the lab's source notebook there (see curriculum.yml, "
            f"lab '{lab.id}', notebook: {lab.notebook}) or release another lab."
        )
    config = load_nbgrader_config(curriculum.root)
    config.GenerateAssignment.force = True
    api = NbGraderAPI(coursedir=course_directory(curriculum.root, config), config=config)
    api.log.setLevel(logging.ERROR)
    result = api.generate_assignment(lab.id, force=True, create=True)
    released = curriculum.release_notebook(lab)
    if not result.get("success") or not released.exists():
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()[-12:]
        raise ReleaseError(
            f"nbgrader could not release {source}:\n  " + "\n  ".join(detail) +
            "\nFix the notebook (run `nbgrader validate` on it, check every graded cell has a unique "
            "grade_id) and release again."
        )
    if due is not None:
        with open_gradebook(curriculum.root, config) as gb:
            gb.update_or_create_assignment(lab.id, duedate=utils.parse_utc(due))
    return released


def release(curriculum: Curriculum, lab_ids: list[str] | None = None, due: datetime | None = None,
            echo=print) -> dict[str, Path | str]:
    """Release the named labs (default: every ready lab). Returns the notebook path or the error per lab."""
    labs = lab_ids or [lab.id for lab in curriculum.ready_labs]
    results: dict[str, Path | str] = {}
    for lab_id in labs:
        try:
            results[lab_id] = release_lab(curriculum, lab_id, due)
            echo(f"released {lab_id}: {results[lab_id]}")
        except (ReleaseError, CurriculumError) as error:
            results[lab_id] = str(error)
            echo(f"NOT released {lab_id}: {error}")
    return results


def parse_due(text: str) -> datetime:
    try:
        return utils.parse_utc(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time; write it like 2026-12-01 17:00 (UTC) or 2026-12-01T17:00+01:00"
        ) from None


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "release", help="build every lab's (or the named labs') student version from source/ with nbgrader"
    )
    parser.add_argument("labs", nargs="*", help="lab ids (default: every ready lab in curriculum.yml)")
    parser.add_argument("--due", type=parse_due, default=None,
                        help="due date and time (UTC unless an offset is given); later submissions are late")
    parser.set_defaults(run=run)


def run(args) -> int:
    curriculum = load_curriculum(args.course)
    results = release(curriculum, args.labs or None, args.due)
    return 0 if all(isinstance(value, Path) for value in results.values()) else 1
