"""The export and the report read one model of the cohort, so they cannot contradict each other.

The cohort is the sample one (tests/cohort_builder.py, a real nbgrader gradebook) with the three
things an instructor's course meets after grading, each of which once made grades.csv and
reports/cohort.html disagree:

- lateness the gradebook knows and the grading outcome does not (dee's lab 02, 30 h after the
  due date, graded without an outcome, as stock ``nbgrader autograde`` leaves it; or a due date
  moved after grading): the report said late, the export said on time;
- manual grading done in formgrader after autograding (eve's lab 04 reflection; ada's lab 01 was
  recorded as pending and then graded): the export kept the outcome's stale "pending";
- a submission whose grades could not be recorded (ben's lab 02: an outcome under review, no row
  in the gradebook): the report said under review, the export said "not submitted", score 0.
"""

from __future__ import annotations

import csv
from html.parser import HTMLParser

from cohort_builder import cohort_copy, gradebook, set_result

from autograder.curriculum import load_curriculum
from autograder.export import export
from autograder.grading.outcomes import FAILED, GRADED, Outcome, OutcomeStore
from autograder.report import _short, write_report

NAMES = {"Ada Lovelace": "ada", "Ben Okafor": "ben", "Cam Nguyen": "cam", "Dee Ramos": "dee", "Eve Müller": "eve"}


class _Tables(HTMLParser):
    """Every <table> of a page, by the id of the <h2> before it: a list of {header: cell text}."""

    def __init__(self):
        super().__init__()
        self.tables, self.section, self.rows, self.cell = {}, "", None, None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.section = dict(attrs).get("id", "")
        elif tag == "table":
            self.rows = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table" and self.rows is not None:
            header, *body = self.rows
            self.tables.setdefault(self.section, []).extend(dict(zip(header, row)) for row in body)
            self.rows = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _report_tables(root) -> dict[str, list[dict]]:
    parser = _Tables()
    parser.feed(write_report(root).read_text(encoding="utf-8"))
    return parser.tables


def _grades(root) -> dict[tuple[str, str], dict]:
    with open(export(load_curriculum(root))["grades"], newline="", encoding="utf-8") as handle:
        return {(row["learner_id"], row["lab"]): row for row in csv.DictReader(handle)}


def _course_after_grading(tmp_path_factory, tmp_path):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    store = OutcomeStore(root)
    store.put(Outcome("ada", "01-data-matters", GRADED, manual_pending=True))  # then graded in formgrader:
    set_result(root, "ada", "01-data-matters", 0.9)
    store.put(Outcome("ben", "02-preparing-data", FAILED, needs_review=True,
                      reason="could not record the grades in the gradebook: OperationalError: disk I/O error"))
    with gradebook(root) as gb:  # ben's 02 never reached the gradebook
        gb.remove_submission("02-preparing-data", "ben")
    return root


def _flags(root) -> dict[str, tuple[set, set]]:
    """Late, under-review and manual-grading (learner, lab) pairs, as grades.csv and the report show them."""
    grades = _grades(root)
    tables = _report_tables(root)
    labs = [lab.id for lab in load_curriculum(root).ready_labs]
    report_late, report_manual = set(), set()
    for row in tables["progress"]:
        for lab in labs:
            flags = row[_short(lab)].rsplit("%", 1)[-1]  # "75 % LM": the letters after the share
            if "L" in flags:
                report_late.add((NAMES[row["learner"]], lab))
            if "M" in flags:
                report_manual.add((NAMES[row["learner"]], lab))
    report_review = {(NAMES[r["learner"]], r["lab"]) for r in tables["review"] if "awaiting manual" not in r["why"]}
    return {
        "late": ({key for key, row in grades.items() if row["late"] == "yes" and row["needs_review"] == "no"},
                 report_late),
        "review": ({key for key, row in grades.items() if row["needs_review"] == "yes"}, report_review),
        "manual": ({key for key, row in grades.items()
                    if row["manual_grading_pending"] == "yes" and row["needs_review"] == "no"}, report_manual),
    }


def test_export_and_report_agree_on_late_review_and_manual_grading(tmp_path_factory, tmp_path):
    root = _course_after_grading(tmp_path_factory, tmp_path)
    flags = _flags(root)
    assert flags["late"] == ({("dee", "02-preparing-data")},) * 2
    assert flags["manual"] == ({("eve", "04-checking-results")},) * 2
    assert flags["review"] == ({("ben", "02-preparing-data")},) * 2
    grades = _grades(root)
    failed = grades[("ben", "02-preparing-data")]
    assert failed["status"] == FAILED and failed["score"] == "" and "disk I/O error" in failed["reason"]
    assert grades[("dee", "02-preparing-data")]["seconds_late"] == f"{30 * 3600:g}"


def test_an_extension_granted_after_grading_clears_late_in_export_and_report(tmp_path_factory, tmp_path):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    OutcomeStore(root).put(Outcome("dee", "02-preparing-data", GRADED, late=True, seconds_late=30 * 3600.0))
    assert _flags(root)["late"] == ({("dee", "02-preparing-data")},) * 2
    with gradebook(root) as gb:
        gb.grant_extension("02-preparing-data", "dee", days=2)
    assert _flags(root)["late"] == (set(), set())
    assert _grades(root)[("dee", "02-preparing-data")]["seconds_late"] == "0"
