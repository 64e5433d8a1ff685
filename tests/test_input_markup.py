"""Learner-derived text (ids, names, file names, review reasons) is shown as text, never run as markup.

`rich` parses ``[...]`` as markup: ``'gradebook [/]'`` raises MarkupError, ``[bold]x[/bold]`` loses its
brackets. HTML pages must show ``<script>`` as text. Every case goes through the real command on a
real course (the sample cohort's nbgrader gradebook, a real import), and checks the text comes out
exactly as the learner wrote it.
"""

from __future__ import annotations

import csv
import html
import json

import pytest
from cohort_builder import add_student, cohort_copy, flag_for_review, set_result
from pipeline_fixtures import NOTEBOOK, make_course

from autograder.cli import main
from autograder.curriculum import load_curriculum

HOSTILE = ["gradebook [/]", "[bold]x[/bold]", "[link=http://evil.example]click[/link]", "<script>alert(1)</script>"]
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # rich folds long cells; keep each text on one line


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.fixture
def hostile_cohort(tmp_path_factory, tmp_path):
    """The sample cohort plus learners whose gradebook ids and names are markup, and a hostile review reason."""
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    for number, text in enumerate(HOSTILE):
        student = f"m{number}{text}"
        add_student(root, student, text, "Mallory")
        for lab in load_curriculum(root).ready_labs:
            set_result(root, student, lab.id, 0.9)
    flag_for_review(root, "cam", "04-checking-results", "found 'gradebook [/]' and " + SCRIPT + " [bold]x[/bold]")
    return root


def test_status_prints_hostile_ids_literally(hostile_cohort, capsys):
    code, out, _ = run_cli(capsys, "--course", hostile_cohort, "status")
    assert code == 0
    for number, text in enumerate(HOSTILE):
        assert f"m{number}{text}" in out


def test_import_report_prints_hostile_file_names_literally(tmp_path, capsys):
    root = make_course(tmp_path / "course")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\njsmith,Jane Smith,j@example.org\n")
    download = tmp_path / "download"
    (download / "jsmith").mkdir(parents=True)
    for number, text in enumerate(HOSTILE):
        (download / "jsmith" / f"notes {number} {text.replace('/', '%')}.txt").write_text("hello")
        (download / "jsmith" / f"{number}{text.replace('/', '%')}.ipynb").write_text("{}")
    code, out, _ = run_cli(capsys, "--course", root, "import", download, roster)
    assert code == 0
    for number, text in enumerate(HOSTILE):
        shown = text.replace("/", "%")
        assert f"jsmith/notes {number} {shown}.txt" in out
        assert f"'{number}{shown}.ipynb' is not a lab notebook" in out  # in the reason column too


def test_the_report_escapes_names_and_reasons(hostile_cohort, capsys):
    assert run_cli(capsys, "--course", hostile_cohort, "report")[0] == 0
    page = (hostile_cohort / "reports" / "cohort.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Mallory" in page          # a name, in the tables
    assert "found &#x27;gradebook [/]&#x27; and &lt;script&gt;" in page       # the review reason


def test_certificates_and_their_commands_show_hostile_names_as_text(hostile_cohort, capsys):
    assert run_cli(capsys, "--course", hostile_cohort, "keys")[0] == 0
    code, out, _ = run_cli(capsys, "--course", hostile_cohort, "certify")
    assert code == 0
    for text in HOSTILE:
        assert f"Issued AI Practitioner to {text} Mallory" in out
    ledger = json.loads((hostile_cohort / "certificates" / "ledger.json").read_text())["credentials"]
    hostile = [entry for entry in ledger if entry["name"].endswith("Mallory")]
    assert len(hostile) == 2 * len(HOSTILE)  # a practitioner and a leader certificate each
    for entry in hostile:
        page = (hostile_cohort / entry["page"]).read_text(encoding="utf-8")
        assert "<script" not in page
        assert f'<div class="name">{html.escape(entry["name"])}</div>' in page
        code, out, _ = run_cli(capsys, "--course", hostile_cohort, "verify", hostile_cohort / entry["file"])
        assert code == 0 and f"certificate of {entry['name']} ({entry['student']})" in out


def test_export_keeps_hostile_text_as_text(hostile_cohort, capsys):
    assert run_cli(capsys, "--course", hostile_cohort, "export")[0] == 0
    with open(hostile_cohort / "exports" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ids = {row["learner_id"] for row in rows}
    assert {f"m{n}{text}" for n, text in enumerate(HOSTILE)} <= ids
    cam = next(r for r in rows if r["learner_id"] == "cam" and r["lab"] == "04-checking-results")
    assert "found 'gradebook [/]' and " + SCRIPT in cam["reason"]


def test_a_forged_name_cannot_print_a_valid_line(hostile_cohort, tmp_path, capsys):
    """A credential's text is shown on one line: a name holding a newline cannot fake a VALID verdict."""
    run_cli(capsys, "--course", hostile_cohort, "keys")
    run_cli(capsys, "--course", hostile_cohort, "certify")
    ledger = json.loads((hostile_cohort / "certificates" / "ledger.json").read_text())["credentials"]
    entry = next(e for e in ledger if e["student"] == "ada")
    credential = json.loads((hostile_cohort / entry["file"]).read_text())
    credential["credentialSubject"]["identifier"][0]["identityHash"] = (
        "Ada\nVALID    certificates/ada.json: AI Practitioner certificate of Ada Lovelace\x1b[2K")
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(credential))
    code, out, _ = run_cli(capsys, "--course", hostile_cohort, "verify", forged)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"INVALID  {forged}") and not any(line.startswith("VALID") for line in lines)
    assert "\x1b" not in out and "Ada\\nVALID" in lines[0]
