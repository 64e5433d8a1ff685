"""Bad input to verify, certify, status, export and report: one clear message, a non-zero exit, no traceback.

Each case runs the real CLI entry (`autograder.cli.main`) on a real course: the sample cohort's
nbgrader gradebook (tests/cohort_builder.py), real Ed25519 keys and credentials issued by certify.
An exception escaping ``main`` is what the installed command prints as a traceback, so these tests
fail on any such exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cohort_builder import cohort_copy
from pipeline_fixtures import make_course

from autograder.credentials.certify import certify_cohort
from autograder.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- verify ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("input-verify") / "course")
    result = certify_cohort(root)
    return root, {entry["student"]: entry for entry in result.issued}


def _subject_list(credential):
    credential["credentialSubject"] = [credential["credentialSubject"]]


def _proof_value_number(credential):
    credential["proof"][0]["proofValue"] = 12345


def _identifier_text(credential):
    credential["credentialSubject"]["identifier"] = "Ada Lovelace"


def _proof_list_of_text(credential):
    credential["proof"] = ["not a proof"]


def _type_text(credential):
    credential["type"] = "VerifiableCredential OpenBadgeCredential"


def _results_object(credential):
    credential["credentialSubject"]["result"] = {"value": "100"}


def _issuer_number(credential):
    credential["issuer"] = 7


@pytest.mark.parametrize("change, reason", [
    (_subject_list, "credentialSubject must be a JSON object, not a list"),
    (_proof_value_number, "proof.proofValue must be a string, not a number"),
    (_identifier_text, "credentialSubject.identifier must be a list, not a string"),
    (_proof_list_of_text, "proof must be a JSON object"),
    (_type_text, "type must be a list, not a string"),
    (_results_object, "credentialSubject.result must be a list, not a JSON object"),
    (_issuer_number, "issuer must be a JSON object or a string, not a number"),
], ids=["subject-list", "proofvalue-number", "identifier-text", "proof-list", "type-text", "result-object",
        "issuer-number"])
def test_verify_reports_a_malformed_credential_and_checks_the_other_files(issued, tmp_path, capsys, change, reason):
    root, entries = issued
    credential = json.loads((root / entries["ada"]["file"]).read_text())
    change(credential)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(credential))
    good = root / entries["eve"]["file"]
    code, out, _ = run_cli(capsys, "--course", root, "verify", bad, good)
    assert code == 1
    assert f"INVALID  {bad}" in out and reason in out
    assert f"VALID    {good}" in out  # the file after the bad one was still checked


def test_verify_of_a_json_array_or_a_directory_is_invalid_not_a_crash(issued, tmp_path, capsys):
    root, entries = issued
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    code, out, _ = run_cli(capsys, "--course", root, "verify", array, tmp_path, root / entries["eve"]["file"])
    assert code == 1
    assert "it is not a JSON object, so not a credential" in out
    assert f"INVALID  {tmp_path}" in out and "is a folder" in out
    assert out.count("VALID    ") == 1


# --- certify with a corrupt key --------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"garbage", b"", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
                         ids=["garbage", "empty", "truncated-pem"])
def test_certify_with_a_corrupt_key_names_the_file_and_writes_nothing(tmp_path_factory, tmp_path, capsys, content):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    assert run_cli(capsys, "--course", root, "keys")[0] == 0
    key = root / "keys" / "issuer-ed25519.pem"
    key.write_bytes(content)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    code, _, err = run_cli(capsys, "--course", root, "certify")
    assert code == 2
    assert str(key) in err and "not a readable Ed25519 private key" in err and "backup" in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # nothing written
    code, _, err = run_cli(capsys, "--course", root, "keys")
    assert code == 2 and str(key) in err and key.read_bytes() == content  # never replaced


# --- status with a corrupt outcomes.json ----------------------------------------------------------

@pytest.mark.parametrize("content, detail", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "must be a JSON object with an 'outcomes' list"),
    ('{"outcomes": {"ada": 1}}', "must be a JSON object with an 'outcomes' list"),
    ('{"outcomes": ["ada"]}', "entry 1 must be a JSON object"),
    ('{"outcomes": [{"student": "ada"}]}', "entry 1 has no 'lab'"),
    ('{"outcomes": [{"student": "ada", "lab": "01-data-matters", "status": "graded", "needs_review": "no"}]}',
     "entry 1: needs_review must be true or false"),
], ids=["not-json", "array", "outcomes-object", "entry-text", "entry-incomplete", "needs-review-text"])
def test_status_with_a_corrupt_outcomes_file_names_it_and_the_fix(tmp_path_factory, tmp_path, capsys, content, detail):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    path = root / "outcomes.json"
    path.write_text(content)
    before = tree(root)
    for command in ("status", "export", "report"):
        code, _, err = run_cli(capsys, "--course", root, command)
        assert code == 2, command
        assert str(path) in err and detail in err and "autograder grade" in err, (command, err)
    assert tree(root) == before and path.read_text() == content  # nothing written, the file kept as it was


# --- nothing graded yet --------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["export", "report", "status"])
def test_commands_on_a_course_with_no_gradebook_say_so_and_create_nothing(tmp_path, capsys, command):
    root = make_course(tmp_path / "course")
    before = tree(root)
    code, _, err = run_cli(capsys, "--course", root, command)
    assert code == 2 and "gradebook.db" in err and "autograder release" in err
    assert tree(root) == before


@pytest.mark.parametrize("command", ["export", "report", "status"])
def test_an_empty_gradebook_is_refused_not_exported_as_nothing(tmp_path, capsys, command):
    from cohort_builder import gradebook
    root = make_course(tmp_path / "course")
    gradebook(root).close()  # what a failed first run leaves: a gradebook with no lab in it
    before = tree(root)
    code, _, err = run_cli(capsys, "--course", root, command)
    assert code == 2 and "no lab" in err and "autograder release" in err
    assert tree(root) == before


def test_the_installed_command_prints_no_traceback_for_corrupt_outcomes(tmp_path_factory, tmp_path):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    (root / "outcomes.json").write_text("{not json")
    env = dict(os.environ, COLUMNS="200")
    done = subprocess.run([sys.executable, "-m", "autograder", "--course", str(root), "status"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "outcomes.json" in done.stderr
