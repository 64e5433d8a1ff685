"""Step 4, export: grades as a correctly quoted CSV, and in Canvas's gradebook import format.

nbgrader's ``CsvExportPlugin`` joins fields with commas and no quoting, so a name such as
"Smith, Jane" shifts every column after it. Here Python's ``csv`` module quotes what needs quoting,
and text cells that a spreadsheet would run as a formula (starting with = + - @) are prefixed with
an apostrophe.

A submission under review (``needs_review``) has no score in any export: its score and percent are
left blank in grades.csv, with ``needs_review=yes``, its status and the reason it was flagged, and
its grade is left blank in the Canvas file (Canvas leaves an empty cell's grade unchanged). A
score the grader could not trust must not reach a gradebook by a copy and paste.

Files are written whole and then renamed into place, so an interrupted export never leaves a
half-written CSV that an LMS would import.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.curriculum import Curriculum, load_curriculum
from autograder.files import atomic_write_bytes
from autograder.results import NOT_SUBMITTED, Cohort, LabResult, load_cohort

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GRADES_COLUMNS = ["learner_id", "name", "email", "lab", "score", "max_score", "percent", "status", "late",
                  "seconds_late", "needs_review", "manual_grading_pending", "submitted_at", "reason"]


def safe_text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


WITHHELD = "score left blank until an instructor has reviewed it"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def exported_score(result: LabResult) -> float | None:
    """The score an export may show: none for a flagged submission, 0 for one never submitted."""
    if result.needs_review:
        return None
    return 0.0 if result.status == NOT_SUBMITTED else result.score


def exported_reason(result: LabResult) -> str:
    if result.needs_review:
        return f"{WITHHELD}: {result.reason}" if result.reason else WITHHELD
    return result.reason


def _write_csv(path: Path, rows: list[list]) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
    return path


def _cohort(curriculum: Curriculum) -> Cohort:
    cohort = load_cohort(curriculum)
    cohort.require_released()
    return cohort


def export_grades(curriculum: Curriculum, path: Path) -> Path:
    cohort = _cohort(curriculum)
    rows = [GRADES_COLUMNS]
    for learner in cohort.learners:
        for lab in cohort.released:
            result = cohort.result(learner.id, lab.id)
            score = exported_score(result)
            percent = "" if not result.max_score or score is None else f"{100 * score / result.max_score:.1f}"
            rows.append([
                safe_text(learner.id), safe_text(learner.name), safe_text(learner.email), lab.id,
                _number(score), _number(result.max_score), percent, result.status,
                "yes" if result.late else "no", _number(result.seconds_late),
                "yes" if result.needs_review else "no", "yes" if result.manual_pending else "no",
                result.timestamp.isoformat() if result.timestamp else "", safe_text(exported_reason(result)),
            ])
    return _write_csv(path, rows)


def export_canvas(curriculum: Curriculum, path: Path, section: str = "") -> Path:
    """Canvas gradebook import CSV: Student, ID, SIS User ID, SIS Login ID, Section, then one column per lab.

    Learners are matched by SIS User ID (the roster id) and SIS Login ID (the email); the Canvas
    ``ID`` column is left empty since only Canvas knows it. The second row gives points possible.
    """
    cohort = _cohort(curriculum)
    labs = cohort.released
    points = {row["lab"]: row["max_score"] for row in cohort.labs.to_dict("records")}
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [f"{lab.title} ({lab.id})" for lab in labs],
            ["Points Possible", "", "", "", ""] + [_number(points[lab.id]) for lab in labs]]
    for learner in cohort.learners:
        row = [safe_text(learner.name or learner.id), "", safe_text(learner.id), safe_text(learner.email),
               safe_text(section)]
        for lab in labs:
            result = cohort.result(learner.id, lab.id)
            # Not submitted: empty, so Canvas keeps whatever it has (grades.csv says 0).
            row.append("" if result.status == NOT_SUBMITTED else _number(exported_score(result)))
        rows.append(row)
    return _write_csv(path, rows)


def export(curriculum: Curriculum, folder: Path | None = None) -> dict[str, Path]:
    folder = Path(folder or curriculum.root / "exports")
    return {
        "grades": export_grades(curriculum, folder / "grades.csv"),
        "canvas": export_canvas(curriculum, folder / "canvas-gradebook.csv"),
    }


def add_command(subparsers) -> None:
    parser = subparsers.add_parser("export", help="write grades.csv (quoted) and canvas-gradebook.csv")
    parser.add_argument("--to", type=Path, default=None, help="output folder (default: exports/ in the course)")
    parser.set_defaults(run=run)


def run(args) -> int:
    for kind, path in export(load_curriculum(args.course), args.to).items():
        print(f"{kind}: {path}")
    return 0
