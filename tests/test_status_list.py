"""The published revocation list (W3C Bitstring Status List v1.0): its encoding, and revoke → verify.

The encoding is checked against bits placed by hand and decoded without py-multibase, and against
the example list in the W3C specification. The course cases use real keys and credentials issued
by `certify_cohort`, and the real CLI where an employer would use it (outside the course folder).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import status_list
from autograder.credentials.certify import certify_cohort
from autograder.cli import main
from autograder.credentials.openbadge import issuer_profile, sign, utc_now
from autograder.curriculum import CurriculumError, load_curriculum
from autograder.credentials.keys import load_private_key
from autograder.credentials.status_list import (
    LIST_BITS, build_list, decode, encode, get_bit, list_problems, pick_index, status_entry, with_bits,
)
from autograder.credentials.verify import revoke, verify_file
from cohort_builder import cohort_copy

URL = "https://certificates.example.org/ai-certification-labs/status-list.json"


# --- Encoding ----------------------------------------------------------------------------------

def _plain_decode(encoded: str) -> bytes:
    """encodedList decoded with the standard library only: 'u', base64url without padding, GZIP."""
    assert encoded[0] == "u" and "=" not in encoded
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def test_bit_zero_is_the_leftmost_bit_of_the_first_byte_and_the_last_index_the_rightmost():
    by_hand = bytearray(LIST_BITS // 8)
    by_hand[0] = 0b1000_0000    # index 0
    by_hand[1] = 0b0010_0000    # index 10 = byte 1, third bit from the left
    by_hand[-1] = 0b0000_0001   # index 131,071
    assert with_bits({0, 10, LIST_BITS - 1}) == bytes(by_hand)
    encoded = encode(by_hand)
    assert _plain_decode(encoded) == bytes(by_hand) == decode(encoded)
    assert [i for i in range(LIST_BITS) if get_bit(decode(encoded), i)] == [0, 10, LIST_BITS - 1]
    assert len(decode(encoded)) * 8 == 131_072
    assert encode(by_hand) == encoded  # GZIP header without a timestamp: the same bits, the same text


def test_the_example_list_in_the_w3c_specification_decodes_to_131072_unset_bits():
    # BitstringStatusListCredential example in the Recommendation of 2025-05-15 (w3c/vc-bitstring-status-list).
    example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    bits = decode(example)
    assert len(bits) * 8 == LIST_BITS and not any(bits)
    assert _plain_decode(encode(bits)) == bits


@pytest.mark.parametrize("encoded, reason", [
    ("zH4sIAAAA", "must be a multibase base64url string"),
    ("u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="), "not GZIP-compressed"),
    (encode(bytes(1024)), "fewer than the 131,072"),
    (None, "must be a multibase base64url string"),
], ids=["other-base", "not-gzip", "too-short", "missing"])
def test_a_malformed_encoded_list_is_refused(encoded, reason):
    with pytest.raises(ValueError, match=reason):
        decode(encoded)


def test_indexes_are_random_and_never_reused():
    drawn = {pick_index(set()) for _ in range(20)}
    assert len(drawn) > 15 and all(0 <= i < LIST_BITS for i in drawn)  # 20 draws of 131,072: not sequential
    all_but_one = set(range(LIST_BITS)) - {77_777}
    assert pick_index(all_but_one) == 77_777
    with pytest.raises(status_list.StatusListError, match="All 131,072 positions"):
        pick_index(set(range(LIST_BITS)))


# --- The list credential -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def signer():
    key = Ed25519PrivateKey.generate()
    return key, issuer_profile(key.public_key(), name="Test issuer")


def _signed_list(signer, **changes):
    key, issuer = signer
    document = build_list(URL, issuer, {3}, datetime(2026, 1, 1, tzinfo=timezone.utc))
    document.update(changes)
    return sign(document, key)


def test_a_signed_list_is_accepted_and_its_bits_read(signer):
    problems, bits = list_problems(_signed_list(signer), issuer=signer[1], url=URL)
    assert problems == [] and get_bit(bits, 3) and not get_bit(bits, 2)


@pytest.mark.parametrize("changes, reason", [
    ({"id": "https://elsewhere.example/list.json"}, f"not {URL}, the list the credential names"),
    ({"validFrom": "2099-01-01T00:00:00Z"}, "it is not valid yet"),
    ({"validUntil": "2026-02-01T00:00:00Z"}, "it expired on 2026-02-01T00:00:00Z"),
    ({"type": ["VerifiableCredential"]}, "it is not a BitstringStatusListCredential"),
], ids=["other-url", "not-yet", "expired", "not-a-list"])
def test_a_list_that_is_not_the_right_one_is_refused(signer, changes, reason):
    problems, _ = list_problems(_signed_list(signer, **changes), issuer=signer[1], url=URL,
                                now=datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert any(reason in problem for problem in problems), problems


def test_a_list_for_another_purpose_or_from_another_issuer_is_refused(signer):
    suspension = _signed_list(signer)
    suspension["credentialSubject"]["statusPurpose"] = "suspension"
    suspension = sign({k: v for k, v in suspension.items() if k != "proof"}, signer[0])
    problems, _ = list_problems(suspension, issuer=signer[1], url=URL)
    assert problems == ["it is a list for 'suspension', not for 'revocation'"]
    stranger = Ed25519PrivateKey.generate()
    other = issuer_profile(stranger.public_key(), name="Someone else")
    problems, _ = list_problems(_signed_list((stranger, other)), issuer=signer[1], url=URL)
    assert any("not by the trusted issuer" in p for p in problems)
    assert any("not a key the trusted issuer publishes" in p for p in problems)
    assert any(p.startswith("signature check failed") for p in problems)


# --- The course setting ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["http://certificates.example.org/c/", "https://certificates.example.org/c",
                                   "certificates.example.org/c/", "https://example.org/c/?x=1/"])
def test_a_publish_url_that_is_not_an_https_folder_is_refused_naming_the_file(tmp_path, value):
    shutil.copy2(Path(__file__).resolve().parents[1] / "curriculum.yml", tmp_path / "curriculum.yml")
    text = (tmp_path / "curriculum.yml").read_text(encoding="utf-8")
    old = "publish_url: https://certificates.example.org/ai-certification-labs/"
    assert old in text
    (tmp_path / "curriculum.yml").write_text(text.replace(old, f"publish_url: '{value}'"), encoding="utf-8")
    with pytest.raises(CurriculumError, match=r"curriculum.yml is not a valid curriculum:\n  - course: publish_url "
                                              r"must be the https address .* ending in '/'"):
        load_curriculum(tmp_path)


# --- Certify, revoke, verify -------------------------------------------------------------------

@pytest.fixture
def course(tmp_path_factory, tmp_path):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    result = certify_cohort(root)
    entries = {e["student"]: e for e in result.issued if e["track"] == "practitioner"}
    return root, entries["ada"], entries["eve"]


def _list_file(root: Path) -> Path:
    return root / "certificates" / "status-list.json"


def _set_bit_without_signing(path: Path, index: int) -> None:
    document = json.loads(path.read_text())
    bits = bytearray(decode(document["credentialSubject"]["encodedList"]))
    bits[index // 8] |= 0x80 >> (index % 8)
    document["credentialSubject"]["encodedList"] = encode(bytes(bits))
    path.write_text(json.dumps(document))


def test_revoking_sets_the_credentials_bit_in_the_signed_list_and_verify_fails_it(course):
    root, ada, eve = course
    assert verify_file(root / ada["file"], course_root=root).ok
    before = json.loads(_list_file(root).read_text())
    assert not any(decode(before["credentialSubject"]["encodedList"]))
    revoke(root, ada["code"], "grades were entered in error")
    document = json.loads(_list_file(root).read_text())
    problems, bits = list_problems(document, issuer=json.loads((root / "certificates/issuer.json").read_text()),
                                   url=URL)
    assert problems == [] and document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert [i for i in range(LIST_BITS) if get_bit(bits, i)] == [ada["status_index"]]
    (reason,) = verify_file(root / ada["file"], course_root=root).reasons
    assert reason.startswith(f"revoked by the issuer (status list {URL}, index {ada['status_index']}): "
                             "grades were entered in error (revoked on 20")
    assert verify_file(root / eve["file"], course_root=root).ok


def test_revoking_twice_changes_nothing(course):
    root, ada, _ = course
    revoke(root, ada["code"], "first")
    written = _list_file(root).read_bytes()
    record = revoke(root, ada["file"], "second", now=utc_now() + timedelta(days=3))
    assert record["reason"] == "first"
    assert _list_file(root).read_bytes() == written
    assert len(json.loads((root / "certificates/revocations.json").read_text())["revoked"]) == 1


def test_an_employer_outside_the_course_checks_revocation_with_the_published_files(course, tmp_path, monkeypatch,
                                                                                   capsys):
    root, ada, _ = course
    employer = tmp_path / "employer"
    employer.mkdir()
    monkeypatch.chdir(employer)  # no curriculum.yml here or above: nothing of the course is at hand
    credential = shutil.copy2(root / ada["file"], employer / "ada.json")
    issuer = shutil.copy2(root / "certificates/issuer.json", employer / "issuer.json")
    published = employer / "status-list.json"
    shutil.copy2(_list_file(root), published)
    args = ["verify", str(credential), "--issuer", str(issuer), "--status-list", str(published)]
    assert main(args) == 0
    assert "VALID    " in capsys.readouterr().out
    # Without the list the status cannot be checked: INVALID, and the message says what to pass.
    assert main(args[:4]) == 1
    printed = capsys.readouterr().out
    assert "INVALID" in printed and f"Pass an authentic copy of the list published at {URL} with --status-list" \
        in printed
    # The instructor revokes and publishes the list again; the employer's fresh copy fails the credential.
    revoke(root, ada["code"], "academic misconduct")
    shutil.copy2(_list_file(root), published)
    assert main(args) == 1
    printed = capsys.readouterr().out
    assert f"revoked by the issuer (status list {URL}, index {ada['status_index']})" in printed
    assert "academic misconduct" not in printed  # the reason stays in the instructor's record


def test_a_list_with_a_bit_flipped_but_not_signed_again_makes_the_credential_invalid(course, tmp_path):
    root, ada, _ = course
    forged = tmp_path / "forged-list.json"
    shutil.copy2(_list_file(root), forged)
    _set_bit_without_signing(forged, ada["status_index"])
    outcome = verify_file(root / ada["file"], course_root=root, status_list_path=forged)
    (reason,) = outcome.reasons
    assert reason.startswith(f"its revocation status cannot be checked: the status list {forged} cannot be trusted "
                             "(signature check failed: the signature does not match its content")
    assert reason.endswith(f"Pass an authentic copy of the list published at {URL} with --status-list FILE.")
    # The course's own file forged the same way: certify writes the true list again.
    _set_bit_without_signing(_list_file(root), ada["status_index"])
    assert not verify_file(root / ada["file"], course_root=root).ok
    assert certify_cohort(root).status_list_written == URL
    assert verify_file(root / ada["file"], course_root=root).ok


def test_a_missing_or_unreadable_list_makes_the_credential_invalid_and_names_the_fix(course, tmp_path):
    root, ada, _ = course
    _list_file(root).unlink()
    (reason,) = verify_file(root / ada["file"], course_root=root).reasons
    assert reason == (f"its revocation status cannot be checked: the status list file {_list_file(root)} does not "
                      f"exist. Pass an authentic copy of the list published at {URL} with --status-list FILE.")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    (reason,) = verify_file(root / ada["file"], course_root=root, status_list_path=broken).reasons
    assert f"the status list file {broken} is not valid JSON" in reason and "--status-list FILE" in reason


def test_a_changed_status_entry_breaks_the_credentials_signature(course, tmp_path):
    root, ada, eve = course
    revoke(root, ada["code"], "misconduct")
    credential = json.loads((root / ada["file"]).read_text())
    credential["credentialStatus"] = status_entry(URL, eve["status_index"])  # point at an unrevoked position
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(credential))
    reasons = verify_file(path, course_root=root).reasons
    assert any(r.startswith("signature check failed") for r in reasons), reasons
    assert any(r.startswith("revoked on ") for r in reasons), reasons  # the instructor's record still knows it


def test_an_old_credential_without_a_status_entry_is_still_revoked_through_revocations_json(course, tmp_path):
    root, ada, _ = course
    old = copy.deepcopy(json.loads((root / ada["file"]).read_text()))
    del old["credentialStatus"], old["proof"]
    old["id"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(sign(old, load_private_key(root))))
    assert verify_file(path, course_root=root).ok
    written = _list_file(root).read_bytes()
    record = revoke(root, str(path), "issued by mistake")
    assert "status_index" not in record
    assert _list_file(root).read_bytes() == written  # no bit of anyone else's is touched
    (reason,) = verify_file(path, course_root=root).reasons
    assert reason.startswith("revoked on ") and reason.endswith("by the issuer: issued by mistake")


def test_revoking_without_the_issuer_key_records_it_and_says_to_restore_the_key_not_make_one(course):
    root, ada, _ = course
    key_file = root / "keys" / "issuer-ed25519.pem"
    key_file.rename(root / "key-backup.pem")
    with pytest.raises(status_list.StatusListError, match="Restore the issuer key from your backup") as raised:
        revoke(root, ada["code"], "misconduct")
    assert "autograder keys" not in str(raised.value)
    assert json.loads((root / "certificates/revocations.json").read_text())["revoked"][0]["id"] == ada["id"]
    (root / "key-backup.pem").rename(key_file)
    revoke(root, ada["code"], "misconduct")  # run again: now the list shows it
    assert not verify_file(root / ada["file"], course_root=root).ok
    listed = json.loads(_list_file(root).read_text())["credentialSubject"]["encodedList"]
    assert get_bit(decode(listed), ada["status_index"])


def test_revoking_an_edited_file_does_not_set_the_bit_of_the_credential_it_now_points_at(course, tmp_path):
    root, ada, eve = course
    edited = json.loads((root / ada["file"]).read_text())
    edited["id"] = "urn:uuid:00000000-0000-4000-8000-000000000002"   # unknown to the ledger
    edited["credentialStatus"] = status_entry(URL, eve["status_index"])  # and pointing at eve's position
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    record = revoke(root, str(path), "not ours")
    assert "status_index" not in record
    assert verify_file(root / eve["file"], course_root=root).ok


@pytest.mark.parametrize("entry, reason", [
    ("https://example.org/list", "credentialStatus must be a JSON object"),
    ({**status_entry(URL, 5), "statusListIndex": 5}, "statusListIndex must be a whole number written as a string"),
    ({**status_entry(URL, 5), "statusPurpose": "suspension"}, "only 'revocation' is checked"),
    ({**status_entry(URL, 5), "type": "1EdTechRevocationList"}, "checks BitstringStatusListEntry only"),
], ids=["not-object", "number-index", "suspension", "other-type"])
def test_a_status_entry_this_verifier_cannot_check_fails_closed(signer, entry, reason):
    def load(url):
        return _signed_list(signer), "list.json"
    check = status_list.check_status(entry, issuer=signer[1], load=load)
    assert not check.revoked
    (problem,) = check.problems
    assert problem.startswith("its revocation status cannot be checked: ") and reason in problem


def test_an_index_beyond_the_list_fails_closed(signer):
    check = status_list.check_status(status_entry(URL, LIST_BITS), issuer=signer[1],
                                     load=lambda url: (_signed_list(signer), "list.json"))
    assert check.problems and "index 131072 is beyond its 131072 entries" in check.problems[0]
