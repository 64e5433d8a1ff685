"""Step 5, export: grades as a correctly quoted CSV, and in Canvas's gradebook import format.

nbgrader's ``CsvExportPlugin`` joins fields with commas and no quoting, so a name such as
"Smith, Jane" shifts every column after it. Here Python's ``csv`` module quotes what needs quoting,
and text cells that a spreadsheet would run as a formula (starting with = + - @) are prefixed with
an apostrophe. A submission under review is exported with its status and, in the Canvas file,
with an empty grade (Canvas leaves an empty cell's grade unchanged) rather than a false score.
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.cohort_table import NOT_SUBMITTED, read_cohort
from autograder.curriculum import Curriculum, load_curriculum

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GRADES_COLUMNS = ["learner_id", "name", "email", "lab", "score", "max_score", "percent", "status", "late",
                  "seconds_late", "needs_review", "manual_grading_pending", "submitted_at", "reason"]


def safe_text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def export_grades(curriculum: Curriculum, path: Path) -> Path:
    learners, labs, cells = read_cohort(curriculum)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(GRADES_COLUMNS)
        for learner in learners:
            for lab in labs:
                cell = cells[(learner.id, lab.id)]
                score = 0.0 if cell.status == NOT_SUBMITTED else cell.score
                percent = "" if not cell.max_score or score is None else f"{100 * score / cell.max_score:.1f}"
                outcome = cell.outcome
                writer.writerow([
                    safe_text(learner.id), safe_text(learner.name), safe_text(learner.email), lab.id,
                    _number(score), _number(cell.max_score), percent, cell.status,
                    "yes" if cell.late else "no", _number(outcome.seconds_late if outcome else 0.0),
                    "yes" if cell.needs_review else "no", "yes" if cell.manual_pending else "no",
                    cell.timestamp.isoformat() if cell.timestamp else "", safe_text(cell.reason),
                ])
    return path


def export_canvas(curriculum: Curriculum, path: Path, section: str = "") -> Path:
    """Canvas gradebook import CSV: Student, ID, SIS User ID, SIS Login ID, Section, then one column per lab.

    Learners are matched by SIS User ID (the roster id) and SIS Login ID (the email); the Canvas
    ``ID`` column is left empty since only Canvas knows it. The second row gives points possible.
    """
    learners, labs, cells = read_cohort(curriculum)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                        + [f"{lab.title} ({lab.id})" for lab in labs])
        writer.writerow(["Points Possible", "", "", "", ""] + [_number(cells_max(cells, lab)) for lab in labs])
        for learner in learners:
            row = [safe_text(learner.name or learner.id), "", safe_text(learner.id), safe_text(learner.email),
                   safe_text(section)]
            for lab in labs:
                cell = cells[(learner.id, lab.id)]
                row.append("" if cell.needs_review or cell.status == NOT_SUBMITTED else _number(cell.score))
            writer.writerow(row)
    return path


def cells_max(cells, lab) -> float:
    return next((c.max_score for (s, l), c in cells.items() if l == lab.id), 0.0)


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
