"""Open Badges 3.0 credentials: build an ``OpenBadgeCredential``, sign it, check its signature.

The credential follows the W3C Verifiable Credentials Data Model 2.0 as profiled by Open Badges 3.0
(1EdTech): an issuer ``Profile``, an ``AchievementSubject`` naming the learner, an ``Achievement``
with its criteria and one ``ResultDescription`` per lab covered, ``validFrom`` and an optional
``validUntil``.

It is secured with a W3C Data Integrity proof, cryptosuite ``eddsa-jcs-2022`` (VC Data Integrity
EdDSA Cryptosuites v1.0): the document and the proof options are canonicalised with the JSON
Canonicalization Scheme (RFC 8785), each hashed with SHA-256, and the concatenation
``hash(proof options) || hash(document)`` is signed with Ed25519. The credential stays a readable
JSON file, and any change to any field (name, result, track, dates) breaks the signature.

The issuer is identified by a ``did:key`` derived from its Ed25519 public key, so the key is
published inside the issuer's own identifier and in the issuer profile
(``verificationMethod`` with ``publicKeyMultibase``); verifying needs no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = [VC_CONTEXT, OB_CONTEXT]
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
_ED25519_PUB_CODEC = b"\xed\x01"  # multicodec varint for ed25519-pub
_ED25519_PRIV_CODEC = b"\x80\x26"  # multicodec varint for ed25519-priv (0x1300)


# --- Encodings ---------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            raise ValueError(f"'{char}' is not a base58 character")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def multibase_b58(data: bytes) -> str:
    """Multibase base58-btc: the 'z' prefix then base58."""
    return "z" + b58encode(data)


def multibase_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise ValueError("only base58-btc multibase values (starting with 'z') are supported")
    return b58decode(text[1:])


def _es_number(value: float) -> str:
    """ECMAScript Number-to-String, as RFC 8785 requires for numbers (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("JSON numbers cannot be NaN or infinite")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped.lstrip("0")
    k = len(digits)
    n = k + exponent  # the value is 0.DIGITS x 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"


def canonical_json(value) -> str:
    """JSON Canonicalization Scheme (RFC 8785): sorted keys, no whitespace, ECMAScript numbers."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(value[k])}" for k in keys) + "}"
    raise TypeError(f"cannot canonicalise a {type(value).__name__}")


# --- Keys and identifiers ----------------------------------------------------------------------

def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_multibase(key: Ed25519PublicKey) -> str:
    return multibase_b58(_ED25519_PUB_CODEC + public_key_bytes(key))


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    raw = multibase_decode(text)
    if len(raw) != 34 or raw[:2] != _ED25519_PUB_CODEC:
        raise ValueError("not an Ed25519 public key (expected multicodec 0xed01 and 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_key_from_multibase(text: str) -> Ed25519PrivateKey:
    raw = multibase_decode(text)
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


# --- Dates -------------------------------------------------------------------------------------

def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_datetime(text: str) -> datetime:
    if not isinstance(text, str) or not _DATETIME.match(text):
        raise ValueError(f"'{text}' is not an xsd:dateTime such as 2026-11-22T15:30:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
    achievement_id = stable_urn(course_id, "achievement", track_id)
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
            "id": achievement_id,
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


def sign(credential: dict, private_key: Ed25519PrivateKey, created: datetime | None = None) -> dict:
    """A copy of ``credential`` with a Data Integrity proof (eddsa-jcs-2022) added."""
    unsecured = {key: value for key, value in credential.items() if key != "proof"}
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_datetime(created or utc_now()),
        "verificationMethod": verification_method_id(private_key.public_key()),
        "proofPurpose": "assertionMethod",
        "@context": unsecured["@context"],
    }
    signature = private_key.sign(_hash_data(unsecured, proof))
    return {**unsecured, "proof": {**proof, "proofValue": multibase_b58(signature)}}


def _hash_data(unsecured: dict, proof_options: dict) -> bytes:
    config_hash = hashlib.sha256(canonical_json(proof_options).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonical_json(unsecured).encode("utf-8")).digest()
    return config_hash + document_hash


def check_proof(credential: dict, public_key: Ed25519PublicKey) -> str | None:
    """``None`` if the proof is a valid eddsa-jcs-2022 signature by ``public_key``; else the reason."""
    proof = credential.get("proof")
    if isinstance(proof, list):
        proof = proof[0] if len(proof) == 1 else None
    if not isinstance(proof, dict):
        return "it carries no proof (signature), so nothing shows who issued it"
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return (f"its proof is {proof.get('type')}/{proof.get('cryptosuite')}; this course signs with "
                f"{PROOF_TYPE}/{CRYPTOSUITE}")
    if proof.get("proofPurpose") != "assertionMethod":
        return "its proof is not an assertion (proofPurpose must be 'assertionMethod')"
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    unsecured = {key: value for key, value in credential.items() if key != "proof"}
    if "@context" in options and options["@context"] != unsecured.get("@context"):
        return "its @context was changed after signing"
    try:
        parse_datetime(options.get("created"))
        signature = multibase_decode(proof.get("proofValue", ""))
        public_key.verify(signature, _hash_data(unsecured, options))
    except (InvalidSignature, ValueError, TypeError):
        return "the signature does not match its content: it was changed after signing, or signed with another key"
    return None


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
    digest = hashlib.sha256(signed["proof"]["proofValue"].encode()).digest()
    text = base64.b32encode(digest).decode().rstrip("=")[:12]
    return "-".join(text[i:i + 4] for i in range(0, 12, 4))
