"""The course's record of issued certificates and the instructor's revocation list.

Both are JSON files in ``certificates/``:

- ``ledger.json``: every credential issued, with the claims it carries (learner, track, lab results,
  dates), its verification code and files, and whether it is the learner's current one for the
  track or was superseded by a later one. ``certify`` reads it to issue nothing twice and to notice
  learners who no longer meet a rule; ``verify`` reads it to say *what* was changed in a tampered file.
  Each entry also records the credential's position in the published status list (``status_index``,
  ``status_list``), so certify never hands out a position twice.
- ``revocations.json``: the credentials the instructor revoked (``autograder revoke``), with reason
  and date, and their status-list position when they have one. ``verify`` fails any credential
  listed there; the signed ``status-list.json`` is written from it (see :mod:`autograder.credentials.status_list`),
  because a bitstring can tell an employer *that* a credential was revoked, but not why.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.files import write_json
from autograder.credentials.keys import CERTIFICATE_DIR

LEDGER_FILE = "ledger.json"
REVOCATIONS_FILE = "revocations.json"


def certificate_dir(course_root: Path) -> Path:
    return Path(course_root) / CERTIFICATE_DIR


def ledger_path(course_root: Path) -> Path:
    return certificate_dir(course_root) / LEDGER_FILE


def revocations_path(course_root: Path) -> Path:
    return certificate_dir(course_root) / REVOCATIONS_FILE


def _read(path: Path, key: str) -> list[dict]:
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get(key, []))


def load_ledger(course_root: Path) -> list[dict]:
    return _read(ledger_path(course_root), "credentials")


def write_ledger(course_root: Path, entries: list[dict]) -> None:
    write_json(ledger_path(course_root), {"credentials": entries})


def load_revocations(course_root: Path | None = None, path: Path | None = None) -> list[dict]:
    return _read(Path(path) if path else revocations_path(course_root), "revoked")


def write_revocations(course_root: Path, entries: list[dict]) -> None:
    write_json(revocations_path(course_root), {"revoked": entries})


def find_revocation(revocations: list[dict], credential_id: str) -> dict | None:
    return next((entry for entry in revocations if entry.get("id") == credential_id), None)


def used_status_indexes(entries: list[dict]) -> set[int]:
    """The status-list positions already given to credentials in the ledger (superseded ones too)."""
    return {int(entry["status_index"]) for entry in entries if entry.get("status_index") is not None}


def find_entry(entries: list[dict], target: str) -> dict | None:
    """The ledger entry whose verification code, credential id or file matches ``target``."""
    wanted = target.strip()
    for entry in entries:
        if wanted.upper() == entry.get("code", "").upper() or wanted == entry.get("id"):
            return entry
        if wanted.endswith(".json") and Path(wanted).name == Path(entry.get("file", "")).name:
            return entry
    return None
