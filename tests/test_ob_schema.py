"""Issued credentials validate against 1EdTech's Open Badges 3.0 JSON schema (pinned in autograder/credentials/schemas/)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import openbadge

KEY = Ed25519PrivateKey.generate()
ISSUER = openbadge.issuer_profile(KEY.public_key(), name="AI Certification Labs")
STATUS_LIST = "https://certificates.example.org/ai-certification-labs/status-list.json"


def _signed(*, labs: int = 14, valid_until: datetime | None = None, name: str = "Ada Lovelace",
            status_index: int | None = 7) -> dict:
    credential = openbadge.build_credential(
        issuer=ISSUER, course_id="ai-certification-labs", track_id="leader", track_title="AI Leader",
        track_description="Reads the evidence and decides.", criteria="At least 70 % on every required lab.",
        labs=[{"id": f"{n:02d}-lab", "title": f"Lab {n}", "share": n / 20, "required_share": 0.7}
              for n in range(labs)],
        learner_id="s-001", learner_name=name, valid_from=datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc),
        valid_until=valid_until,
    )
    if status_index is not None:  # the entry the status list engineer adds (common brief), signed with the rest
        credential["credentialStatus"] = {
            "id": f"{STATUS_LIST}#{status_index}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(status_index), "statusListCredential": STATUS_LIST}
    return openbadge.sign(credential, KEY, proof_set=True)


@pytest.mark.parametrize("kwargs", [
    {}, {"labs": 1}, {"valid_until": datetime(2029, 11, 1, tzinfo=timezone.utc)}, {"name": "Zoë O'Brien-Ñúñez"},
    {"status_index": None},
], ids=["14-labs", "1-lab", "expiring", "unicode-name", "no-status"])
def test_every_signed_credential_validates_against_the_ob_schema(kwargs):
    signed = _signed(**kwargs)
    assert openbadge.validate_ob_schema(signed) == []
    assert openbadge.check_proof(signed, KEY.public_key()) is None


@pytest.mark.parametrize("break_it, expected", [
    (lambda c: c["credentialSubject"]["achievement"].pop("name"),
     "credentialSubject.achievement: 'name' is a required"),
    (lambda c: c["issuer"].pop("id"), "issuer: "),
    (lambda c: c.pop("validFrom"), "the credential: 'validFrom' is a required property"),
    (lambda c: c["credentialSubject"]["achievement"].pop("criteria"), "credentialSubject.achievement: 'criteria'"),
    (lambda c: c.update({"@context": ["https://www.w3.org/2018/credentials/v1", openbadge.OB_CONTEXT]}),
     "@context[0]: 'https://www.w3.org/2018/credentials/v1' is not one of"),
    (lambda c: c["credentialSubject"]["result"][0].pop("type"), "credentialSubject.result[0]: 'type' is a required"),
    (lambda c: c.update({"proof": c["proof"][0]}), "proof: "),
], ids=["achievement-without-name", "issuer-without-id", "no-validFrom", "no-criteria", "vc-1.1-context",
        "result-without-type", "proof-not-a-list"])
def test_a_broken_credential_fails_the_schema_and_says_where(break_it, expected):
    broken = copy.deepcopy(_signed())
    break_it(broken)
    problems = openbadge.validate_ob_schema(broken)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_pinned_schema_is_1edtechs_and_refers_to_nothing_remote():
    schema = json.loads(openbadge.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    assert schema["$id"].startswith("https://purl.imsglobal.org/spec/ob/v3p0/schema/")
    assert schema["title"] == "JSON Schema for the AchievementCredential class."
    assert "validFrom" in schema["required"] and "issuanceDate" not in schema["properties"]
    refs = []

    def collect(node):
        if isinstance(node, dict):
            refs.extend(value for key, value in node.items() if key == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    assert refs and all(ref.startswith("#/$defs/") for ref in refs)


def test_a_json_type_change_that_rdf_signs_alike_passes_the_proof_but_fails_the_schema():
    """``"hashed": "false"`` is the same RDF literal as ``false`` (the OB context types it xsd:boolean), so
    the eddsa-rdfc-2022 proof still verifies; a JSON reader would take the string as true. The schema
    is what catches it, which is why a verifier should run both checks."""
    changed = copy.deepcopy(_signed())
    changed["credentialSubject"]["identifier"][0]["hashed"] = "false"
    assert openbadge.check_proof(changed, KEY.public_key()) is None
    assert openbadge.validate_ob_schema(changed) == [
        "credentialSubject.identifier[0].hashed: 'false' is not of type 'boolean'"]
