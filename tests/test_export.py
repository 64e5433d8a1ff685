"""Exports: a correctly quoted grades CSV, a Canvas import file, and the status table."""

from __future__ import annotations

import csv

from pipeline_fixtures import GRADED_LEARNERS, LAB, graded_course
from rich.console import Console

from autograder.curriculum import load_curriculum
from autograder.export import export
from autograder.status import status_table


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_grades_csv_quotes_commas_quotes_and_newlines(tmp_path_factory):
    root = graded_course(tmp_path_factory)
    paths = export(load_curriculum(root), root / "exports")
    rows = read_csv(paths["grades"])
    header, body = rows[0], rows[1:]
    assert all(len(row) == len(header) for row in body)  # nothing shifted a column
    by_id = {row[0]: dict(zip(header, row)) for row in body}
    assert by_id["ada"]["name"] == "Lovelace, Ada"
    assert by_id["bob"]["name"] == 'Bob "Bobby" Tables'
    assert by_id["dee"]["name"] == "Dee\nNewline"
    assert by_id["cy"]["name"].startswith("'=")  # a spreadsheet will not run it as a formula
    assert {k: by_id[k]["score"] for k in by_id} == {"ada": "5", "bob": "0", "cy": "3", "dee": "2"}
    assert {by_id[k]["lab"] for k in by_id} == {LAB}
    assert '"Lovelace, Ada"' in paths["grades"].read_text(encoding="utf-8")


def test_canvas_import_format(tmp_path_factory):
    root = graded_course(tmp_path_factory)
    rows = read_csv(export(load_curriculum(root), root / "exports")["canvas"])
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0][5] == f"Tiny lab ({LAB})"
    assert rows[1][0] == "Points Possible" and rows[1][5] == "5"
    students = {row[2]: row for row in rows[2:]}
    assert set(students) == set(GRADED_LEARNERS)
    assert students["ada"][0] == "Lovelace, Ada" and students["ada"][3] == "ada@example.org"
    assert students["cy"][5] == "3"


def test_status_table_lists_every_learner(tmp_path_factory):
    root = graded_course(tmp_path_factory)
    console = Console(record=True, width=200)
    console.print(status_table(load_curriculum(root)))
    text = console.export_text()
    for learner in GRADED_LEARNERS:
        assert learner in text
    assert "5/5" in text and "3/5" in text
