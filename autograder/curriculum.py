"""Read curriculum.yml: the single list of tracks and labs that drives everything else.

Releases, grading, the QA harness, certificates and reports all ask this module which labs exist,
so a lab is described in exactly one place. Loading validates the file and names the entry and
the fix when something is wrong, because a typo here would otherwise surface as a puzzling
nbgrader error much later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

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


def _required(entry: dict, key: str, where: str):
    if key not in entry:
        raise CurriculumError(f"{where} has no '{key}'. Add it to {CURRICULUM_FILE}.")
    return entry[key]


def _load_lab(entry: dict, where: str) -> Lab:
    lab = Lab(
        id=_required(entry, "id", where),
        title=_required(entry, "title", where),
        status=entry.get("status", "ready"),
        notebook=entry.get("notebook"),
        grade_prefix=entry.get("grade_prefix"),
        minutes=entry.get("minutes"),
        points=entry.get("points"),
        pass_mark=entry.get("pass_mark"),
        datasets=tuple(entry.get("datasets", ())),
        objectives=tuple(entry.get("objectives", ())),
    )
    if lab.status not in ("ready", "planned"):
        raise CurriculumError(f"Lab '{lab.id}': status must be 'ready' or 'planned', not '{lab.status}'.")
    if lab.ready:
        for key in ("notebook", "grade_prefix", "minutes", "points", "pass_mark", "objectives"):
            _required(entry, key, f"Lab '{lab.id}' (status: ready)")
        if not 0 < lab.pass_mark <= 1:
            raise CurriculumError(f"Lab '{lab.id}': pass_mark is a share of points, between 0 and 1.")
    return lab


def _load_track(entry: dict, lab_ids: set[str], where: str) -> Track:
    rule = _required(entry, "rule", where)
    track = Track(
        id=_required(entry, "id", where),
        title=_required(entry, "title", where),
        description=entry.get("description", ""),
        labs=tuple(_required(entry, "labs", where)),
        min_share_per_lab=float(rule.get("min_share_per_lab", 0.7)),
        allow_under_review=bool(rule.get("allow_under_review", False)),
    )
    unknown = [lab for lab in track.labs if lab not in lab_ids]
    if unknown:
        raise CurriculumError(
            f"Track '{track.id}' lists labs that are not in the labs section: {', '.join(unknown)}. "
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
    if not isinstance(data, dict):
        raise CurriculumError(f"{path} must be a mapping with 'course', 'tracks' and 'labs'.")
    labs = tuple(_load_lab(entry, f"Lab #{i + 1}") for i, entry in enumerate(_required(data, "labs", str(path))))
    ids = [lab.id for lab in labs]
    duplicates = sorted({lab_id for lab_id in ids if ids.count(lab_id) > 1})
    if duplicates:
        raise CurriculumError(f"{path} lists these lab ids twice: {', '.join(duplicates)}. Ids must be unique.")
    tracks = tuple(
        _load_track(entry, set(ids), f"Track #{i + 1}") for i, entry in enumerate(data.get("tracks", ()))
    )
    course = _required(data, "course", str(path))
    return Curriculum(root=root, course_id=course["id"], title=course["title"], labs=labs, tracks=tracks)
