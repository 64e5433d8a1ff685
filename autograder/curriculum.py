"""Read curriculum.yml: the single list of tracks and labs that drives everything else.

Releases, grading, the QA harness, certificates and reports all ask this module which labs exist,
so a lab is described in exactly one place. Loading checks the file against one schema
(:data:`SCHEMA`, with ``jsonschema``) and names every wrong entry and the fix in one message,
because a typo here would otherwise surface as a traceback or a puzzling nbgrader error much later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator  # already installed: nbformat validates notebooks with it

CURRICULUM_FILE = "curriculum.yml"


class CurriculumError(ValueError):
    """curriculum.yml is missing or malformed; the message names the entry and the fix."""


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    status: str
    notebook: str | None = None
    grade_prefix: str | None = None
    minutes: int | None = None
    points: float | None = None
    pass_mark: float | None = None
    datasets: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def notebook_stem(self) -> str:
        return Path(self.notebook).stem


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    description: str
    labs: tuple[str, ...]
    min_share_per_lab: float
    allow_under_review: bool


@dataclass(frozen=True)
class Curriculum:
    root: Path
    course_id: str
    title: str
    labs: tuple[Lab, ...]
    tracks: tuple[Track, ...] = field(default=())
    publish_url: str | None = None  # where the instructor publishes certificates/ (status list, issuer)

    @property
    def ready_labs(self) -> tuple[Lab, ...]:
        return tuple(lab for lab in self.labs if lab.ready)

    def lab(self, lab_id: str) -> Lab:
        for lab in self.labs:
            if lab.id == lab_id:
                return lab
        known = ", ".join(lab.id for lab in self.ready_labs)
        raise CurriculumError(f"No lab '{lab_id}' in {self.root / CURRICULUM_FILE}. Known labs: {known}.")

    def source_notebook(self, lab: Lab) -> Path:
        return self.root / "source" / lab.id / lab.notebook

    def release_notebook(self, lab: Lab) -> Path:
        return self.root / "release" / lab.id / lab.notebook


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` (default: the working directory) upwards, holding curriculum.yml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CURRICULUM_FILE).is_file():
            return folder
    raise CurriculumError(
        f"No {CURRICULUM_FILE} in {here} or any folder above it. Run this from the course folder "
        "(the clone of this repository), or pass --course PATH."
    )


# --- The schema: every shape and range rule of curriculum.yml, checked in this one place -----------

_TEXT = {"type": "string", "minLength": 1, "description": "must not be empty"}
_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
         "description": "must be usable as a folder name: letters, digits and . _ - only"}
_SHARE = {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
          "description": "is a share of points, between 0 and 1 (0.7 means 70 %)"}
_TEXTS = {"type": "array", "items": _TEXT}
_PUBLISH_URL = {"type": "string", "pattern": r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s?#]*)?/$",
                "description": "must be the https address where you publish the certificates/ folder, ending "
                               "in '/', such as https://certificates.example.org/ai-certification-labs/"}
READY_KEYS = ["notebook", "grade_prefix", "minutes", "points", "pass_mark", "objectives"]

SCHEMA = {
    "type": "object",
    "required": ["course", "labs"],
    "additionalProperties": False,
    "properties": {
        "course": {"type": "object", "required": ["id", "title"], "additionalProperties": False,
                   "properties": {"id": _NAME, "title": _TEXT, "publish_url": _PUBLISH_URL}},
        "tracks": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "labs", "rule"], "additionalProperties": False,
            "properties": {
                "id": _NAME, "title": _TEXT, "description": {"type": "string"}, "labs": _TEXTS,
                "rule": {"type": "object", "additionalProperties": False, "properties": {
                    "min_share_per_lab": _SHARE, "allow_under_review": {"type": "boolean"}}},
            },
        }},
        "labs": {"type": "array", "items": {
            "type": "object", "required": ["id", "title"], "additionalProperties": False,
            "properties": {
                "id": _NAME, "title": _TEXT,
                "status": {"enum": ["ready", "planned"]},
                "notebook": {"type": "string", "pattern": r"^[^/\\]+\.ipynb$",
                             "description": "must be a notebook file name such as lab.ipynb (no folder)"},
                "grade_prefix": _NAME,
                "minutes": {"type": "integer", "exclusiveMinimum": 0, "description": "must be above 0"},
                "points": {"type": "number", "exclusiveMinimum": 0, "description": "must be above 0"},
                "pass_mark": _SHARE,
                "datasets": _TEXTS,
                "objectives": {**_TEXTS, "minItems": 1, "description": "must list at least one objective"},
            },
            # A lab is ready unless it says planned; a ready lab needs everything grading uses.
            "if": {"required": ["status"], "properties": {"status": {"const": "planned"}}},
            "else": {"required": READY_KEYS},
        }},
    },
}

_TYPE_WORDS = {"object": "a mapping (key: value lines)", "array": "a list ([a, b] or '- ' lines)",
               "string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false"}


def _where(data, path: list) -> tuple[str, str]:
    """('Lab '01-tiny'', 'pass_mark') for the error path ['labs', 0, 'pass_mark']."""
    if not path:
        return CURRICULUM_FILE, ""
    if path[0] in ("labs", "tracks") and len(path) > 1 and isinstance(path[1], int):
        entry = data[path[0]][path[1]]
        kind = "Lab" if path[0] == "labs" else "Track"
        name = f"{kind} '{entry['id']}'" if isinstance(entry, dict) and isinstance(entry.get("id"), str) \
            else f"{kind} #{path[1] + 1}"
        rest = path[2:]
    else:
        name, rest = str(path[0]), path[1:]
    key = "".join(f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(rest))
    return name, key


def _problem(data, error) -> str:
    """One schema error as a sentence that names the entry, the key and what to write instead."""
    where, key = _where(data, list(error.absolute_path))
    subject = f"{where}: {key}" if key else where
    found = repr(error.instance)[:60]
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        ready = " (status: ready)" if "else" in error.schema_path else ""
        return "; ".join(f"{subject}{ready} has no '{k}'. Add it" for k in missing)
    if error.validator == "additionalProperties":
        known = ", ".join(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        return "; ".join(f"{subject} has an unknown key '{k}' (known keys: {known}). Rename or remove it"
                         for k in extra)
    if error.validator == "type":
        return f"{subject} must be {_TYPE_WORDS.get(error.validator_value, error.validator_value)}, not {found}"
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return f"{subject} must be one of {choices}, not {found}"
    if "description" in error.schema:
        return f"{subject} {error.schema['description']}, not {found}"
    return f"{subject}: {error.message}"


def validate(data, path: Path) -> None:
    """Check ``data`` (curriculum.yml as loaded) against :data:`SCHEMA`; one error lists every problem."""
    if not isinstance(data, dict):
        raise CurriculumError(f"{path} must be a mapping with 'course', 'tracks' and 'labs'.")
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        problems = "\n".join(f"  - {_problem(data, error)}." for error in errors)
        raise CurriculumError(f"{path} is not a valid curriculum:\n{problems}\n"
                              "Fix each entry named (the comment at the top of the file describes every field), "
                              "then run the command again.")


def _load_lab(entry: dict) -> Lab:
    return Lab(
        id=entry["id"], title=entry["title"], status=entry.get("status", "ready"),
        notebook=entry.get("notebook"), grade_prefix=entry.get("grade_prefix"), minutes=entry.get("minutes"),
        points=entry.get("points"), pass_mark=entry.get("pass_mark"),
        datasets=tuple(entry.get("datasets", ())), objectives=tuple(entry.get("objectives", ())),
    )


def _load_track(entry: dict, lab_ids: set[str], path: Path) -> Track:
    rule = entry["rule"]
    track = Track(
        id=entry["id"], title=entry["title"], description=entry.get("description", ""), labs=tuple(entry["labs"]),
        min_share_per_lab=float(rule.get("min_share_per_lab", 0.7)),
        allow_under_review=bool(rule.get("allow_under_review", False)),
    )
    unknown = [lab for lab in track.labs if lab not in lab_ids]
    if unknown:
        raise CurriculumError(
            f"{path}: track '{track.id}' lists labs that are not in the labs section: {', '.join(unknown)}. "
            "Add them (status: planned is fine) or remove them from the track."
        )
    return track


def load_curriculum(root: Path | str | None = None) -> Curriculum:
    """Load and validate ``curriculum.yml`` from ``root`` (default: found from the working directory)."""
    root = Path(root).resolve() if root else find_course_root()
    path = root / CURRICULUM_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CurriculumError(f"{path} does not exist. Pass the course folder that holds {CURRICULUM_FILE}.") from None
    except yaml.YAMLError as error:
        raise CurriculumError(f"{path} is not valid YAML ({error}). Fix the line it names.") from None
    validate(data, path)
    labs = tuple(_load_lab(entry) for entry in data["labs"])
    ids = [lab.id for lab in labs]
    duplicates = sorted({lab_id for lab_id in ids if ids.count(lab_id) > 1})
    if duplicates:
        raise CurriculumError(f"{path} lists these lab ids twice: {', '.join(duplicates)}. Ids must be unique.")
    tracks = tuple(_load_track(entry, set(ids), path) for entry in data.get("tracks", ()))
    course = data["course"]
    return Curriculum(root=root, course_id=course["id"], title=course["title"], labs=labs, tracks=tracks,
                      publish_url=course.get("publish_url"))
