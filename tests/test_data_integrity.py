"""Data Integrity proofs: the W3C and 1EdTech test vectors step by step, safe mode, and no network.

The vectors (tests/data/w3c/, origin in its README) fix every intermediate value: canonical N-Quads,
their SHA-256, the hash data, and, Ed25519 being deterministic, the signature itself.
"""

from __future__ import annotations

import copy
import hashlib
import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import openbadge, data_integrity, jsonld
from autograder.credentials.data_integrity import EddsaJcs2022, EddsaRdfc2022, hash_data

W3C = Path(__file__).parent / "data" / "w3c"
TEST_CONTEXTS = {
    "https://www.w3.org/ns/credentials/examples/v2": W3C / "contexts" / "credentials-examples-v2.json",
    "https://w3id.org/citizenship/v4rc1": W3C / "contexts" / "citizenship-v4rc1.json",
}
KEY_PAIR = json.loads((W3C / "keyPair.json").read_text())
W3C_KEY = openbadge.private_key_from_multibase(KEY_PAIR["privateKeyMultibase"])


@pytest.fixture
def vector_loader(monkeypatch):
    """The package's loader plus the contexts the W3C vectors use (pinned for the tests only)."""
    loader = jsonld.PinnedLoader(TEST_CONTEXTS)
    monkeypatch.setattr(jsonld, "DEFAULT_LOADER", loader)
    return loader


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- W3C eddsa-rdfc-2022 -----------------------------------------------------------------------

RDFC_SETS = {"base": (W3C / "eddsa-rdfc-2022", W3C / "unsigned.json"),
             "employ": (W3C / "eddsa-rdfc-2022" / "employ", W3C / "employmentAuth.json")}


@pytest.mark.parametrize("name", RDFC_SETS)
def test_eddsa_rdfc_2022_reproduces_every_step_of_the_w3c_vector(name, vector_loader):
    folder, unsigned_path = RDFC_SETS[name]
    unsigned = json.loads(_text(unsigned_path))
    options = json.loads(_text(folder / "proofConfigDataInt.json"))
    suite = EddsaRdfc2022(vector_loader)

    canonical_document = suite.transform(unsigned)
    assert canonical_document.decode() == _text(folder / "canonDocDataInt.txt")
    assert hashlib.sha256(canonical_document).hexdigest() == _text(folder / "docHashDataInt.txt").strip()
    canonical_config = suite.proof_configuration(unsigned, {k: v for k, v in options.items() if k != "@context"})
    assert canonical_config.decode() == _text(folder / "proofCanonDataInt.txt")
    assert hashlib.sha256(canonical_config).hexdigest() == _text(folder / "proofHashDataInt.txt").strip()
    data = hash_data(suite, unsigned, options)
    assert data.hex() == _text(folder / "combinedHashDataInt.txt").strip()
    signature = W3C_KEY.sign(data)
    assert signature.hex() == _text(folder / "sigHexDataInt.txt").strip()
    assert data_integrity.multibase_b58(signature) == _text(folder / "sigBTC58DataInt.txt").strip()

    # The whole of sign() gives the published signed document, and check_proof accepts it.
    signed = json.loads(_text(folder / "signedDataInt.json"))
    proof = data_integrity.create_proof(unsigned, W3C_KEY, verification_method=options["verificationMethod"],
                                        created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=timezone.utc))
    assert {**unsigned, "proof": proof} == signed
    assert openbadge.check_proof(signed, W3C_KEY.public_key()) is None


@pytest.mark.parametrize("name", RDFC_SETS)
def test_a_changed_field_or_proof_option_fails_the_w3c_rdfc_vector(name, vector_loader):
    signed = json.loads(_text(RDFC_SETS[name][0] / "signedDataInt.json"))
    changed = copy.deepcopy(signed)
    changed["name"] += "!"
    assert openbadge.check_proof(changed, W3C_KEY.public_key()) == data_integrity.MISMATCH
    changed = copy.deepcopy(signed)
    changed["proof"]["created"] = "2023-02-24T23:36:39Z"
    assert openbadge.check_proof(changed, W3C_KEY.public_key()) == data_integrity.MISMATCH
    changed = copy.deepcopy(signed)
    changed["proof"]["proofValue"] = changed["proof"]["proofValue"][:-2] + "11"
    assert openbadge.check_proof(changed, W3C_KEY.public_key()) == data_integrity.MISMATCH
    assert openbadge.check_proof(signed, Ed25519PrivateKey.generate().public_key()) == data_integrity.MISMATCH


def test_base58btc_keeps_leading_zero_bytes():
    """Vectors of the IETF base58 draft (draft-msporny-base58): each leading zero byte is a '1'."""
    assert data_integrity.multibase_b58(b"Hello World!") == "z2NEpo7TZRRrLZSi2U"
    assert data_integrity.multibase_b58(bytes.fromhex("0000287fb4cd")) == "z11233QC4"
    assert data_integrity.multibase_b58_decode("z11233QC4") == bytes.fromhex("0000287fb4cd")
    assert data_integrity.multibase_b58_decode("z1") == b"\0"


def test_a_signature_that_starts_with_a_zero_byte_signs_and_verifies(vector_loader):
    """py-multibase 2.0.0 drops the leading zero: such a proof (1 in 256) would never verify."""
    unsigned = json.loads(_text(W3C / "unsigned.json"))
    method = json.loads(_text(W3C / "eddsa-rdfc-2022" / "proofConfigDataInt.json"))["verificationMethod"]
    proof = data_integrity.create_proof(unsigned, W3C_KEY, verification_method=method,
                                        created=datetime(2023, 2, 24, 23, 36, 43, tzinfo=timezone.utc))
    assert proof["proofValue"].startswith("z1") and len(data_integrity.multibase_b58_decode(proof["proofValue"])) == 64
    assert data_integrity.multibase_b58_decode(proof["proofValue"])[0] == 0
    assert openbadge.check_proof({**unsigned, "proof": proof}, W3C_KEY.public_key()) is None


# --- W3C eddsa-jcs-2022 (credentials issued before) --------------------------------------------

def test_eddsa_jcs_2022_still_reproduces_the_w3c_vector():
    folder = W3C / "eddsa-jcs-2022"
    unsigned = json.loads(_text(W3C / "unsigned.json"))
    options = json.loads(_text(folder / "proofConfigJCS.json"))
    suite = EddsaJcs2022()
    assert suite.transform(unsigned).decode() == _text(folder / "canonDocJCS.txt").strip()
    assert hashlib.sha256(suite.transform(unsigned)).hexdigest() == _text(folder / "docHashJCS.txt").strip()
    assert suite.proof_configuration(unsigned, options).decode() == _text(folder / "proofCanonJCS.txt").strip()
    data = hash_data(suite, unsigned, options)
    assert data.hex() == _text(folder / "combinedHashJCS.txt").strip()
    assert W3C_KEY.sign(data).hex() == _text(folder / "sigHexJCS.txt").strip()
    signed = json.loads(_text(folder / "signedJCS.json"))
    assert signed["proof"]["proofValue"] == _text(folder / "sigBTC58JCS.txt").strip()
    assert openbadge.check_proof(signed, W3C_KEY.public_key()) is None
    signed["credentialSubject"]["alumniOf"] = "Another School"
    assert openbadge.check_proof(signed, W3C_KEY.public_key()) == data_integrity.MISMATCH


# --- 1EdTech's Open Badges 3.0 vector ----------------------------------------------------------

# From ob_v3p0/impl/linked-data-proof-ob.html (1EdTech/openbadges-specification, commit 1af145ff).
OB_SEED = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
OB_CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2",
                 "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "id": "http://example.com/credentials/3527",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "https://example.edu/issuers/565049", "type": ["Profile"],
               "url": "https://www.imsglobal.org", "name": "Example Corp"},
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Teamwork Badge",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "criteria": {"narrative": "Team members are nominated for this badge by their peers and recognized "
                                      "upon review by Example Corp management."},
            "description": "This badge recognizes the development of the capacity to collaborate within a "
                           "group environment.",
            "name": "Teamwork",
        },
    },
}
OB_PROOF = {
    "type": "DataIntegrityProof", "created": "2010-01-01T19:23:24Z",
    "verificationMethod": "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
    "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
    "proofValue": "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr",
}


def test_open_badges_linked_data_proof_vector_with_the_pinned_contexts_only():
    key = Ed25519PrivateKey.from_private_bytes(OB_SEED)
    assert openbadge.public_key_multibase(key.public_key()) == "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    suite = EddsaRdfc2022()  # the package's own loader: VC v2 and OB 3.0.3, nothing else
    folder = W3C / "obv3p0"
    canonical_document = suite.transform(OB_CREDENTIAL)
    assert canonical_document.decode() == _text(folder / "document-canon.txt")
    assert hashlib.sha256(canonical_document).hexdigest() == (
        "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773")
    options = {k: v for k, v in OB_PROOF.items() if k != "proofValue"}
    canonical_config = suite.proof_configuration(OB_CREDENTIAL, options)
    assert canonical_config.decode() == _text(folder / "proof-canon.txt")
    assert hashlib.sha256(canonical_config).hexdigest() == (
        "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19")
    signature = key.sign(hash_data(suite, OB_CREDENTIAL, options))
    assert signature.hex() == ("f7a017acf7d27983267ec362657c0fb08e955549f49dac5bf36a03c4f2c3a4f1"
                               "e3738a6c5ecd7ffba7135cb9cd754e6196f4b73082ea8df8e703c8ecd4333503")
    assert data_integrity.multibase_b58(signature) == OB_PROOF["proofValue"]
    assert openbadge.check_proof({**OB_CREDENTIAL, "proof": OB_PROOF}, key.public_key()) is None


# --- This course's credentials -----------------------------------------------------------------

@pytest.fixture(scope="module")
def issuer_key():
    return Ed25519PrivateKey.generate()


def _credential(issuer_key, labs: int = 14) -> dict:
    issuer = openbadge.issuer_profile(issuer_key.public_key(), name="AI Certification Labs")
    return openbadge.build_credential(
        issuer=issuer, course_id="ai-certification-labs", track_id="practitioner", track_title="AI Practitioner",
        track_description="Builds, checks and deploys models.", criteria="At least 70 % on every lab.",
        labs=[{"id": f"{n:02d}-lab", "title": f"Lab {n}", "share": 0.9, "required_share": 0.7} for n in range(labs)],
        learner_id="ada", learner_name="Ada Lovelace", valid_from=datetime(2026, 11, 1, tzinfo=timezone.utc),
        credential_id="urn:uuid:6b1f4a52-6f43-4c1e-9d8e-0c2b8f6e3a11",
    )


def test_a_signed_course_credential_verifies_as_eddsa_rdfc_2022_in_either_proof_form(issuer_key):
    for proof_set in (False, True):
        signed = openbadge.sign(_credential(issuer_key), issuer_key, proof_set=proof_set)
        assert openbadge.proof_of(signed)["cryptosuite"] == "eddsa-rdfc-2022"
        assert isinstance(signed["proof"], list) is proof_set
        assert openbadge.check_proof(signed, issuer_key.public_key()) is None
        _tamper = copy.deepcopy(signed)
        _tamper["credentialSubject"]["result"][3]["value"] = "100"
        assert openbadge.check_proof(_tamper, issuer_key.public_key()) == data_integrity.MISMATCH


@pytest.mark.parametrize("where", ["top", "subject", "result", "proof"])
def test_safe_mode_an_added_undefined_field_fails_and_is_named(issuer_key, where):
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    target = {"top": signed, "subject": signed["credentialSubject"],
              "result": signed["credentialSubject"]["result"][0], "proof": signed["proof"]}[where]
    target["bonusPoints"] = "all of them"
    reason = openbadge.check_proof(signed, issuer_key.public_key())
    assert reason is not None and "the field 'bonusPoints' is not defined by its contexts" in reason


def test_safe_mode_an_undefined_type_or_relative_id_fails_and_is_named(issuer_key):
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    signed["credentialSubject"]["type"].append("HonoursSubject")
    assert "'HonoursSubject' is used as a type" in openbadge.check_proof(signed, issuer_key.public_key())
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    signed["credentialSubject"]["id"] = "ada"
    assert "'ada' is used as an id" in openbadge.check_proof(signed, issuer_key.public_key())


def test_signing_refuses_a_field_the_signature_would_not_cover(issuer_key):
    credential = _credential(issuer_key)
    credential["credentialSubject"]["achievement"]["difficulty"] = "hard"
    with pytest.raises(data_integrity.ProofError, match="the field 'difficulty' is not defined"):
        openbadge.sign(credential, issuer_key)


def test_any_vc_signs_with_the_shared_status_terms(issuer_key):
    """A Bitstring status list credential and a credentialStatus entry use only VC v2 terms: safe mode accepts them."""
    url = "https://certificates.example.org/ai-certification-labs/status-list.json"
    status_list = {
        "@context": [openbadge.VC_CONTEXT], "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": openbadge.did_key(issuer_key.public_key()), "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {"id": url + "#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"},
    }
    signed = openbadge.sign(status_list, issuer_key)
    assert openbadge.check_proof(signed, issuer_key.public_key()) is None
    credential = _credential(issuer_key)
    credential["credentialStatus"] = {"id": url + "#7", "type": "BitstringStatusListEntry",
                                      "statusPurpose": "revocation", "statusListIndex": "7",
                                      "statusListCredential": url}
    signed = openbadge.sign(credential, issuer_key)
    assert openbadge.check_proof(signed, issuer_key.public_key()) is None
    signed["credentialStatus"]["statusListIndex"] = "8"
    assert openbadge.check_proof(signed, issuer_key.public_key()) == data_integrity.MISMATCH


def test_rdfc_does_not_sign_the_order_of_json_arrays(issuer_key):
    """RDF has no array order outside @list: reordering ``tag`` or ``result`` keeps the proof valid, so
    no code may take meaning from a position (e.g. ``tag[0]`` as the track id)."""
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    reordered = copy.deepcopy(signed)
    reordered["credentialSubject"]["achievement"]["tag"].reverse()
    reordered["credentialSubject"]["result"].reverse()
    tags = signed["credentialSubject"]["achievement"]["tag"]
    assert reordered["credentialSubject"]["achievement"]["tag"][0] != tags[0]
    assert openbadge.check_proof(reordered, issuer_key.public_key()) is None


# --- The loader --------------------------------------------------------------------------------

def test_an_unknown_context_is_refused_by_url_when_signing_and_verifying(issuer_key):
    credential = _credential(issuer_key)
    credential["@context"] = [*credential["@context"], "https://evil.example/context.json"]
    with pytest.raises(data_integrity.ProofError, match="https://evil.example/context.json"):
        openbadge.sign(credential, issuer_key)
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    signed["@context"] = [*signed["@context"], "https://evil.example/context.json"]
    reason = openbadge.check_proof(signed, issuer_key.public_key())
    assert reason.startswith("it uses the JSON-LD context https://evil.example/context.json, which is not one of")
    # The W3C examples context is pinned for the tests only: the package's loader refuses it.
    with pytest.raises(jsonld.UnknownContextError, match="https://www.w3.org/ns/credentials/examples/v2"):
        jsonld.canonicalize(json.loads(_text(W3C / "unsigned.json")))


def test_signing_and_verifying_never_open_a_socket(issuer_key, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(jsonld, "DEFAULT_LOADER", jsonld.PinnedLoader())  # nothing cached yet
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    assert openbadge.check_proof(signed, issuer_key.public_key()) is None
    assert sorted(jsonld.DEFAULT_LOADER.resolved) != []  # the pinned contexts were loaded during the test


def test_malformed_proofs_fail_closed_with_their_reason(issuer_key):
    signed = openbadge.sign(_credential(issuer_key), issuer_key)
    public = issuer_key.public_key()
    cases = {
        "its proof uses the cryptosuite 'ecdsa-rdfc-2019'": {"cryptosuite": "ecdsa-rdfc-2019"},
        "its proof is of type 'Ed25519Signature2020'": {"type": "Ed25519Signature2020"},
        "its proof is not an assertion": {"proofPurpose": "authentication"},
        "its proof's creation date is malformed": {"created": "yesterday"},
        "its proof value is malformed": {"proofValue": "u" + signed["proof"]["proofValue"][1:]},
    }
    for reason, change in cases.items():
        assert openbadge.check_proof({**signed, "proof": {**signed["proof"], **change}}, public).startswith(reason)
    assert openbadge.check_proof({**signed, "proof": [signed["proof"]] * 2}, public).startswith(
        "it carries several proofs")
    assert "not valid JSON-LD" in openbadge.check_proof({**signed, "id": {"not": "a string"}}, public)
    jcs = openbadge.sign(_credential(issuer_key), issuer_key, cryptosuite="eddsa-jcs-2022")
    assert openbadge.check_proof(jcs, public) is None
    assert openbadge.check_proof({**jcs, "big": 2**60}, public).startswith(  # beyond RFC 8785's safe integers
        "it cannot be canonicalised for eddsa-jcs-2022")
