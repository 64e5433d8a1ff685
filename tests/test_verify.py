"""Verifying certificates: every way a credential can be wrong fails, with a reason that says which.

Real Ed25519 keys, real credentials issued by `certify_cohort` from a real nbgrader gradebook.
"""

from __future__ import annotations

import argparse
import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import openbadge, data_integrity, verify
from autograder.credentials.certify import certify_cohort
from autograder.credentials.openbadge import canonical_json, issuer_profile, private_key_from_multibase, sign
from autograder.credentials.verify import revoke, verify_credential, verify_file
from cohort_builder import cohort_copy


# --- The signature scheme against the W3C test vector ------------------------------------------

# From the W3C VC Data Integrity EdDSA test vectors (w3c/vc-di-eddsa, TestVectors/keyPair.json and
# TestVectors/eddsa-jcs-2022/signedJCS.json): Ed25519 is deterministic, so the same key, document and
# proof options must give exactly the published proofValue.
W3C_PRIVATE_KEY = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
W3C_DOCUMENT = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
W3C_PROOF = {
    "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2023-02-24T23:36:38Z",
    "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "proofPurpose": "assertionMethod", "@context": W3C_DOCUMENT["@context"],
}
W3C_PROOF_VALUE = "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"


def test_signatures_match_the_w3c_eddsa_jcs_2022_test_vector():
    key = private_key_from_multibase(W3C_PRIVATE_KEY)
    assert openbadge.public_key_multibase(key.public_key()) == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    signature = key.sign(data_integrity.hash_data(data_integrity.EddsaJcs2022(), W3C_DOCUMENT, W3C_PROOF))
    assert openbadge.multibase_b58(signature) == W3C_PROOF_VALUE
    signed = {**W3C_DOCUMENT, "proof": {**W3C_PROOF, "proofValue": W3C_PROOF_VALUE}}
    assert openbadge.check_proof(signed, key.public_key()) is None
    signed["name"] = "Alumni Credential!"
    assert "does not match" in openbadge.check_proof(signed, key.public_key())


@pytest.mark.parametrize("value, text", [
    (1.0, "1"), (0.1, "0.1"), (1e21, "1e+21"), (1e-7, "1e-7"), (123.456, "123.456"), (-0.5, "-0.5"),
])
def test_canonical_json_writes_numbers_as_rfc_8785_does(value, text):
    assert canonical_json(value) == text
    assert canonical_json({"b": [value, "é\n"], "a": None}) == f'{{"a":null,"b":[{text},"é\\n"]}}'


# --- Issued credentials ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """A course with certificates issued (one expiring) and a copy of Ada's credential."""
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("verify") / "course")
    result = certify_cohort(root)
    ada = next(entry for entry in result.issued if entry["student"] == "ada")
    return root, ada


def _load(root: Path, entry: dict) -> dict:
    return json.loads((root / entry["file"]).read_text())


def _check(root: Path, credential: dict, tmp_path: Path, **kwargs):
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential, indent=2))
    return verify_file(path, course_root=root, **kwargs)


def test_a_valid_credential_verifies(issued, capsys):
    root, ada = issued
    outcome = verify_file(root / ada["file"], course_root=root)
    assert outcome.ok, outcome.reasons
    assert (outcome.name, outcome.learner_id, outcome.track, outcome.code) == (
        "Ada Lovelace", "ada", "AI Practitioner", ada["code"])
    assert outcome.status_checked  # its credentialStatus was looked up in the course's signed list
    args = argparse.Namespace(course=root, files=[root / ada["file"]], code=[ada["code"]], issuer=None,
                              revocations=None, status_list=None)
    assert verify.run_verify(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("VALID    ") == 2 and "Ada Lovelace" in printed
    assert printed.count("not revoked (status list checked)") == 2


def _tamper_name(credential):
    credential["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory Smith"


def _tamper_score(credential):
    subject = credential["credentialSubject"]
    lab03 = next(d["id"] for d in subject["achievement"]["resultDescription"] if d["name"].startswith("03-"))
    next(r for r in subject["result"] if r["resultDescription"] == lab03)["value"] = "100"


def _tamper_track(credential):
    credential["credentialSubject"]["achievement"]["name"] = "AI Leader"
    credential["credentialSubject"]["achievement"]["tag"][0] = "leader"


def _tamper_date(credential):
    credential["validFrom"] = "2020-01-01T00:00:00Z"


@pytest.mark.parametrize("tamper, reason", [
    (_tamper_name, "the learner's name reads 'Mallory Smith' but 'Ada Lovelace' was issued"),
    (_tamper_score, "the result for 03-how-models-learn reads 100 % but 90 % was issued"),
    (_tamper_track, "the track reads 'AI Leader' but 'AI Practitioner' was issued"),
    (_tamper_date, "the issue date reads 2020-01-01T00:00:00Z but"),
], ids=["name", "score", "track", "date"])
def test_a_tampered_credential_fails_and_says_what_changed(issued, tmp_path, tamper, reason):
    root, ada = issued
    credential = _load(root, ada)
    tamper(credential)
    outcome = _check(root, credential, tmp_path)
    assert not outcome.ok
    (message,) = outcome.reasons
    assert message.startswith("signature check failed: the signature does not match its content")
    assert reason in message
    # Without the course's ledger (a third party), the reason is still clear, just less specific.
    published_list = verify.status_list_loader(list_file=root / "certificates/status-list.json")
    third_party = verify_credential(credential, issuer=json.loads((root / "certificates/issuer.json").read_text()),
                                    status_lists=published_list)
    assert third_party.reasons == ["signature check failed: the signature does not match its content: it was "
                                   "changed after signing, or signed with another key"]


def test_a_credential_from_another_key_fails(issued, tmp_path):
    root, ada = issued
    credential = _load(root, ada)
    other_key = Ed25519PrivateKey.generate()
    other_issuer = issuer_profile(other_key.public_key(), name="Someone Else")
    # Checked against a different issuer's profile: wrong issuer, and its key does not fit.
    outcome = verify_credential(credential, issuer=other_issuer)
    assert any(r.startswith("wrong issuer: it names did:key:") for r in outcome.reasons)
    assert any(r.startswith("wrong key:") for r in outcome.reasons)
    assert any(r.startswith("signature check failed") for r in outcome.reasons)
    # A forgery: the content changed and re-signed with another key, still naming the course as issuer.
    forged = copy.deepcopy(credential)
    _tamper_name(forged)
    forged = sign({k: v for k, v in forged.items() if k != "proof"}, other_key)
    outcome = _check(root, forged, tmp_path)
    assert not outcome.ok
    assert any("wrong key: it was signed with did:key:" in r for r in outcome.reasons)
    assert any("signature check failed" in r for r in outcome.reasons)


def test_an_expired_credential_fails(tmp_path_factory):
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("expiry") / "course")
    issued_at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    result = certify_cohort(root, valid_days=365, now=issued_at)
    entry = result.issued[0]
    assert entry["valid_until"] == "2026-01-01T00:00:00Z"
    path = root / entry["file"]
    assert verify_file(path, course_root=root, now=issued_at + timedelta(days=364)).ok
    outcome = verify_file(path, course_root=root, now=issued_at + timedelta(days=366))
    assert outcome.reasons == ["expired: it was valid until 2026-01-01T00:00:00Z (checked at 2026-01-02T00:00:00Z)"]
    not_yet = verify_file(path, course_root=root, now=issued_at - timedelta(days=1))
    # The status list was written at the same moment, so it is not valid yet either (fail closed).
    assert not_yet.reasons[0] == "not valid yet: valid from 2025-01-01T00:00:00Z"
    assert "it is not valid yet (valid from 2025-01-01T00:00:00Z)" in not_yet.reasons[1]
    assert "valid until 1 January 2026" in (root / entry["page"]).read_text()


def test_a_revoked_credential_fails(tmp_path_factory, capsys):
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("revoke") / "course")
    entry = next(e for e in certify_cohort(root).issued if e["student"] == "eve")
    path = root / entry["file"]
    assert verify_file(path, course_root=root).ok
    args = argparse.Namespace(course=root, target=entry["code"].lower(), reason="grades were entered in error")
    assert verify.run_revoke(args) == 0
    assert "Revoked" in capsys.readouterr().out
    outcome = verify_file(path, course_root=root)
    (reason,) = outcome.reasons
    url = "https://certificates.example.org/ai-certification-labs/status-list.json"
    assert reason.startswith(f"revoked by the issuer (status list {url}, index {entry['status_index']}): "
                             "grades were entered in error (revoked on ")
    args = argparse.Namespace(course=root, files=[path], code=[], issuer=None, revocations=None, status_list=None)
    assert verify.run_verify(args) == 1
    assert "INVALID" in capsys.readouterr().out
    # Revoking again changes nothing; an unknown code is a clear error.
    revoke(root, entry["code"], "again")
    assert len(json.loads((root / "certificates/revocations.json").read_text())["revoked"]) == 1
    with pytest.raises(Exception, match="No certificate matches"):
        revoke(root, "AAAA-BBBB-CCCC", "nope")


def test_files_that_are_not_credentials_fail_clearly(issued, tmp_path):
    root, ada = issued
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert verify_file(bad, course_root=root).reasons[0].startswith("it is not valid JSON")
    assert verify_file(tmp_path / "absent.json", course_root=root).reasons == ["the file does not exist"]
    unsigned = _load(root, ada)
    del unsigned["proof"]
    reasons = _check(root, unsigned, tmp_path).reasons
    assert reasons == ["signature check failed: it carries no proof (signature), so nothing shows who issued it"]
    assert verify_credential({"type": ["VerifiableCredential"]}, issuer={}).reasons[0].startswith(
        "it is not an OpenBadgeCredential")
