"""What happened to each submission when it was graded: one durable record per (learner, lab).

nbgrader's gradebook stores scores but not *why* a submission has none (a dead kernel, a timeout, a
corrupt file) nor whether a person must look at it. Certificates must not be issued on a
submission under review, so that verdict is kept here, next to the gradebook, in ``outcomes.json``.
Only the grading process writes it (the gradebook's single writer).

Rewriting the whole file after every submission made a cohort's saving quadratic (0.14-0.28 s per
record at 1,000 outcomes), so a run appends each outcome as one JSON line to ``outcomes.journal``
(write, fsync: O(1) per submission) and folds the journal into ``outcomes.json`` once, when the
store is closed (``with OutcomeStore(root) as store:``) or first written to by the next run. The
file is always replaced atomically (temporary file, fsync, rename). A run killed at any moment
leaves ``outcomes.json`` whole plus a journal whose last line may be cut short: readers apply the
journal's complete lines over the file and ignore a cut one (that submission has no outcome, so the
next run grades it again; its gradebook rows are replaced, never added twice).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from autograder.curriculum import CurriculumError
from autograder.files import write_json

OUTCOMES_FILE = "outcomes.json"
JOURNAL_FILE = "outcomes.journal"

GRADED = "graded"
FAILED = "failed"          # the kernel died or the grader could not run the notebook
TIMEOUT = "timeout"        # a cell or the whole notebook ran past its budget
CORRUPT = "corrupt"        # the file is not a notebook, or its grading metadata is broken
MISSING = "missing"        # the learner's folder has no notebook for this lab
NEEDS_REVIEW = "needs review"


@dataclass
class Outcome:
    """The grading verdict on one learner's submission of one lab.

    ``needs_review`` means a person must look before the score can be trusted (the grader could
    not run the notebook to the end, or something in it looks tampered with). ``manual_pending``
    means only that manually graded answers still wait for an instructor's marks.
    """

    student: str
    lab: str
    status: str
    reason: str = ""
    needs_review: bool = False
    late: bool = False
    seconds_late: float = 0.0
    score: float | None = None
    max_score: float | None = None
    manual_pending: bool = False
    fingerprint: str = ""
    graded_at: str = ""
    execution_seconds: float = 0.0
    checks: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.lab)


def outcomes_path(course_root: Path) -> Path:
    return Path(course_root) / OUTCOMES_FILE


def journal_path(course_root: Path) -> Path:
    return Path(course_root) / JOURNAL_FILE


class OutcomesError(CurriculumError):
    """``outcomes.json`` cannot be read; the message names the file and the fix.

    A :class:`CurriculumError`, so every command reports it through the CLI's one error path.
    """


def _corrupt(path: Path, problem: str) -> OutcomesError:
    return OutcomesError(
        f"{path} {problem}. It is written atomically, so this means it was edited by hand or damaged: "
        "restore it from a backup, or move it away and run `autograder grade` again (the submissions in "
        "submitted/ are untouched; each is then graded again)."
    )


_FIELD_TYPES = {f.name: f.type for f in fields(Outcome)}
_CHECKS = {"str": ((str,), "text"), "bool": ((bool,), "true or false"), "float": ((int, float), "a number"),
           "float | None": ((int, float, type(None)), "a number or null"), "list[dict]": ((list,), "a list")}
REQUIRED = ("student", "lab", "status")


def _outcome(path: Path, number: int, entry, corrupt=_corrupt) -> Outcome:
    """One entry of the file as an :class:`Outcome`, or the reason it is not one (``corrupt`` words it)."""
    if not isinstance(entry, dict):
        raise corrupt(path, f"is damaged: entry {number} must be a JSON object, not {type(entry).__name__}")
    for key in REQUIRED:
        if key not in entry:
            raise corrupt(path, f"is damaged: entry {number} has no '{key}'")
    values = {}
    for key, value in entry.items():
        if key not in _FIELD_TYPES:
            continue  # written by a newer version: ignored, as before
        kinds, words = _CHECKS.get(_FIELD_TYPES[key], ((object,), "any value"))
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # JSON true is no number
            raise corrupt(path, f"is damaged: entry {number}: {key} must be {words}, not {value!r}")
        values[key] = value
    return Outcome(**values)


def _read_file(path: Path) -> list[Outcome]:
    """The outcomes in ``outcomes.json`` itself (empty if there is none)."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _corrupt(path, f"is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("outcomes", []), list):
        raise _corrupt(path, "must be a JSON object with an 'outcomes' list")
    return [_outcome(path, number, entry) for number, entry in enumerate(data.get("outcomes", []), start=1)]


def _corrupt_journal(path: Path, problem: str) -> OutcomesError:
    return OutcomesError(
        f"{path} {problem}. Only whole lines are appended to it (entry N is line N), so it was edited by "
        "hand or damaged: move it away and run `autograder grade` again (the submissions it recorded are "
        "then graded again; submitted/ is untouched)."
    )


def _read_journal(path: Path) -> list[Outcome]:
    """The outcomes appended to the journal by a run not yet folded into ``outcomes.json``.

    A last line without its newline was being written when the run was killed: it is ignored.
    """
    try:
        lines = path.read_bytes().split(b"\n")[:-1]  # what follows the last newline is cut short
    except FileNotFoundError:
        return []
    found = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _corrupt_journal(path, f"is damaged: line {number} is not valid JSON ({error})") from None
        found.append(_outcome(path, number, entry, _corrupt_journal))
    return found


def load_outcomes(course_root: Path) -> list[Outcome]:
    """Every recorded outcome in the course folder (empty if nothing was graded yet).

    The file is checked entry by entry, since a status, an export or a certificate read from a
    damaged record would be wrong without saying so; any problem raises :class:`OutcomesError`.
    The journal is read first: if the writer folds it in meanwhile, the file then holds all of it.
    """
    journal = _read_journal(journal_path(course_root))
    merged = {outcome.key: outcome for outcome in _read_file(outcomes_path(course_root))}
    merged.update((outcome.key, outcome) for outcome in journal)
    return list(merged.values())


def outcomes_by_key(course_root: Path) -> dict[tuple[str, str], Outcome]:
    return {outcome.key: outcome for outcome in load_outcomes(course_root)}


class OutcomeStore:
    """The single writer of ``outcomes.json``: holds every outcome in memory, journals each change.

    Use it as a context manager so the journal is folded into ``outcomes.json`` when the run ends,
    however it ends; a store never closed (killed) leaves the journal, which readers still apply.
    """

    def __init__(self, course_root: Path):
        self.path = outcomes_path(course_root)
        self.journal = journal_path(course_root)
        self.outcomes = outcomes_by_key(course_root)
        self._appending = False

    def __enter__(self) -> OutcomeStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, student: str, lab: str) -> Outcome | None:
        return self.outcomes.get((student, lab))

    def put(self, outcome: Outcome) -> None:
        """Record one outcome durably: one line appended to the journal and fsynced."""
        if not self._appending and self.journal.exists():
            self.save()  # fold an earlier run's journal first, so no line is appended after a cut one
        self._appending = True
        self.outcomes[outcome.key] = outcome
        line = json.dumps(asdict(outcome), sort_keys=True, ensure_ascii=False) + "\n"
        with open(self.journal, "ab") as journal:
            journal.write(line.encode("utf-8"))
            journal.flush()
            os.fsync(journal.fileno())

    def save(self) -> None:
        """Fold everything into ``outcomes.json`` (atomically), then drop the journal it now holds."""
        ordered = sorted(self.outcomes.values(), key=lambda o: (o.lab, o.student))
        write_json(self.path, {"version": 1, "outcomes": [asdict(o) for o in ordered]}, indent=1, sort_keys=True)
        self.journal.unlink(missing_ok=True)

    def close(self) -> None:
        """Fold the journal in, so readers after the run find one complete ``outcomes.json``."""
        if self.journal.exists():
            self.save()
        self._appending = False
