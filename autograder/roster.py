"""The class list: read a roster CSV (id, name, email) and find which learner a file belongs to.

LMS downloads name learners in their own ways (Canvas: ``smithjane`` login and a numeric user id;
Moodle: "Jane Smith"; a folder per learner: whatever the instructor typed), so every learner is
indexed under each of the forms an LMS might use.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
ID_COLUMNS = ("id", "student_id", "learner_id", "sis user id", "username")
NAME_COLUMNS = ("name", "full name", "student")
EMAIL_COLUMNS = ("email", "e-mail", "email address")


class RosterError(ValueError):
    """The roster file cannot be used; the message names the file, the row and the fix."""


@dataclass(frozen=True)
class Learner:
    id: str
    name: str = ""
    email: str = ""

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0] if self.name else ""

    @property
    def last_name(self) -> str:
        return self.name.split(" ", 1)[1] if " " in self.name else ""


def squash(text: str) -> str:
    """Lower-case letters and digits only, accents removed: "Jane O'Brien-Smith" -> "janeobriensmith"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _column(header: list[str], choices: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    for choice in choices:
        if choice in lowered:
            return lowered[choice]
    return None


def load_roster(path: Path) -> list[Learner]:
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"Roster {path} does not exist. Pass a CSV file with the columns id,name,email.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"Roster {path} is not UTF-8 text. Save it as 'CSV UTF-8' and try again.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    id_col = _column(header, ID_COLUMNS)
    if id_col is None:
        raise RosterError(f"Roster {path} has no 'id' column (found: {', '.join(header) or 'nothing'}). "
                          "The first line must be a header such as: id,name,email")
    name_col, email_col = _column(header, NAME_COLUMNS), _column(header, EMAIL_COLUMNS)
    learners, seen = [], set()
    for line, row in enumerate(reader, start=2):
        learner_id = (row.get(id_col) or "").strip()
        if not learner_id:
            raise RosterError(f"Roster {path}, line {line}: the id is empty. Give every learner an id.")
        if not SAFE_ID.match(learner_id) or learner_id in (".", ".."):
            raise RosterError(
                f"Roster {path}, line {line}: id '{learner_id}' can't be a folder name. Use letters, "
                "digits and . _ @ + - only (e.g. the learner's username)."
            )
        if learner_id in seen:
            raise RosterError(f"Roster {path}, line {line}: id '{learner_id}' appears twice. Ids must be unique.")
        seen.add(learner_id)
        learners.append(Learner(learner_id, (row.get(name_col) or "").strip() if name_col else "",
                                (row.get(email_col) or "").strip() if email_col else ""))
    if not learners:
        raise RosterError(f"Roster {path} lists no learners. Add one line per learner: id,name,email")
    return learners


class RosterIndex:
    """Find a learner from whatever an LMS put in a file name."""

    def __init__(self, learners: list[Learner]):
        self.learners = {learner.id: learner for learner in learners}
        self._keys: dict[str, set[str]] = {}
        for learner in learners:
            keys = {learner.id.lower(), squash(learner.id)}
            if learner.email:
                keys |= {learner.email.lower(), squash(learner.email.split("@")[0])}
            if learner.name:
                parts = learner.name.split()
                keys |= {squash(learner.name), squash("".join(parts[1:] + parts[:1]))}  # Canvas: lastfirst
            for key in keys - {""}:
                self._keys.setdefault(key, set()).add(learner.id)

    def find(self, *candidates: str) -> tuple[Learner | None, str]:
        """The learner matching the first candidate that matches exactly one; else (None, why)."""
        ambiguous = []
        for candidate in candidates:
            if not candidate:
                continue
            for key in (candidate.lower(), squash(candidate)):
                ids = self._keys.get(key, set())
                if len(ids) == 1:
                    return self.learners[next(iter(ids))], ""
                if len(ids) > 1:
                    ambiguous.append(f"'{candidate}' matches {', '.join(sorted(ids))}")
        if ambiguous:
            return None, "; ".join(ambiguous) + ": rename the file to the learner's roster id"
        shown = ", ".join(f"'{c}'" for c in candidates if c)
        return None, f"no learner in the roster matches {shown}: add them to the roster, or fix the name"
