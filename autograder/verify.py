"""`autograder verify` and `autograder revoke`: check a certificate; withdraw one.

``verify`` checks a credential file against the course's issuer profile
(``certificates/issuer.json``, or another one given with ``--issuer``):

1. it is an ``OpenBadgeCredential`` in the Verifiable Credentials data model;
2. its issuer is the trusted issuer, and it was signed with that issuer's published key;
3. its Data Integrity signature (eddsa-jcs-2022) matches its content: any change to the name,
   a result, the track or a date breaks it. When the course's ledger knows the credential,
   the reason names what differs from what was issued;
4. it is valid now (``validFrom`` has passed, ``validUntil`` has not);
5. it is not on the instructor's revocation list (``certificates/revocations.json``).

Every failed check is reported with its reason; the exit code is 1 if any file fails.

``revoke`` adds a credential (by verification code, credential id or file) to the revocation list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.credentials import (
    check_proof, format_datetime, lab_results, learner, parse_datetime, profile_public_key, utc_now,
    verification_code,
)
from autograder.curriculum import CurriculumError, find_course_root
from autograder.keys import load_issuer_profile
from autograder.ledger import (
    find_entry, find_revocation, load_ledger, load_revocations, save_revocations,
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

    @property
    def ok(self) -> bool:
        return not self.reasons

    def describe(self) -> str:
        """The verdict as text; every value read from the file is shown on one line (see :func:`one_line`)."""
        source, track, name, learner_id = map(one_line, (self.source, self.track, self.name, self.learner_id))
        if self.ok:
            until = f", valid until {one_line(self.valid_until[:10])}" if self.valid_until else ", no expiry"
            return (f"VALID    {source}: {track} certificate of {name} ({learner_id}), "
                    f"issued {one_line(self.valid_from[:10])}{until}; code {self.code}")
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


def shape_problems(credential: dict) -> list[str]:
    """What in ``credential`` has the wrong JSON type for an OpenBadgeCredential, one reason per field.

    Checked before anything reads the fields, so a list where an object belongs, or a number where
    a signature belongs, is reported as such instead of stopping the verification of every file.
    """
    problems: list[str] = []

    def expect(where: str, value, *kinds: str, required: bool = False) -> bool:
        if value is _ABSENT:
            if required:
                problems.append(f"it has no {where}")
            return False
        if _kind(value) not in kinds:
            words = " or ".join(_WORDS[k] for k in kinds)
            problems.append(f"{where} must be {words}, not {_WORDS.get(_kind(value), _kind(value))}")
            return False
        return True

    def each(where: str, items, *kinds: str):
        for number, item in enumerate(items, start=1):
            if expect(f"{where}[{number}]", item, *kinds):
                yield number, item

    get = lambda mapping, key: mapping.get(key, _ABSENT)  # noqa: E731
    if expect("type", get(credential, "type"), "list", required=True):
        list(each("type", credential["type"], "string"))
    expect("id", get(credential, "id"), "string")
    expect("validFrom", get(credential, "validFrom"), "string")
    expect("validUntil", get(credential, "validUntil"), "string", "null")
    issuer = get(credential, "issuer")
    if expect("issuer", issuer, "object", "string", required=True) and isinstance(issuer, dict):
        expect("issuer.id", get(issuer, "id"), "string", required=True)
    subject = get(credential, "credentialSubject")
    if expect("credentialSubject", subject, "object", required=True):
        if expect("credentialSubject.identifier", get(subject, "identifier"), "list"):
            for number, entry in each("credentialSubject.identifier", subject["identifier"], "object"):
                for key in ("identityType", "identityHash"):
                    expect(f"credentialSubject.identifier[{number}].{key}", get(entry, key), "string")
        achievement = get(subject, "achievement")
        if expect("credentialSubject.achievement", achievement, "object"):
            expect("credentialSubject.achievement.name", get(achievement, "name"), "string")
            if expect("credentialSubject.achievement.tag", get(achievement, "tag"), "list"):
                list(each("credentialSubject.achievement.tag", achievement["tag"], "string"))
            where = "credentialSubject.achievement.resultDescription"
            if expect(where, get(achievement, "resultDescription"), "list"):
                for number, entry in each(where, achievement["resultDescription"], "object"):
                    for key in ("id", "name", "requiredValue"):
                        expect(f"{where}[{number}].{key}", get(entry, key), "string")
        if expect("credentialSubject.result", get(subject, "result"), "list"):
            for number, entry in each("credentialSubject.result", subject["result"], "object"):
                for key in ("resultDescription", "value"):
                    expect(f"credentialSubject.result[{number}].{key}", get(entry, key), "string")
    proof = get(credential, "proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if proof is not _ABSENT and not isinstance(proof, dict):
        problems.append(f"proof must be a JSON object (or a list holding one), not {_WORDS.get(_kind(proof), 'that')}")
    elif isinstance(proof, dict):
        for key in ("type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"):
            expect(f"proof.{key}", get(proof, key), "string")
    return problems


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
    tags = achievement.get("tag") or [""]
    if track != entry.get("track_title") or tags[0] != entry.get("track"):
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


def verify_credential(
    credential: dict,
    *,
    issuer: dict,
    revocations: list[dict] | None = None,
    ledger: list[dict] | None = None,
    now: datetime | None = None,
    source: str = "credential",
) -> Verification:
    """Check ``credential`` against the trusted ``issuer`` profile; see the module docstring."""
    result = Verification(source=source)
    if not isinstance(credential, dict):
        result.reasons.append("it is not a JSON object, so not a credential")
        return result
    types = credential.get("type") or []
    if isinstance(types, list) and ("VerifiableCredential" not in types or "OpenBadgeCredential" not in types):
        result.reasons.append("it is not an OpenBadgeCredential (its type must list VerifiableCredential and "
                              "OpenBadgeCredential)")
        return result
    malformed = shape_problems(credential)
    if malformed:
        result.reasons += [f"malformed: {problem}" for problem in malformed]
        return result
    result.name, result.learner_id = learner(credential)
    result.track = credential.get("credentialSubject", {}).get("achievement", {}).get("name", "")
    result.valid_from = credential.get("validFrom", "")
    result.valid_until = credential.get("validUntil", "") or ""
    result.credential_id = credential.get("id", "")
    if isinstance(credential.get("proof"), dict) and credential["proof"].get("proofValue"):
        result.code = verification_code(credential)

    # Issuer and key.
    try:
        public_key = profile_public_key(issuer)
    except (ValueError, KeyError) as error:
        result.reasons.append(f"the trusted issuer profile is unusable: {error}")
        return result
    issuer_field = credential.get("issuer")
    claimed = issuer_field.get("id") if isinstance(issuer_field, dict) else issuer_field
    if claimed != issuer["id"]:
        result.reasons.append(
            f"wrong issuer: it names {claimed}, not the trusted issuer {issuer.get('name')} ({issuer['id']})"
        )
    proof = credential.get("proof") if isinstance(credential.get("proof"), dict) else {}
    method = proof.get("verificationMethod", "")
    published = [m.get("id") for m in issuer.get("verificationMethod", [])]
    if proof and method not in published:
        result.reasons.append(f"wrong key: it was signed with {method}, which is not a key the trusted issuer "
                              "publishes")

    # Signature (and, if the ledger knows this credential, what was changed).
    problem = check_proof(credential, public_key)
    if problem:
        entry = next((e for e in (ledger or []) if e.get("id") == credential.get("id")), None)
        changes = _tampered_fields(credential, entry) if entry else []
        detail = f" ({'; '.join(changes)})" if changes else ""
        result.reasons.append(f"signature check failed: {problem}{detail}")

    # Dates.
    moment = now or utc_now()
    try:
        if parse_datetime(credential.get("validFrom")) > moment:
            result.reasons.append(f"not valid yet: valid from {credential['validFrom']}")
    except ValueError as error:
        result.reasons.append(f"its issue date (validFrom) is missing or malformed: {error}")
    if credential.get("validUntil"):
        try:
            until = parse_datetime(credential["validUntil"])
            if until <= moment:
                result.reasons.append(f"expired: it was valid until {credential['validUntil']} "
                                      f"(checked at {format_datetime(moment)})")
        except ValueError as error:
            result.reasons.append(f"its expiry date (validUntil) is malformed: {error}")

    # Revocation.
    revoked = find_revocation(revocations or [], credential.get("id", ""))
    if revoked:
        result.reasons.append(f"revoked on {revoked.get('revoked_at', '?')[:10]} by the issuer: "
                              f"{revoked.get('reason') or 'no reason given'}")
    return result


def verify_file(
    path: Path | str,
    *,
    course_root: Path | None = None,
    issuer_path: Path | None = None,
    revocations_path: Path | None = None,
    now: datetime | None = None,
) -> Verification:
    """Verify one credential file, trusting the course's issuer profile unless ``issuer_path`` is given."""
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
                                 source=str(path))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as error:
        # A shape the checks above do not foresee: fail this file, closed, and go on with the others.
        return Verification(source=str(path), reasons=[f"it could not be checked as a credential "
                                                       f"({type(error).__name__}: {error}), so it is not valid"])


def revoke(course_root: Path, target: str, reason: str, now: datetime | None = None) -> dict:
    """Add the credential named by ``target`` (code, id or file) to the revocation list."""
    ledger = load_ledger(course_root)
    entry = find_entry(ledger, target)
    if entry is None and Path(target).is_file():
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
        signed = isinstance(credential.get("proof"), dict) and credential["proof"].get("proofValue")
        tags = credential.get("credentialSubject", {}).get("achievement", {}).get("tag") or [""]
        entry = {"id": credential.get("id"), "code": verification_code(credential) if signed else "",
                 "student": student, "name": name, "track": tags[0]}
    if entry is None or not entry.get("id"):
        raise CurriculumError(
            f"No certificate matches '{target}'. Give its verification code (e.g. ABCD-EFGH-JKLM), its "
            "credential id (urn:uuid:...) or its .json file."
        )
    revocations = load_revocations(course_root)
    existing = find_revocation(revocations, entry["id"])
    if existing:
        return existing
    record = {"id": entry["id"], "code": entry.get("code", ""), "student": entry.get("student", ""),
              "name": entry.get("name", ""), "track": entry.get("track", ""), "reason": reason,
              "revoked_at": format_datetime(now or utc_now())}
    revocations.append(record)
    save_revocations(course_root, revocations)
    return record


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
                        help="revocation list JSON (default: certificates/revocations.json in the course)")
    parser.set_defaults(run=run_verify)

    revoke_parser = subparsers.add_parser(
        "revoke", help="withdraw a certificate (adds it to the revocation list)",
        description="Add a certificate to certificates/revocations.json; `verify` then fails it.",
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
        outcome = verify_file(path, course_root=root, issuer_path=args.issuer, revocations_path=args.revocations)
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
    return 0
