"""Issuer keys and certification, on a real nbgrader gradebook (see cohort_builder.py for the cohort).

The sample cohort: ada and eve pass every practitioner lab; cam passes but has lab 04 under review;
ben has 40 % on lab 03; dee never submitted lab 05. Each learner has the same share on every lab of
either track, so the leader track's outcome mirrors the practitioner one where their labs overlap.
"""

from __future__ import annotations

import argparse
import json
import re
import stat
from pathlib import Path

import pytest

from autograder.credentials import certify, keys, status_list
from autograder.credentials.certify import certify_cohort
from autograder.credentials.openbadge import CONTEXTS, learner, profile_public_key, public_key_multibase, validate_ob_schema
from autograder.curriculum import CurriculumError, load_curriculum
from autograder.credentials.keys import IssuerKeyError, create_issuer_key, load_private_key
from autograder.credentials.ledger import load_ledger
from cohort_builder import cohort_copy, flag_for_review, set_result

# The practitioner track's labs, as curriculum.yml lists them (the credential must cover exactly these).
PRACTITIONER_LABS = list(next(t for t in load_curriculum(Path(__file__).resolve().parents[1]).tracks
                              if t.id == "practitioner").labs)


@pytest.fixture
def course(tmp_path_factory, tmp_path) -> Path:
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    flag_for_review(root, "cam", "04-checking-results", "the kernel died during grading")
    return root


def _args(course: Path, **extra) -> argparse.Namespace:
    return argparse.Namespace(course=course, **extra)


def test_keys_are_owner_only_and_never_printed(course, capsys):
    assert keys.run(_args(course)) == 0
    printed = capsys.readouterr().out
    key_file = course / "keys" / "issuer-ed25519.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    pem = key_file.read_text()
    assert "PRIVATE KEY" in pem
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    assert body not in printed and "PRIVATE KEY" not in printed
    # The public key is published in the issuer profile, and it is the key's own public half.
    profile = json.loads((course / "certificates" / "issuer.json").read_text())
    assert profile["type"] == ["Profile"] and profile["id"].startswith("did:key:z6Mk")
    published = profile_public_key(profile)
    assert public_key_multibase(published) == public_key_multibase(load_private_key(course).public_key())
    assert profile["id"] in printed
    # Running it again replaces nothing.
    assert keys.run(_args(course)) == 0
    assert key_file.read_text() == pem
    assert "already exists" in capsys.readouterr().out
    with pytest.raises(IssuerKeyError, match="already exists"):
        create_issuer_key(course)


def test_a_group_readable_key_is_refused(course):
    create_issuer_key(course)
    key_file = course / "keys" / "issuer-ed25519.pem"
    key_file.chmod(0o644)
    with pytest.raises(IssuerKeyError, match="chmod 600"):
        load_private_key(course)


def test_certify_command_asks_for_keys_first(course):
    with pytest.raises(IssuerKeyError, match="autograder keys"):
        certify.run(_args(course, valid_days=None))
    assert not (course / "certificates" / "practitioner").exists()


def test_certificates_go_to_learners_who_meet_the_rule(course, capsys):
    keys.run(_args(course))
    assert certify.run(_args(course, valid_days=None)) == 0
    printed = capsys.readouterr().out
    ledger = load_ledger(course)
    assert sorted(entry["student"] for entry in ledger if entry["track"] == "practitioner") == ["ada", "eve"]
    ben = re.search(r"Not yet: Ben Okafor for AI Practitioner: 03-how-models-learn at (\d+\.\d) % \(needs 70 %\)",
                    printed)
    assert ben and float(ben.group(1)) < 70, printed
    assert "Not yet: Dee Ramos for AI Practitioner: no submission for 05-monitoring" in printed
    assert "Cam Nguyen for AI Practitioner: 04-checking-results is under review: the kernel died" in printed
    # The leader track requires leader labs only; ada passes them all and holds both certificates.
    leader_holders = sorted(entry["student"] for entry in ledger if entry["track"] == "leader")
    assert "ada" in leader_holders and "ben" in leader_holders, leader_holders
    assert list((course / "certificates" / "leader").glob("ada-*.json"))


def test_a_track_that_lists_a_planned_lab_is_said_to_be_unavailable(course, capsys):
    curriculum_file = course / "curriculum.yml"
    text = curriculum_file.read_text(encoding="utf-8")
    text = text.replace("    labs: [11-responsible-ai,", "    labs: [99-later, 11-responsible-ai,", 1)
    curriculum_file.write_text(text + "  - {id: 99-later, title: A lab still to come, status: planned}\n",
                               encoding="utf-8")
    assert "99-later" in next(t for t in load_curriculum(course).tracks if t.id == "leader").labs
    keys.run(_args(course))
    assert certify.run(_args(course, valid_days=None)) == 0
    printed = capsys.readouterr().out
    assert "Track 'leader' (AI Leader) cannot be earned yet" in printed and "99-later" in printed
    assert not (course / "certificates" / "leader").exists()
    assert list((course / "certificates" / "practitioner").glob("ada-*.json"))


def test_the_credential_is_an_open_badge_and_the_page_is_printable(course):
    result = certify_cohort(course)
    assert result.key_created  # certify_cohort (the demo's entry point) creates a missing key and says so
    assert "created keys/issuer-ed25519.pem" in result.summary()
    entry = next(e for e in result.issued if e["student"] == "ada")
    credential = json.loads((course / entry["file"]).read_text())
    assert credential["@context"] == CONTEXTS
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == json.loads((course / "certificates/issuer.json").read_text())["id"]
    assert credential["validFrom"].endswith("Z") and "validUntil" not in credential
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "AI Practitioner"
    assert "70 %" in achievement["criteria"]["narrative"]
    assert [d["name"].split(":")[0] for d in achievement["resultDescription"]] == PRACTITIONER_LABS
    assert [r["value"] for r in credential["credentialSubject"]["result"]] == ["90"] * len(PRACTITIONER_LABS)
    assert learner(credential) == ("Ada Lovelace", "ada")
    [proof] = credential["proof"]  # a set of one proof: the form the OB 3.0 schema requires
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert validate_ob_schema(credential) == []
    # Its revocation status: a position in the course's published list, as the ledger records it.
    url = "https://certificates.example.org/ai-certification-labs/status-list.json"
    assert credential["credentialStatus"] == {
        "id": f"{url}#{entry['status_index']}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": str(entry["status_index"]), "statusListCredential": url}
    assert (course / "certificates" / "status-list.json").is_file()
    # The offline verification page, published with issuer.json and beside the certificates, trusts this issuer.
    issuer_id = credential["issuer"]["id"]
    for folder in (course / "certificates", course / "certificates" / "practitioner"):
        assert issuer_id in (folder / "verify.html").read_text(encoding="utf-8")
    assert f"publish it at {url}" in result.summary()
    page = (course / entry["page"]).read_text()
    for text in ("Ada Lovelace", "AI Practitioner", entry["code"], "@page", "01-data-matters"):
        assert text in page
    day = credential["validFrom"][:10]
    from datetime import date
    issued = date.fromisoformat(day)
    assert f"{issued.day} {issued:%B %Y}" in page
    # It loads nothing from the network; its only addresses are the course's published files.
    assert "src=\"http" not in page and "<link" not in page
    assert all(address.startswith(load_curriculum(course).publish_url)
               for address in re.findall(r"https?://[^\s\"'<>]+", page))


def test_certifying_twice_issues_nothing_new(course):
    first = certify_cohort(course)
    files = sorted(p.name for p in (course / "certificates" / "practitioner").iterdir())
    second = certify_cohort(course)
    issued = len(first.issued)
    assert sum(e["track"] == "practitioner" for e in first.issued) == 2 and issued > 2  # leaders too
    assert second.issued == [] and len(second.unchanged) == issued
    assert f"{issued} certificate(s) already issued and unchanged" in second.summary()
    assert sorted(p.name for p in (course / "certificates" / "practitioner").iterdir()) == files
    assert len(load_ledger(course)) == issued


def test_a_change_is_issued_afresh_and_the_old_one_superseded(course):
    certify_cohort(course)
    set_result(course, "ada", "01-data-matters", 0.95)
    again = certify_cohort(course)
    assert [e["student"] for e in again.issued] == ["ada"]
    new = again.issued[0]
    assert new["labs"]["01-data-matters"] == "95"
    old = next(e for e in load_ledger(course) if e["id"] == new["replaces"])
    assert old["status"] == "superseded" and old["superseded_by"] == new["id"]
    assert "reissued: something changed" in again.summary()


def test_a_learner_who_drops_below_the_rule_is_reported_not_silently_kept(course):
    certify_cohort(course)
    set_result(course, "ada", "03-how-models-learn", 0.5)
    later = certify_cohort(course)
    assert later.issued == []
    (entry, reasons), = later.dropped
    assert entry["student"] == "ada"
    assert reasons == ["03-how-models-learn at 50 % (needs 70 %)"]
    summary = later.summary()
    assert "ATTENTION: Ada Lovelace holds AI Practitioner certificate" in summary
    assert f"autograder revoke {entry['code']}" in summary
    # A review flag raised after certification is reported the same way.
    flag_for_review(course, "eve", "02-preparing-data", "answer looks copied")
    assert any(e["student"] == "eve" and "02-preparing-data is under review" in r[0]
               for e, r in certify_cohort(course).dropped)


def test_a_revoked_certificate_is_not_reissued(course):
    from autograder.credentials.verify import revoke
    result = certify_cohort(course)
    ada = next(e for e in result.issued if e["student"] == "ada")
    revoke(course, ada["code"], "academic misconduct")
    set_result(course, "ada", "01-data-matters", 1.0)
    later = certify_cohort(course)
    assert later.issued == []
    assert [(e["student"], why) for e, why in later.held_back] == [("ada", "academic misconduct")]


def test_the_commands_are_wired_into_the_autograder_cli(course, capsys):
    from autograder.cli import main
    assert main(["--course", str(course), "certify"]) == 2
    assert "run `autograder keys` once" in capsys.readouterr().err
    assert main(["--course", str(course), "keys"]) == 0
    assert main(["--course", str(course), "certify", "--valid-days", "730"]) == 0
    code = next(e["code"] for e in load_ledger(course) if e["student"] == "ada")
    assert main(["--course", str(course), "verify", "--code", code]) == 0
    assert main(["--course", str(course), "revoke", code, "--reason", "test"]) == 0
    assert main(["--course", str(course), "verify", "--code", code]) == 1
    assert main(["--course", str(course), "report"]) == 0
    printed = capsys.readouterr().out
    assert "valid until" in printed and "revoked on" in printed and "cohort.html" in printed


def test_without_a_publish_url_nothing_is_issued_and_the_message_says_what_to_set(course):
    curriculum_file = course / "curriculum.yml"
    text = curriculum_file.read_text(encoding="utf-8")
    line = "  publish_url: https://certificates.example.org/ai-certification-labs/\n"
    assert line in text
    curriculum_file.write_text(text.replace(line, ""), encoding="utf-8")
    with pytest.raises(CurriculumError, match=r"has no course.publish_url.*Add the address where you publish the "
                                              r"certificates/ folder under `course:`"):
        certify_cohort(course)
    assert not (course / "certificates").exists() and not (course / "keys").exists()


def test_each_credential_gets_its_own_status_list_position_and_a_reissue_a_new_one(course, monkeypatch):
    # A random source that repeats every draw once: a position already given must be drawn again.
    draws = iter(n for n in range(1000, 2000) for _ in (0, 1))
    monkeypatch.setattr(status_list.secrets, "randbelow", lambda limit: next(draws))
    first = certify_cohort(course)
    indexes = [e["status_index"] for e in first.issued]
    assert len(set(indexes)) == len(indexes) > 2
    for entry in first.issued:
        status = json.loads((course / entry["file"]).read_text())["credentialStatus"]
        assert status["statusListIndex"] == str(entry["status_index"])
    listed = (course / "certificates" / "status-list.json").read_bytes()
    set_result(course, "ada", "01-data-matters", 0.95)
    again = certify_cohort(course)
    (new,) = again.issued
    old = next(e for e in load_ledger(course) if e["id"] == new["replaces"])
    assert new["status_index"] not in indexes and old["status_index"] in indexes
    assert again.status_list_written == ""  # nothing was revoked: the published list stays as it was
    assert (course / "certificates" / "status-list.json").read_bytes() == listed
