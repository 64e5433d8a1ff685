"""Open Badges 3.0 credentials: build an ``OpenBadgeCredential``, sign it, check its signature and schema.

The credential follows the W3C Verifiable Credentials Data Model 2.0 as profiled by Open Badges 3.0
(1EdTech): an issuer ``Profile``, an ``AchievementSubject`` naming the learner, an ``Achievement``
with its criteria and one ``ResultDescription`` per lab covered, ``validFrom`` and an optional
``validUntil``. Every credential built here, signed with ``sign(..., proof_set=True)``, validates
against 1EdTech's OB 3.0 JSON schema pinned in ``autograder/credentials/schemas/`` (:func:`validate_ob_schema`;
that schema wants ``proof`` as an array).

It is secured with a W3C Data Integrity proof, cryptosuite ``eddsa-rdfc-2022`` (the one 1EdTech's
OB 3.0 certification lists): the document and the proof configuration are canonicalised as RDF
(RDFC-1.0, with pinned JSON-LD contexts and in safe mode, see :mod:`autograder.credentials.jsonld`), each
hashed with SHA-256, and ``hash(proof configuration) || hash(document)`` is signed with Ed25519
(:mod:`autograder.credentials.data_integrity`). Credentials issued earlier with ``eddsa-jcs-2022`` (RFC 8785
canonical JSON) still verify. The credential stays a readable JSON file, and any change to any field
(name, result, track, dates), or any field added that the contexts do not define, breaks the proof.

The issuer is identified by a ``did:key`` derived from its Ed25519 public key, so the key is
published inside the issuer's own identifier and in the issuer profile
(``verificationMethod`` with ``publicKeyMultibase``); verifying needs no network.

Encodings come from maintained libraries where a correct one is installed: RFC 8785 JSON
canonicalisation from ``rfc8785``, RDF canonicalisation (RDFC-1.0) from ``pyld``, Ed25519 from
``cryptography``, base58-btc from ``base58`` (not py-multibase, whose 2.0.0 drops leading zero bytes
and so would break one signature in 256; see :mod:`autograder.credentials.data_integrity`), multibase base64url
of the status list from py-multibase. Only the two-byte multicodec prefixes of Ed25519 keys (0xed01
public, 0x1300 private) are written here: two constants are not worth a dependency.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from autograder.credentials import data_integrity
# Re-exported: verify.py, certify.py and the tests import these from here.
from autograder.credentials.data_integrity import PROOF_TYPE, format_datetime, multibase_b58, parse_datetime  # noqa: F401
from autograder.credentials.jsonld import OB_V3P0 as OB_CONTEXT
from autograder.credentials.jsonld import VC_V2 as VC_CONTEXT

CONTEXTS = [VC_CONTEXT, OB_CONTEXT]
CRYPTOSUITE = "eddsa-rdfc-2022"  # what this course signs with; check_proof also accepts eddsa-jcs-2022
SCHEMA_PATH = Path(__file__).parent / "schemas" / "ob_v3p0_achievementcredential_schema.json"
_ED25519_PUB_CODEC = b"\xed\x01"  # multicodec varint for ed25519-pub
_ED25519_PRIV_CODEC = b"\x80\x26"  # multicodec varint for ed25519-priv (0x1300)


# --- Encodings ---------------------------------------------------------------------------------

def canonical_json(value) -> str:
    """JSON Canonicalization Scheme (RFC 8785), by the ``rfc8785`` package."""
    return rfc8785.dumps(value).decode("utf-8")


# --- Keys and identifiers ----------------------------------------------------------------------

def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_multibase(key: Ed25519PublicKey) -> str:
    return multibase_b58(_ED25519_PUB_CODEC + public_key_bytes(key))


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    raw = data_integrity.multibase_b58_decode(text)
    if len(raw) != 34 or raw[:2] != _ED25519_PUB_CODEC:
        raise ValueError("not an Ed25519 public key (expected multicodec 0xed01 and 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_key_from_multibase(text: str) -> Ed25519PrivateKey:
    raw = data_integrity.multibase_b58_decode(text)
    if len(raw) != 34 or raw[:2] != _ED25519_PRIV_CODEC:
        raise ValueError("not an Ed25519 private key (expected multicodec 0x1300 and 32 bytes)")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def did_key(key: Ed25519PublicKey) -> str:
    return f"did:key:{public_key_multibase(key)}"


def verification_method_id(key: Ed25519PublicKey) -> str:
    multibase = public_key_multibase(key)
    return f"did:key:{multibase}#{multibase}"


def public_key_jwk(key: Ed25519PublicKey) -> dict:
    x = base64.urlsafe_b64encode(public_key_bytes(key)).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x}


def issuer_profile(key: Ed25519PublicKey, name: str, description: str = "") -> dict:
    """The issuer's Open Badges ``Profile``, publishing its public key as a verification method."""
    issuer_id = did_key(key)
    profile = {
        "@context": CONTEXTS,
        "id": issuer_id,
        "type": ["Profile"],
        "name": name,
    }
    if description:
        profile["description"] = description
    profile["verificationMethod"] = [{
        "id": verification_method_id(key),
        "type": "Multikey",
        "controller": issuer_id,
        "publicKeyMultibase": public_key_multibase(key),
        "publicKeyJwk": public_key_jwk(key),
    }]
    profile["assertionMethod"] = [verification_method_id(key)]
    return profile


def profile_public_key(profile: dict) -> Ed25519PublicKey:
    """The public key an issuer profile publishes; it must agree with the profile's did:key id."""
    methods = profile.get("verificationMethod") or []
    if not methods:
        raise ValueError("the issuer profile publishes no verificationMethod (public key)")
    key = public_key_from_multibase(methods[0]["publicKeyMultibase"])
    if profile.get("id") != did_key(key):
        raise ValueError("the issuer profile's id does not match the public key it publishes")
    return key


# --- Dates (formatting and parsing live in data_integrity, re-exported here) -------------------

def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# --- The credential ----------------------------------------------------------------------------

def stable_urn(*parts: str) -> str:
    """A stable ``urn:uuid:`` for a course-level object (an achievement, a result description)."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("ai-certification-labs", *parts))))


def percent(share: float) -> str:
    """A lab's share of points as the Result value string: '0'..'100', one decimal at most."""
    value = round(share * 100, 1)
    return f"{value:.1f}".rstrip("0").rstrip(".")


def build_credential(
    *,
    issuer: dict,
    course_id: str,
    track_id: str,
    track_title: str,
    track_description: str,
    criteria: str,
    labs: list[dict],
    learner_id: str,
    learner_name: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    credential_id: str | None = None,
) -> dict:
    """An unsigned ``OpenBadgeCredential``.

    ``labs``: one dict per lab covered, with ``id``, ``title``, ``share`` (0..1) and
    ``required_share`` (0..1). ``issuer``: the issuer profile (only id, type and name are embedded).
    """
    descriptions, results = _lab_claims(course_id, track_id, labs)
    credential = {
        "@context": CONTEXTS,
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{track_title} certificate",
        "issuer": {"id": issuer["id"], "type": ["Profile"], "name": issuer["name"]},
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "identifier": [
            {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": learner_name},
            {"type": "IdentityObject", "identityType": "identifier", "hashed": False, "identityHash": learner_id},
        ],
        "achievement": {
            "id": stable_urn(course_id, "achievement", track_id),
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "name": track_title,
            "description": track_description,
            "criteria": {"narrative": criteria},
            "resultDescription": descriptions,
            "tag": [track_id, *(lab["id"] for lab in labs)],
        },
        "result": results,
    }
    return credential


def _lab_claims(course_id: str, track_id: str, labs: list[dict]) -> tuple[list[dict], list[dict]]:
    """One ResultDescription (what the track requires of a lab) and one Result (the learner's share) per lab."""
    descriptions, results = [], []
    for lab in labs:
        description_id = stable_urn(course_id, "achievement", track_id, "lab", lab["id"])
        descriptions.append({
            "id": description_id,
            "type": ["ResultDescription"],
            "name": f"{lab['id']}: {lab['title']} (share of the lab's points, %)",
            "resultType": "Percent",
            "valueMin": "0",
            "valueMax": "100",
            "requiredValue": percent(lab["required_share"]),
        })
        results.append({
            "type": ["Result"],
            "resultDescription": description_id,
            "value": percent(lab["share"]),
            "status": "Completed",
        })
    return descriptions, results


def sign(document: dict, private_key: Ed25519PrivateKey, created: datetime | None = None,
         cryptosuite: str = CRYPTOSUITE, *, proof_set: bool = False) -> dict:
    """A copy of ``document`` (any VC) with a Data Integrity proof by ``private_key`` in place of its own.

    ``proof_set=True`` writes ``"proof": [proof]``, a set of one proof: the same RDF and equally valid
    for W3C verifiers, and the form 1EdTech's OB 3.0 JSON schema requires (it has ``proof`` as an
    array; a single object fails it). Raises :class:`data_integrity.ProofError` if the document
    cannot be signed safely, e.g. it holds a field its contexts do not define (which the proof
    would not cover) or a context that is not pinned.
    """
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    proof = data_integrity.create_proof(
        unsecured, private_key, verification_method=verification_method_id(private_key.public_key()),
        created=created or utc_now(), cryptosuite_name=cryptosuite,
    )
    return {**unsecured, "proof": [proof] if proof_set else proof}


def proof_of(document: dict) -> dict | None:
    """The document's one proof, whether written as an object or as a list holding one; else ``None``."""
    return data_integrity.single_proof(document)


def check_proof(document: dict, public_key: Ed25519PublicKey) -> str | None:
    """``None`` if ``document`` carries a valid eddsa-rdfc-2022 or eddsa-jcs-2022 proof by ``public_key``;
    otherwise the reason, e.g. which field was added that the signature does not cover."""
    return data_integrity.verify_proof(document, public_key)


@functools.lru_cache(maxsize=1)
def _schema_validator():
    """The pinned OB 3.0 AchievementCredential schema's validator, for the draft it declares (2019-09).

    Its ``$ref``s are all local (``#/$defs/...``); any other reference is refused, never fetched.
    jsonschema is imported here, not at the top: it takes about 1.5 s to import (its format
    checkers), which every `autograder` command would pay otherwise.
    """
    import jsonschema
    import referencing
    import referencing.exceptions

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

    def refuse(uri: str):
        raise referencing.exceptions.NoSuchResource(ref=uri)

    registry = referencing.Registry(retrieve=refuse).with_resource(
        schema["$id"], referencing.Resource.from_contents(schema))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, registry=registry, format_checker=validator.FORMAT_CHECKER)


def validate_ob_schema(credential: dict) -> list[str]:
    """What in ``credential`` breaks 1EdTech's OB 3.0 AchievementCredential JSON schema, one line per
    problem (``where: what``); an empty list means it validates."""
    problems = []
    for error in sorted(_schema_validator().iter_errors(credential), key=lambda e: list(map(str, e.absolute_path))):
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        problems.append(f"{where.lstrip('.') or 'the credential'}: {error.message}")
    return problems


def learner(credential: dict) -> tuple[str, str]:
    """(learner name, learner id) as recorded in the credential's subject."""
    name = learner_id = ""
    for entry in credential.get("credentialSubject", {}).get("identifier", []):
        if entry.get("identityType") == "name":
            name = entry.get("identityHash", "")
        elif entry.get("identityType") == "identifier":  # the learner id in the gradebook
            learner_id = entry.get("identityHash", "")
    return name, learner_id


def lab_results(credential: dict) -> dict[str, str]:
    """Lab id -> result value (percent string) as recorded in the credential."""
    subject = credential.get("credentialSubject", {})
    names = {
        description.get("id"): description.get("name", "").split(":")[0]
        for description in subject.get("achievement", {}).get("resultDescription", [])
    }
    return {names.get(result.get("resultDescription"), "?"): result.get("value") for result in subject.get("result", [])}


def verification_code(signed: dict) -> str:
    """A short code printed on the certificate page: derived from the signature, 12 characters."""
    digest = hashlib.sha256(proof_of(signed)["proofValue"].encode()).digest()
    text = base64.b32encode(digest).decode().rstrip("=")[:12]
    return "-".join(text[i:i + 4] for i in range(0, 12, 4))
