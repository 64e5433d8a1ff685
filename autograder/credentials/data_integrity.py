"""W3C Data Integrity proofs with the EdDSA cryptosuites ("Data Integrity EdDSA Cryptosuites v1.0").

Two cryptosuites, one class each, each doing the spec's jobs under the spec's names:

- ``eddsa-rdfc-2022`` (issued by this course): the document and the proof configuration are turned
  into RDF with the pinned JSON-LD contexts and canonicalised with RDFC-1.0 (:mod:`autograder.credentials.jsonld`,
  in safe mode). This is the Data Integrity cryptosuite 1EdTech's Open Badges 3.0 certification lists.
- ``eddsa-jcs-2022`` (credentials issued before): the same, canonicalised as JSON with RFC 8785
  (the ``rfc8785`` package). Still verified so that certificates already handed out stay valid.

For both: ``hashData = SHA-256(canonical proof configuration) || SHA-256(canonical document)``,
signed with Ed25519 (``cryptography``); the proof value is multibase base58-btc (the ``base58``
package; see :func:`multibase_b58` for why not py-multibase).
The proof configuration is the proof without ``proofValue``, with the document's ``@context``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from autograder.credentials import jsonld

PROOF_TYPE = "DataIntegrityProof"
MISMATCH = "the signature does not match its content: it was changed after signing, or signed with another key"


def format_datetime(moment: datetime) -> str:
    """An xsd:dateTime in UTC to the second, as credentials and proofs state dates."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_datetime(text: str) -> datetime:
    if not isinstance(text, str) or not _DATETIME.match(text):
        raise ValueError(f"'{text}' is not an xsd:dateTime such as 2026-11-22T15:30:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ProofError(ValueError):
    """A proof that cannot be made or checked; the message is the reason, in words for the reader."""


def multibase_b58(data: bytes) -> str:
    """Multibase base58-btc: 'z', then the bytes in base 58 (Bitcoin alphabet), a '1' per leading zero byte.

    Not py-multibase: its 2.0.0 base58btc drops leading zero bytes (it converts the bytes to one
    integer; multiformats/py-multibase issue 11, closed unfixed), so one Ed25519 signature in 256
    (those starting with 0x00) would be written wrong and never verify. The ``base58`` package keeps them.
    """
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_b58_decode(text: str) -> bytes:
    """The bytes of a multibase base58-btc value ('z...'); other multibase encodings are refused."""
    if not isinstance(text, str) or not text.startswith("z"):
        raise ValueError("only multibase base58-btc values (starting with 'z') are accepted")
    return base58.b58decode(text[1:])  # ValueError for a character outside the alphabet


class EddsaRdfc2022:
    """``eddsa-rdfc-2022``: RDFC-1.0 canonical N-Quads of the document and of the proof configuration."""

    name = "eddsa-rdfc-2022"

    def __init__(self, loader: jsonld.PinnedLoader | None = None):
        self.loader = loader or jsonld.DEFAULT_LOADER

    def transform(self, unsecured: dict) -> bytes:
        return jsonld.canonicalize(unsecured, self.loader).encode("utf-8")

    def proof_configuration(self, unsecured: dict, options: dict) -> bytes:
        config = {**_options(options), "@context": unsecured.get("@context")}
        return jsonld.canonicalize(config, self.loader).encode("utf-8")


class EddsaJcs2022:
    """``eddsa-jcs-2022``: RFC 8785 canonical JSON of the document and of the proof configuration."""

    name = "eddsa-jcs-2022"

    def transform(self, unsecured: dict) -> bytes:
        return rfc8785.dumps(unsecured)

    def proof_configuration(self, unsecured: dict, options: dict) -> bytes:
        return rfc8785.dumps({**_options(options), "@context": unsecured.get("@context")})


SUITES = {suite.name: suite for suite in (EddsaRdfc2022, EddsaJcs2022)}


def cryptosuite(name: str, loader: jsonld.PinnedLoader | None = None):
    if not isinstance(name, str) or name not in SUITES:
        raise ProofError(f"its proof uses the cryptosuite {name!r}; accepted: {', '.join(SUITES)}")
    return EddsaRdfc2022(loader) if name == EddsaRdfc2022.name else EddsaJcs2022()


def _options(proof: dict) -> dict:
    return {key: value for key, value in proof.items() if key != "proofValue"}


def hash_data(suite, unsecured: dict, options: dict) -> bytes:
    """The bytes Ed25519 signs: hash of the canonical proof configuration, then of the canonical document."""
    config_hash = hashlib.sha256(suite.proof_configuration(unsecured, options)).digest()
    return config_hash + hashlib.sha256(suite.transform(unsecured)).digest()


def create_proof(document: dict, private_key: Ed25519PrivateKey, *, verification_method: str,
                 created: datetime, cryptosuite_name: str = EddsaRdfc2022.name,
                 loader: jsonld.PinnedLoader | None = None) -> dict:
    """A Data Integrity proof (``assertionMethod``) over ``document`` without its own ``proof``."""
    suite = cryptosuite(cryptosuite_name, loader)
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": suite.name,
        "created": format_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    if isinstance(suite, EddsaJcs2022):  # the JCS credentials this course issued carried it
        options["@context"] = unsecured.get("@context")
    try:
        signature = private_key.sign(hash_data(suite, unsecured, options))
    except jsonld.JsonLdProblem as problem:
        raise ProofError(f"the document cannot be signed: {problem}") from None
    return {**options, "proofValue": multibase_b58(signature)}


def single_proof(document: dict) -> dict | None:
    """The one proof of ``document``: ``proof`` as an object or as a list holding one object."""
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    return proof if isinstance(proof, dict) else None


def verify_proof(document: dict, public_key: Ed25519PublicKey,
                 loader: jsonld.PinnedLoader | None = None) -> str | None:
    """``None`` if ``document`` carries one valid Data Integrity proof by ``public_key``; else the reason.

    Fails closed: a proof that cannot be checked (unknown context, undefined fields, malformed
    values) is reported as invalid with its reason, never skipped.
    """
    proof = single_proof(document)
    if proof is None:
        if isinstance(document.get("proof"), list) and len(document["proof"]) > 1:
            return "it carries several proofs; this verifier checks credentials with exactly one"
        return "it carries no proof (signature), so nothing shows who issued it"
    if proof.get("type") != PROOF_TYPE:
        return f"its proof is of type {proof.get('type')!r}; accepted: {PROOF_TYPE}"
    try:
        suite = cryptosuite(proof.get("cryptosuite"), loader)
    except ProofError as error:
        return str(error)
    if proof.get("proofPurpose") != "assertionMethod":
        return "its proof is not an assertion (proofPurpose must be 'assertionMethod')"
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = _options(proof)
    if "@context" in options and options["@context"] != unsecured.get("@context"):
        return "its @context was changed after signing"
    try:
        parse_datetime(options.get("created"))
    except ValueError as error:
        return f"its proof's creation date is malformed: {error}"
    try:
        signature = multibase_b58_decode(proof.get("proofValue"))
    except ValueError as error:
        return f"its proof value is malformed: {error}"
    try:
        data = hash_data(suite, unsecured, options)
    except jsonld.JsonLdProblem as problem:
        return str(problem)
    except (TypeError, ValueError) as error:  # e.g. rfc8785's CanonicalizationError for an unsafe number
        return f"it cannot be canonicalised for {suite.name} ({error})"
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return MISMATCH
    return None
