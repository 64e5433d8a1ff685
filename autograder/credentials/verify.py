"""`autograder verify` and `autograder revoke`: check a certificate; withdraw one.

``verify`` checks a credential file against the course's issuer profile
(``certificates/issuer.json``, or another one given with ``--issuer``):

1. it is an ``OpenBadgeCredential`` in the Verifiable Credentials data model, valid against
   1EdTech's OB 3.0 JSON schema (pinned in ``autograder/credentials/schemas/``);
2. its issuer is the trusted issuer, and it was signed with that issuer's published key;
3. its Data Integrity signature (eddsa-rdfc-2022, or eddsa-jcs-2022 for older credentials) matches
   its content: any change to the name, a result, the track, a date or its status-list position
   breaks it. When the course's ledger knows the credential, the reason names what differs from
   what was issued;
4. it is valid now (``validFrom`` has passed, ``validUntil`` has not);
5. it is not revoked: when it carries a ``credentialStatus`` (W3C Bitstring Status List), its bit
   in the signed status list is 0. The list is the course's ``certificates/status-list.json`` when
   the credential names this course's list URL, or the file given with ``--status-list``; it is
   never downloaded. The list must verify as the same trusted issuer's, with the URL the credential
   names; a list that is missing, unreadable or forged makes the credential INVALID (fail closed).
   It is also not on the instructor's record (``certificates/revocations.json``), which supplies
   the reason and also covers older credentials that carry no ``credentialStatus``.

Every failed check is reported with its reason; the exit code is 1 if any file fails.

``revoke`` records a credential (by verification code, credential id or file) in revocations.json
and, when it has a status-list position, re-signs ``certificates/status-list.json`` with its bit set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.credentials.openbadge import (
    check_proof, format_datetime, lab_results, learner, parse_datetime, profile_public_key, proof_of, utc_now,
    validate_ob_schema,
    verification_code,
)
from autograder.curriculum import CurriculumError, find_course_root, load_curriculum
from autograder.credentials.keys import IssuerKeyError, load_issuer_profile, load_private_key, private_key_path
from autograder.credentials.ledger import (
    find_entry, find_revocation, load_ledger, load_revocations, write_revocations,
)
from autograder.credentials.status_list import (
    ListLoader, StatusListError, check_status, list_url, publish, load_status_list,
    status_list_path as course_list_file,
)


@dataclass
class Verification:
    source: str
    reasons: list[str] = field(default_factory=list)
    name: str = ""
    learner_id: str = ""
    track: str = ""
    valid_from: str = ""
    valid_until: str = ""
    code: str = ""
    credential_id: str = ""
    status_checked: bool = False  # its credentialStatus was checked against a trusted status list

    @property
    def ok(self) -> bool:
        return not self.reasons

    def describe(self) -> str:
        """The verdict as text; every value read from the file is shown on one line (see :func:`one_line`)."""
        source, track, name, learner_id = map(one_line, (self.source, self.track, self.name, self.learner_id))
        if self.ok:
            until = f", valid until {one_line(self.valid_until[:10])}" if self.valid_until else ", no expiry"
            status = "; not revoked (status list checked)" if self.status_checked else ""
            return (f"VALID    {source}: {track} certificate of {name} ({learner_id}), "
                    f"issued {one_line(self.valid_from[:10])}{until}; code {self.code}{status}")
        lines = [f"INVALID  {source}" + (f" ({track}, {name})" if self.name else "")]
        lines += [f"  - {one_line(reason)}" for reason in self.reasons]
        return "\n".join(lines)

    __str__ = describe


def one_line(value) -> str:
    """``value`` as printable text on one line: control characters (newlines, terminal escapes,
    bidirectional overrides) are shown as escapes, so text inside a credential cannot print a line
    of its own, e.g. a fake ``VALID`` verdict, or recolour the terminal."""
    text = value if isinstance(value, str) else str(value)
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


_ABSENT = object()
_KINDS = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number",
          type(None): "null"}
_WORDS = {"object": "a JSON object", "list": "a list", "string": "a string", "number": "a number",
          "boolean": "true or false", "null": "null"}


def _kind(value) -> str:
    return _KINDS.get(type(value), type(value).__name__)


class _Shape:
    """Collects what has the wrong JSON type, one reason per field (see :func:`shape_problems`)."""

    def __init__(self):
        self.problems: list[str] = []

    def expect(self, where: str, value, *kinds: str, required: bool = False) -> bool:
        """True when ``value`` is one of ``kinds``; otherwise note why (absent is fine unless required)."""
        if value is _ABSENT:
            if required:
                self.problems.append(f"it has no {where}")
            return False
        if _kind(value) not in kinds:
            words = " or ".join(_WORDS[k] for k in kinds)
            self.problems.append(f"{where} must be {words}, not {_WORDS.get(_kind(value), _kind(value))}")
            return False
        return True

    def each(self, where: str, items, *kinds: str):
        """The (number, item) pairs of ``items`` that are of ``kinds``, numbered from 1 as reasons show them."""
        for number, item in enumerate(items, start=1):
            if self.expect(f"{where}[{number}]", item, *kinds):
                yield number, item

    def strings(self, where: str, entry: dict, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.expect(f"{where}.{key}", _get(entry, key), "string")


def _get(mapping: dict, key: str):
    return mapping.get(key, _ABSENT)


def shape_problems(credential: dict) -> list[str]:
    """What in ``credential`` has the wrong JSON type for an OpenBadgeCredential, one reason per field.

    Checked before anything reads the fields, so a list where an object belongs, or a number where
    a signature belongs, is reported as such instead of stopping the verification of every file.
    """
    shape = _Shape()
    if shape.expect("type", _get(credential, "type"), "list", required=True):
        list(shape.each("type", credential["type"], "string"))
    shape.expect("id", _get(credential, "id"), "string")
    shape.expect("validFrom", _get(credential, "validFrom"), "string")
    shape.expect("validUntil", _get(credential, "validUntil"), "string", "null")
    issuer = _get(credential, "issuer")
    if shape.expect("issuer", issuer, "object", "string", required=True) and isinstance(issuer, dict):
        shape.expect("issuer.id", _get(issuer, "id"), "string", required=True)
    subject = _get(credential, "credentialSubject")
    if shape.expect("credentialSubject", subject, "object", required=True):
        _subject_shape(shape, subject)
    _proof_shape(shape, _get(credential, "proof"))
    return shape.problems


def _subject_shape(shape: _Shape, subject: dict) -> None:
    """The credentialSubject's identifiers, achievement and results."""
    if shape.expect("credentialSubject.identifier", _get(subject, "identifier"), "list"):
        for number, entry in shape.each("credentialSubject.identifier", subject["identifier"], "object"):
            shape.strings(f"credentialSubject.identifier[{number}]", entry, ("identityType", "identityHash"))
    achievement = _get(subject, "achievement")
    if shape.expect("credentialSubject.achievement", achievement, "object"):
        shape.expect("credentialSubject.achievement.name", _get(achievement, "name"), "string")
        if shape.expect("credentialSubject.achievement.tag", _get(achievement, "tag"), "list"):
            list(shape.each("credentialSubject.achievement.tag", achievement["tag"], "string"))
        where = "credentialSubject.achievement.resultDescription"
        if shape.expect(where, _get(achievement, "resultDescription"), "list"):
            for number, entry in shape.each(where, achievement["resultDescription"], "object"):
                shape.strings(f"{where}[{number}]", entry, ("id", "name", "requiredValue"))
    if shape.expect("credentialSubject.result", _get(subject, "result"), "list"):
        for number, entry in shape.each("credentialSubject.result", subject["result"], "object"):
            shape.strings(f"credentialSubject.result[{number}]", entry, ("resultDescription", "value"))


def _proof_shape(shape: _Shape, proof) -> None:
    """The proof: one JSON object (or a list holding one) whose fields are strings."""
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if proof is not _ABSENT and not isinstance(proof, dict):
        shape.problems.append(f"proof must be a JSON object (or a list holding one), not "
                              f"{_WORDS.get(_kind(proof), 'that')}")
    elif isinstance(proof, dict):
        shape.strings("proof", proof, ("type", "cryptosuite", "created", "verificationMethod", "proofPurpose",
                                       "proofValue"))


def _tampered_fields(credential: dict, entry: dict) -> list[str]:
    """What the file states differently from what the ledger recorded at issue."""
    changes = []
    name, learner_id = learner(credential)
    achievement = credential.get("credentialSubject", {}).get("achievement", {})
    if name != entry.get("name"):
        changes.append(f"the learner's name reads '{name}' but '{entry.get('name')}' was issued")
    if learner_id != entry.get("student"):
        changes.append(f"the learner id reads '{learner_id}' but '{entry.get('student')}' was issued")
    track = achievement.get("name")
    # Tags are compared as a set: the RDF signature does not cover the order of a JSON list.
    if track != entry.get("track_title") or entry.get("track") not in (achievement.get("tag") or []):
        changes.append(f"the track reads '{track}' but '{entry.get('track_title')}' was issued")
    results = lab_results(credential)
    for lab_id, value in entry.get("labs", {}).items():
        if results.get(lab_id) != value:
            changes.append(f"the result for {lab_id} reads {results.get(lab_id)} % but {value} % was issued")
    for lab_id in results:
        if lab_id not in entry.get("labs", {}):
            changes.append(f"a result for {lab_id} was added")
    if credential.get("validFrom") != entry.get("valid_from"):
        changes.append(f"the issue date reads {credential.get('validFrom')} but {entry.get('valid_from')} was issued")
    if credential.get("validUntil") != entry.get("valid_until"):
        changes.append(f"the expiry date reads {credential.get('validUntil')} but {entry.get('valid_until')} was issued")
    return changes


def schema_problems(credential: dict) -> list[str]:
    """What breaks 1EdTech's OB 3.0 schema. A single proof object is read as a set of one: the same
    RDF, and the form credentials issued before the schema check had (the schema wants a list)."""
    proof = credential.get("proof")
    return validate_ob_schema({**credential, "proof": [proof]} if isinstance(proof, dict) else credential)


def _track_id(credential: dict, course_root: Path) -> str:
    """The course track a credential's achievement names, found by its tags (a set, so not by position)."""
    tags = credential.get("credentialSubject", {}).get("achievement", {}).get("tag") or []
    tracks = [track.id for track in load_curriculum(course_root).tracks]
    return next((tag for tag in tags if tag in tracks), "")


def verify_credential(
    credential: dict,
    *,
    issuer: dict,
    revocations: list[dict] | None = None,
    ledger: list[dict] | None = None,
    now: datetime | None = None,
    source: str = "credential",
    status_lists: ListLoader | None = None,
) -> Verification:
    """Check ``credential`` against the trusted ``issuer`` profile; see the module docstring.

    ``status_lists`` finds the status list a ``credentialStatus`` names (URL -> document and file);
    without it such a credential cannot be checked for revocation, so it is not valid.
    """
    result = Verification(source=source)
    result.reasons += _not_a_credential(credential)
    if result.reasons:
        return result
    _read_claims(credential, result)
    result.reasons += [f"it does not follow the Open Badges 3.0 schema: {problem}" for problem in schema_problems(credential)]
    try:
        public_key = profile_public_key(issuer)
    except (ValueError, KeyError) as error:
        result.reasons.append(f"the trusted issuer profile is unusable: {error}")
        return result
    result.reasons += _issuer_problems(credential, issuer)
    result.reasons += _signature_problems(credential, public_key, ledger or [])
    moment = now or utc_now()
    result.reasons += _date_problems(credential, moment)
    revoked, result.status_checked = _revocation_problems(credential, issuer, revocations or [],
                                                          status_lists or _no_list, moment)
    result.reasons += revoked
    return result


def _not_a_credential(credential) -> list[str]:
    """Why ``credential`` cannot be read as an OpenBadgeCredential at all (then nothing else is checked)."""
    if not isinstance(credential, dict):
        return ["it is not a JSON object, so not a credential"]
    types = credential.get("type") or []
    if isinstance(types, list) and ("VerifiableCredential" not in types or "OpenBadgeCredential" not in types):
        return ["it is not an OpenBadgeCredential (its type must list VerifiableCredential and "
                "OpenBadgeCredential)"]
    return [f"malformed: {problem}" for problem in shape_problems(credential)]


def _read_claims(credential: dict, result: Verification) -> None:
    """Copy what the credential claims (learner, track, dates, id, code) into ``result`` for the verdict."""
    result.name, result.learner_id = learner(credential)
    result.track = credential.get("credentialSubject", {}).get("achievement", {}).get("name", "")
    result.valid_from = credential.get("validFrom", "")
    result.valid_until = credential.get("validUntil", "") or ""
    result.credential_id = credential.get("id", "")
    if (proof_of(credential) or {}).get("proofValue"):
        result.code = verification_code(credential)


def _issuer_problems(credential: dict, issuer: dict) -> list[str]:
    """Whether the credential names the trusted issuer and was signed with a key that issuer publishes."""
    problems = []
    issuer_field = credential.get("issuer")
    claimed = issuer_field.get("id") if isinstance(issuer_field, dict) else issuer_field
    if claimed != issuer["id"]:
        problems.append(
            f"wrong issuer: it names {claimed}, not the trusted issuer {issuer.get('name')} ({issuer['id']})"
        )
    proof = proof_of(credential) or {}
    method = proof.get("verificationMethod", "")
    published = [m.get("id") for m in issuer.get("verificationMethod", [])]
    if proof and method not in published:
        problems.append(f"wrong key: it was signed with {method}, which is not a key the trusted issuer "
                        "publishes")
    return problems


def _signature_problems(credential: dict, public_key, ledger: list[dict]) -> list[str]:
    """Whether the signature matches the content; if the ledger knows the credential, what was changed."""
    problem = check_proof(credential, public_key)
    if not problem:
        return []
    entry = next((e for e in ledger if e.get("id") == credential.get("id")), None)
    changes = _tampered_fields(credential, entry) if entry else []
    detail = f" ({'; '.join(changes)})" if changes else ""
    return [f"signature check failed: {problem}{detail}"]


def _date_problems(credential: dict, moment: datetime) -> list[str]:
    """Whether the credential is valid at ``moment``: issued already, not expired, dates well-formed."""
    problems = []
    try:
        if parse_datetime(credential.get("validFrom")) > moment:
            problems.append(f"not valid yet: valid from {credential['validFrom']}")
    except ValueError as error:
        problems.append(f"its issue date (validFrom) is missing or malformed: {error}")
    if credential.get("validUntil"):
        try:
            until = parse_datetime(credential["validUntil"])
            if until <= moment:
                problems.append(f"expired: it was valid until {credential['validUntil']} "
                                f"(checked at {format_datetime(moment)})")
        except ValueError as error:
            problems.append(f"its expiry date (validUntil) is malformed: {error}")
    return problems


def _revocation_problems(credential: dict, issuer: dict, revocations: list[dict], status_lists: ListLoader,
                         moment: datetime) -> tuple[list[str], bool]:
    """Whether it is revoked, by the signed status list and by the instructor's record (which knows the
    reason); and whether its credentialStatus was checked against a trusted list."""
    record = find_revocation(revocations, credential.get("id", ""))
    why = f"{record.get('reason') or 'no reason given'} (revoked on {record.get('revoked_at', '?')[:10]})" \
        if record else ""
    problems, checked = [], False
    if "credentialStatus" in credential:
        status = check_status(credential["credentialStatus"], issuer=issuer, load=status_lists, now=moment)
        problems += status.problems
        checked = not status.problems
        if status.revoked:
            problems.append(f"revoked by the issuer (status list {status.url}, index {status.index})"
                            + (f": {why}" if why else ""))
            return problems, checked
    if record:
        problems.append(f"revoked on {record.get('revoked_at', '?')[:10]} by the issuer: "
                        f"{record.get('reason') or 'no reason given'}")
    return problems, checked


def _no_list(url: str):
    raise StatusListError(f"no status list was given for {url}")


def status_list_loader(course_root: Path | None = None, list_file: Path | None = None) -> ListLoader:
    """Where the status list a credential names is found: never on the network.

    A file given with ``--status-list`` is used for any URL (its id must still match, checked later);
    otherwise the course's own ``certificates/status-list.json`` serves its own list URL only.
    """
    def load(url: str) -> tuple[dict, str]:
        if list_file is not None:
            return load_status_list(list_file), str(list_file)
        own = _own_list_url(course_root)
        if own and url == own:
            return load_status_list(course_list_file(course_root)), str(course_list_file(course_root))
        where = f"this course's list is {own}" if own else "no course folder with a publish_url was found"
        raise StatusListError(f"the status list {url} is not this course's ({where}), and nothing is "
                              "downloaded")
    return load


def _own_list_url(course_root: Path | None) -> str | None:
    if course_root is None:
        return None
    try:
        curriculum = load_curriculum(course_root)
        return list_url(curriculum) if curriculum.publish_url else None
    except CurriculumError:
        return None


def verify_file(
    path: Path | str,
    *,
    course_root: Path | None = None,
    issuer_path: Path | None = None,
    revocations_path: Path | None = None,
    status_list_path: Path | None = None,
    now: datetime | None = None,
) -> Verification:
    """Verify one credential file, trusting the course's issuer profile unless ``issuer_path`` is given.

    Its status list is ``status_list_path`` if given, else the course's own (see :func:`status_list_loader`).
    """
    path = Path(path)
    try:
        credential = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Verification(source=str(path), reasons=["the file does not exist"])
    except IsADirectoryError:
        return Verification(source=str(path), reasons=["it is a folder, not a credential file"])
    except OSError as error:
        return Verification(source=str(path), reasons=[f"it cannot be read ({error.strerror or error})"])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Verification(source=str(path), reasons=[f"it is not valid JSON ({error})"])
    issuer = load_issuer_profile(course_root, issuer_path)
    revocations = load_revocations(course_root, revocations_path) if (course_root or revocations_path) else []
    ledger = load_ledger(course_root) if course_root else []
    try:
        return verify_credential(credential, issuer=issuer, revocations=revocations, ledger=ledger, now=now,
                                 source=str(path), status_lists=status_list_loader(course_root, status_list_path))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as error:
        # A shape the checks above do not foresee: fail this file, closed, and go on with the others.
        return Verification(source=str(path), reasons=[f"it could not be checked as a credential "
                                                       f"({type(error).__name__}: {error}), so it is not valid"])


def revoke(course_root: Path, target: str, reason: str, now: datetime | None = None) -> dict:
    """Record the credential named by ``target`` (code, id or file) as revoked; set its status-list bit.

    revocations.json is written first (the instructor's record, with the reason); the signed list is
    then written from it, so running ``revoke`` again after an interrupted run completes the job, and
    revoking twice changes nothing.
    """
    ledger = load_ledger(course_root)
    entry = find_entry(ledger, target)
    if entry is None and Path(target).is_file():
        entry = _entry_from_file(target, ledger, course_root)
    if entry is None or not entry.get("id"):
        raise CurriculumError(
            f"No certificate matches '{target}'. Give its verification code (e.g. ABCD-EFGH-JKLM), its "
            "credential id (urn:uuid:...) or its .json file."
        )
    revocations = load_revocations(course_root)
    record = find_revocation(revocations, entry["id"])
    if record is None:
        record = {"id": entry["id"], "code": entry.get("code", ""), "student": entry.get("student", ""),
                  "name": entry.get("name", ""), "track": entry.get("track", ""), "reason": reason,
                  "revoked_at": format_datetime(now or utc_now())}
        if entry.get("status_index") is not None:
            record.update(status_index=entry["status_index"], status_list=entry["status_list"])
        revocations.append(record)
        write_revocations(course_root, revocations)
    if record.get("status_index") is not None:
        _publish_status_list(course_root, revocations, record, now)
    return record


def _entry_from_file(target: str, ledger: list[dict], course_root: Path) -> dict:
    """The ledger entry of the credential in file ``target``, or one made from the file when the
    ledger does not know it (a credential issued before the ledger, or by a copy of this course)."""
    try:
        credential = json.loads(Path(target).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CurriculumError(f"{target} is not valid JSON ({error}), so not a credential to revoke. "
                              "Give its verification code or credential id instead.") from None
    problems = ["it is not a JSON object"] if not isinstance(credential, dict) else shape_problems(credential)
    if problems:
        raise CurriculumError(f"{target} is not a credential ({'; '.join(problems)}). Give its verification "
                              "code or credential id instead.")
    name, student = learner(credential)
    signed = bool((proof_of(credential) or {}).get("proofValue"))
    # Its list position is taken from the file only if this course signed it: an edited file must
    # not set the bit of someone else's credential.
    position = _status_position(credential) if signed and _signed_here(credential, course_root) else {}
    return find_entry(ledger, credential.get("id") or "") or {
        "id": credential.get("id"), "code": verification_code(credential) if signed else "",
        "student": student, "name": name, "track": _track_id(credential, course_root), **position}


def _signed_here(credential: dict, course_root: Path) -> bool:
    try:
        return check_proof(credential, profile_public_key(load_issuer_profile(course_root))) is None
    except (CurriculumError, ValueError, KeyError, TypeError):
        return False


def _status_position(credential: dict) -> dict:
    """``status_index`` and ``status_list`` from a credential file's well-formed credentialStatus, if any."""
    status = credential.get("credentialStatus")
    index = status.get("statusListIndex") if isinstance(status, dict) else None
    if not (isinstance(index, str) and index.isdigit() and isinstance(status.get("statusListCredential"), str)):
        return {}
    return {"status_index": int(index), "status_list": status["statusListCredential"]}


def _publish_status_list(course_root: Path, revocations: list[dict], record: dict, now: datetime | None) -> None:
    """Re-sign the course's status list with the bits of every revocation on it."""
    url = list_url(load_curriculum(course_root))
    if record["status_list"] != url:
        raise StatusListError(
            f"{record.get('code') or record['id']} is recorded as revoked in revocations.json, but its status "
            f"list is {record['status_list']}, not this course's {url}, so no bit was set. If curriculum.yml's "
            "publish_url changed, restore the old value to revoke it in its list."
        )
    try:
        if not private_key_path(course_root).exists():  # never suggest a new key: it would fail every certificate
            raise IssuerKeyError(f"there is no issuer key at {private_key_path(course_root)}.")
        key = load_private_key(course_root)
    except IssuerKeyError as error:
        raise StatusListError(
            f"{record.get('code') or record['id']} is recorded as revoked in revocations.json, but the status list "
            f"could not be signed: {error} Restore the issuer key from your backup and run this revoke again; "
            "only then does the published list show the revocation."
        ) from None
    publish(course_root, url=url, issuer=load_issuer_profile(course_root), private_key=key,
            revocations=revocations, now=now)


# --- CLI ---------------------------------------------------------------------------------------

def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify", help="check certificate files: signature, issuer, expiry, revocation",
        description="Check Open Badges credential files against the course's issuer profile and "
                    "revocation list. Exit code 1 if any file fails.",
    )
    parser.add_argument("files", nargs="*", type=Path, help="credential .json files")
    parser.add_argument("--code", action="append", default=[],
                        help="verify the course's certificate with this verification code (repeatable)")
    parser.add_argument("--issuer", type=Path, default=None,
                        help="trusted issuer profile JSON (default: certificates/issuer.json in the course)")
    parser.add_argument("--revocations", type=Path, default=None,
                        help="the instructor's revocation record JSON (default: certificates/revocations.json "
                             "in the course)")
    parser.add_argument("--status-list", type=Path, default=None, dest="status_list",
                        help="the signed status list the credentials name, as a file (default: "
                             "certificates/status-list.json for this course's own list; nothing is downloaded)")
    parser.set_defaults(run=run_verify)

    revoke_parser = subparsers.add_parser(
        "revoke", help="withdraw a certificate (revocation record and the signed status list)",
        description="Record a certificate in certificates/revocations.json and set its bit in the signed "
                    "certificates/status-list.json (publish that file again); `verify` then fails it.",
    )
    revoke_parser.add_argument("target", help="verification code, credential id (urn:uuid:...) or .json file")
    revoke_parser.add_argument("--reason", required=True, help="why it is withdrawn (shown by verify)")
    revoke_parser.set_defaults(run=run_revoke)


def _course(args) -> Path | None:
    try:
        return find_course_root(args.course) if args.course else find_course_root()
    except CurriculumError:
        return None


def run_verify(args) -> int:
    root = _course(args)
    files = list(args.files)
    for code in args.code:
        entry = find_entry(load_ledger(root), code) if root else None
        if entry is None:
            print(f"INVALID  code {code}\n  - no certificate with this code was issued by this course")
            files.append(None)
            continue
        files.append(root / entry["file"])
    if not files:
        print("Nothing to verify: give credential files, or --code CODE.")
        return 2
    if root is None and args.issuer is None:
        raise CurriculumError("Not in a course folder: pass the issuer's profile with --issuer PROFILE.json.")
    failed = 0
    for path in files:
        if path is None:
            failed += 1
            continue
        outcome = verify_file(path, course_root=root, issuer_path=args.issuer, revocations_path=args.revocations,
                              status_list_path=args.status_list)
        print(outcome.describe())
        failed += not outcome.ok
    return 1 if failed else 0


def run_revoke(args) -> int:
    root = _course(args)
    if root is None:
        raise CurriculumError("Run `revoke` in the course folder (or pass --course): the list lives there.")
    record = revoke(root, args.target, args.reason)
    print(f"Revoked {record.get('code') or record['id']} ({record.get('name')}, {record.get('track')}): "
          f"{record['reason']}. `autograder verify` now fails it.")
    if record.get("status_index") is not None:
        print(f"Updated the signed list {course_list_file(root)}: publish it again at {record['status_list']} "
              "so employers see the revocation.")
    return 0
