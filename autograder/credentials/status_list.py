"""The course's published revocation list: a W3C Bitstring Status List (Recommendation, 2025-05-15).

Why a bitstring: an employer holding only a credential file, the issuer profile and the published
``certificates/status-list.json`` can tell whether the credential was revoked, without asking us
and without learning anything about other learners. Each credential carries a ``credentialStatus``
entry naming the list's URL and its own position (``statusListIndex``) in the list; bit 1 there
means revoked. The list is itself a ``BitstringStatusListCredential`` signed by the course's key,
so a flipped bit is detected like any other change.

Format (spec sections "BitstringStatusListCredential" and "Bitstring Encoding"): ``encodedList`` is
``"u"`` + base64url without padding (multibase) of the GZIP-compressed bitstring; the bitstring has
at least 131,072 bits (16 KB); index 0 is the most significant (left-most) bit of the first byte.
Indexes are drawn at random (``secrets``), as the spec's privacy section recommends, so a position
reveals neither the order of issue nor the size of the cohort.

The list is derived, never edited in place: its bits are exactly the indexes of the credentials in
the instructor's ``revocations.json`` (which also keeps the reasons a bitstring cannot hold).
Writing it again from that record is therefore idempotent, and a list file someone altered is
replaced by the true one at the next ``certify`` or ``revoke``.

Nothing here goes to the network: a verifier is handed the list as a file.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import multibase

from autograder.credentials.openbadge import (
    VC_CONTEXT, check_proof, format_datetime, parse_datetime, profile_public_key, proof_of, sign, utc_now,
)
from autograder.curriculum import CURRICULUM_FILE, Curriculum, CurriculumError
from autograder.files import write_json
from autograder.credentials.keys import CERTIFICATE_DIR

STATUS_LIST_FILE = "status-list.json"
LIST_BITS = 131_072           # the spec's minimum number of entries (16 KB uncompressed)
PURPOSE = "revocation"        # the only purpose this course uses; revocation is not reversible
LIST_TYPE = "BitstringStatusListCredential"
ENTRY_TYPE = "BitstringStatusListEntry"


class StatusListError(CurriculumError):
    """A status list is missing, unreadable or unusable; the message names the file and the fix."""


def status_list_path(course_root: Path) -> Path:
    return Path(course_root) / CERTIFICATE_DIR / STATUS_LIST_FILE


def list_url(curriculum: Curriculum) -> str:
    """``<publish_url>status-list.json``: where the instructor publishes the course's list.

    Without ``course.publish_url`` no credential can be issued: it would point at a list whose
    address nobody knows, so its revocation could never be checked.
    """
    if not curriculum.publish_url:
        raise CurriculumError(
            f"{curriculum.root / CURRICULUM_FILE} has no course.publish_url, so certificates cannot say where "
            "their revocation list is published. Add the address where you publish the certificates/ folder "
            "under `course:`, e.g. `publish_url: https://certificates.example.org/ai-certification-labs/` "
            "(https, ending in '/'), then run the command again."
        )
    return curriculum.publish_url + STATUS_LIST_FILE


# --- Encoding ----------------------------------------------------------------------------------

def encode(bitstring: bytes) -> str:
    """``encodedList`` for ``bitstring``: multibase base64url (no padding) of its GZIP compression.

    ``mtime=0`` keeps the GZIP header constant, so the same bits always give the same text.
    """
    return multibase.encode("base64url", gzip.compress(bytes(bitstring), mtime=0)).decode("ascii")


def decode(encoded: str) -> bytes:
    """The bitstring in ``encodedList``; ValueError says what is wrong with it."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be a multibase base64url string (starting with 'u')")
    try:
        bitstring = gzip.decompress(multibase.decode(encoded))
    except (ValueError, OSError, EOFError, zlib.error) as error:
        raise ValueError(f"encodedList is not GZIP-compressed base64url data ({error})") from None
    if len(bitstring) * 8 < LIST_BITS:
        raise ValueError(f"the list holds {len(bitstring) * 8} entries, fewer than the {LIST_BITS:,} the "
                         "Bitstring Status List specification requires")
    return bitstring


def get_bit(bitstring: bytes, index: int) -> bool:
    """Bit ``index``, counting from the left-most (most significant) bit of the first byte."""
    return bool(bitstring[index // 8] >> (7 - index % 8) & 1)


def with_bits(indexes, size: int = LIST_BITS) -> bytes:
    """A bitstring of ``size`` bits, all 0 but the given ``indexes``."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def pick_index(used: set[int]) -> int:
    """A random index no credential holds yet (the spec's privacy advice: not sequential)."""
    if len(used) >= LIST_BITS:
        raise StatusListError(f"All {LIST_BITS:,} positions of the status list are in use; "
                              "this course cannot issue more certificates on one list.")
    while True:
        index = secrets.randbelow(LIST_BITS)
        if index not in used:
            return index


# --- The list credential and the entry that points at it ---------------------------------------

def status_entry(url: str, index: int) -> dict:
    """The ``credentialStatus`` a credential carries: its position ``index`` in the list at ``url``."""
    return {"id": f"{url}#{index}", "type": ENTRY_TYPE, "statusPurpose": PURPOSE,
            "statusListIndex": str(index), "statusListCredential": url}


def build_list(url: str, issuer: dict, revoked: set[int], now: datetime) -> dict:
    """The unsigned ``BitstringStatusListCredential`` with the bits of ``revoked`` set."""
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": issuer["id"],
        "validFrom": format_datetime(now),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": PURPOSE,
                              "encodedList": encode(with_bits(revoked))},
    }


def load_status_list(path: Path | str) -> dict:
    """The status list credential in ``path``; StatusListError names the file when it cannot be read."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatusListError(f"the status list file {path} does not exist") from None
    except IsADirectoryError:
        raise StatusListError(f"the status list {path} is a folder, not a file") from None
    except OSError as error:
        raise StatusListError(f"the status list file {path} cannot be read ({error.strerror or error})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise StatusListError(f"the status list file {path} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise StatusListError(f"the status list file {path} is not a JSON object, so not a status list")
    return document


def list_problems(document: dict, *, issuer: dict, url: str, purpose: str = PURPOSE,
                  now: datetime | None = None) -> tuple[list[str], bytes | None]:
    """(what is wrong with ``document`` as the trusted issuer's list at ``url``, its bitstring).

    Checked as the spec's Validate Algorithm asks: its proof verifies (by the same trusted issuer),
    its type, its id is the URL the credential names, its validity dates, its purpose, its length.
    """
    problems: list[str] = []
    types = document.get("type")
    if not isinstance(types, list) or LIST_TYPE not in types or "VerifiableCredential" not in types:
        problems.append(f"it is not a {LIST_TYPE} (its type must list VerifiableCredential and {LIST_TYPE})")
        return problems, None
    if document.get("id") != url:
        problems.append(f"it is the list {document.get('id')}, not {url}, the list the credential names")
    claimed = document.get("issuer")
    claimed = claimed.get("id") if isinstance(claimed, dict) else claimed
    if claimed != issuer.get("id"):
        problems.append(f"it was issued by {claimed}, not by the trusted issuer {issuer.get('id')}")
    proof = proof_of(document)
    method = proof.get("verificationMethod") if proof else None
    if method is not None and method not in [m.get("id") for m in issuer.get("verificationMethod", [])]:
        problems.append(f"it was signed with {method}, which is not a key the trusted issuer publishes")
    try:
        problem = check_proof(document, profile_public_key(issuer))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        problem = f"its signature cannot be checked ({error})"
    if problem:
        problems.append(f"signature check failed: {problem}")
    moment = now or utc_now()
    try:
        if parse_datetime(document.get("validFrom")) > moment:
            problems.append(f"it is not valid yet (valid from {document['validFrom']})")
    except ValueError as error:
        problems.append(f"its validFrom is missing or malformed: {error}")
    if document.get("validUntil") is not None:
        try:
            if parse_datetime(document["validUntil"]) <= moment:
                problems.append(f"it expired on {document['validUntil']}: a newer list is needed")
        except ValueError as error:
            problems.append(f"its validUntil is malformed: {error}")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        problems.append("its credentialSubject is not a BitstringStatusList")
        return problems, None
    if subject.get("statusPurpose") != purpose:
        problems.append(f"it is a list for '{subject.get('statusPurpose')}', not for '{purpose}'")
    try:
        bitstring = decode(subject.get("encodedList"))
    except ValueError as error:
        problems.append(str(error))
        return problems, None
    return problems, bitstring


# --- Checking one credential's status ----------------------------------------------------------

ListLoader = Callable[[str], tuple[dict, str]]  # list URL -> (list document, the file it came from)


@dataclass
class StatusCheck:
    """The outcome of checking a credential's ``credentialStatus`` against its list."""

    url: str = ""
    index: int | None = None
    revoked: bool = False
    problems: list[str] = field(default_factory=list)   # why the status could not be established


def _entry_problems(entry) -> list[str]:
    if not isinstance(entry, dict):
        return ["credentialStatus must be a JSON object"]
    problems = []
    if entry.get("type") != ENTRY_TYPE:
        problems.append(f"credentialStatus.type is {entry.get('type')!r}; this verifier checks {ENTRY_TYPE} only")
    if entry.get("statusPurpose") != PURPOSE:
        problems.append(f"credentialStatus.statusPurpose is {entry.get('statusPurpose')!r}; only "
                        f"'{PURPOSE}' is checked")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not re.fullmatch(r"[0-9]+", index):
        problems.append(f"credentialStatus.statusListIndex must be a whole number written as a string, "
                        f"not {index!r}")
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        problems.append("credentialStatus.statusListCredential must be the URL of the status list")
    return problems


def check_status(entry, *, issuer: dict, load: ListLoader, now: datetime | None = None) -> StatusCheck:
    """Whether the credential with ``credentialStatus`` ``entry`` is revoked, by its signed list.

    Fails closed: when the list cannot be found, read or trusted, ``problems`` says why and which
    file to pass; the caller treats the credential as not valid.
    """
    malformed = _entry_problems(entry)
    if malformed:
        return StatusCheck(problems=[f"its revocation status cannot be checked: {'; '.join(malformed)}"])
    url, index = entry["statusListCredential"], int(entry["statusListIndex"])
    result = StatusCheck(url=url, index=index)
    fix = f"Pass an authentic copy of the list published at {url} with --status-list FILE."
    try:
        document, source = load(url)
    except StatusListError as error:
        result.problems.append(f"its revocation status cannot be checked: {error}. {fix}")
        return result
    problems, bitstring = list_problems(document, issuer=issuer, url=url, purpose=entry["statusPurpose"], now=now)
    if bitstring is not None and index >= len(bitstring) * 8:
        problems.append(f"index {index} is beyond its {len(bitstring) * 8} entries")
    if problems:
        result.problems.append(f"its revocation status cannot be checked: the status list {source} cannot be "
                               f"trusted ({'; '.join(problems)}). {fix}")
        return result
    result.revoked = get_bit(bitstring, index)
    return result


# --- Publishing the course's list --------------------------------------------------------------

def revoked_indexes(revocations: list[dict], url: str) -> set[int]:
    """The list positions of the revoked credentials that point at the list ``url``."""
    return {int(record["status_index"]) for record in revocations
            if record.get("status_list") == url and record.get("status_index") is not None}


def publish(course_root: Path, *, url: str, issuer: dict, private_key, revocations: list[dict],
            now: datetime | None = None) -> tuple[dict, bool]:
    """Write ``certificates/status-list.json``, signed, from ``revocations``; (the list, whether written).

    A list already there that verifies and holds exactly these bits is kept as it is (its date
    too), so certifying or revoking again changes nothing; any other file there is replaced.
    """
    path = status_list_path(course_root)
    revoked = revoked_indexes(revocations, url)
    try:
        current = load_status_list(path)
    except StatusListError:
        current = None
    if current is not None:
        problems, bitstring = list_problems(current, issuer=issuer, url=url, now=now)
        if not problems and bitstring == with_bits(revoked, len(bitstring) * 8):
            return current, False
    signed = sign(build_list(url, issuer, revoked, now or utc_now()), private_key, created=now)
    write_json(path, signed)
    return signed, True
