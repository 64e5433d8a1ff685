"""A sample cohort for the demo: learners, their notebooks, and the LMS download they arrive in.

Every notebook starts from a lab's release, as a learner's would. ``autograder.demo.samples`` gives the
solution, the blank release, and the answer bank's alternative-correct and wrong answers; this
module adds what a real cohort also holds: partial work (the first exercises answered, the rest
not), late work (the solution, submitted after the due date), and broken files (not valid JSON; a
graded test cell deleted). Learners are split between the course's tracks and submit the released
labs of their own track, as a real cohort does: a few (the completers) answer every lab correctly,
on time; every other learner submits most of their labs correctly and has one thing off in one lab
(a lab missing, late, failing, half done, a broken upload, a blank notebook), so the demo shows
certificates, learners at risk and work under review side by side. The cohort is written as a
Canvas-style zip (``login_userid_submissionid_file``, each entry stamped with its submission time)
plus a roster CSV, so the demo exercises `import` too.
"""

from __future__ import annotations

import copy
import csv
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

from autograder.curriculum import Curriculum, Lab
from autograder.nbcells import is_test_cell
from autograder.demo.samples import exercises, fill_answers, lab_variants, solution_code
from autograder.roster import Learner, squash

DUE = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia",
         "Tim", "Margaret", "Claude", "Hedy", "Ken", "Sophie", "Linus", "Anita", "Dennis", "Shafi",
         "Guido", "Karen", "Niklaus", "Adele", "Leslie", "Fei-Fei", "Yann", "Joy", "Geoffrey", "Cynthia"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy",
        "Perlman", "Berners-Lee", "Hamilton", "Shannon", "Lamarr", "Thompson", "Wilson", "Torvalds", "Borg",
        "Ritchie", "Goldwasser", "van Rossum", "Spärck Jones", "Wirth", "Goldberg", "Lamport", "Li", "LeCun",
        "Buolamwini", "Hinton", "Dwork"]
# What is off for each learner who is not a completer, handed out in this order: one lab is missing
# or submitted as this variant. "deleted-test-cell" still earns full marks (nbgrader restores the
# cell); "corrupt-json" ends under review.
TWISTS = ["late", "corrupt-json", "wrong-1", "missing", "partial", "deleted-test-cell", "blank", "wrong-2"]


@dataclass(frozen=True)
class SampleLearner(Learner):
    """A roster learner with the Canvas user id that an LMS download names their files with."""

    canvas_user_id: int = 0

    @property
    def canvas_login(self) -> str:
        """Canvas names files after the learner's sortable name, squashed: "lovelaceada"."""
        first, _, last = self.name.partition(" ")
        return squash(last + first)


@dataclass
class Submission:
    learner: SampleLearner
    lab: Lab
    variant: str
    content: bytes
    submitted_at: datetime


def make_learners(count: int) -> list[SampleLearner]:
    learners = []
    for i in range(count):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        if i >= len(FIRST):
            first = f"{first}{i // len(FIRST) + 1}"
        learner_id = squash(first[0] + last)[:12] + f"{i + 1:02d}"
        learners.append(SampleLearner(learner_id, f"{first} {last}", f"{learner_id}@example.org", 40_000 + i))
    return learners


def partial(curriculum: Curriculum, lab: Lab, release) -> nbformat.NotebookNode:
    """The first half of the exercises answered with the solution; the rest left as released."""
    source = nbformat.read(curriculum.source_notebook(lab), as_version=4)
    answers = solution_code(source)
    keep = list(exercises(release))[: max(1, len(answers) // 2)]
    return fill_answers(release, {gid: answers[gid] for gid in keep if gid in answers})


def without_a_test_cell(notebook) -> nbformat.NotebookNode:
    """The notebook with its last graded test cell deleted (nbgrader puts it back when grading)."""
    notebook = copy.deepcopy(notebook)
    tests = [i for i, cell in enumerate(notebook.cells) if is_test_cell(cell)]
    if tests:
        del notebook.cells[tests[-1]]
    return notebook


def lab_notebooks(curriculum: Curriculum, lab: Lab) -> dict[str, bytes]:
    """Every variant of one lab, as the bytes a learner would upload."""
    release = nbformat.read(curriculum.release_notebook(lab), as_version=4)
    variants = {v.name: v.notebook for v in lab_variants(curriculum, lab, release)}
    solution = variants["solution"]
    variants["partial"] = partial(curriculum, lab, release)
    variants["late"] = solution
    variants["deleted-test-cell"] = without_a_test_cell(solution)
    found = {name: nbformat.writes(nb).encode() for name, nb in variants.items()}
    found["corrupt-json"] = nbformat.writes(solution).encode()[:-400]  # the upload was cut short
    for name in ("alternative-1", "wrong-1", "wrong-2"):
        found.setdefault(name, found["solution" if name.startswith("alt") else "blank"])
    return found


def plan_cohort(curriculum: Curriculum, labs: list[Lab], learners: int, completers: int) -> list[Submission]:
    """Who submits what, learner by learner, each on the released labs of their own track.

    Learners take the tracks in turn (practitioner, leader, practitioner, ...), among the tracks
    that list at least one of ``labs``; a lab no track lists goes to the first track's learners.
    The first ``completers`` learners answer every lab correctly; each other learner gets one twist
    (``TWISTS``, in turn) in one of their labs.
    """
    people = make_learners(learners)
    notebooks = {lab.id: lab_notebooks(curriculum, lab) for lab in labs}
    listed = {lab_id for track in curriculum.tracks for lab_id in track.labs}
    tracks = [[lab for lab in labs if lab.id in track.labs] for track in curriculum.tracks]
    tracks = [track for track in tracks if track] or [labs]
    tracks[0] += [lab for lab in labs if lab.id not in listed]
    submissions = []
    on_time = DUE - timedelta(days=2)
    for n, learner in enumerate(people):
        own = tracks[n % len(tracks)]
        twist = None if n < completers else TWISTS[(n - completers) % len(TWISTS)]
        twisted = own[(n // len(tracks)) % len(own)]
        for k, lab in enumerate(own):
            variant = "solution" if (n + k) % 2 == 0 else "alternative-1"
            if twist and lab is twisted:
                if twist == "missing":
                    continue
                variant = twist
            when = DUE + timedelta(hours=26) if variant == "late" else on_time + timedelta(minutes=13 * n + k)
            submissions.append(Submission(learner, lab, variant, notebooks[lab.id][variant], when))
    return submissions


def write_lms_download(submissions: list[Submission], folder: Path) -> tuple[Path, Path]:
    """A Canvas-style zip of every submission and the roster CSV; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    archive, roster = folder / "canvas-submissions.zip", folder / "roster.csv"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, s in enumerate(submissions):
            late = "_late" if s.submitted_at > DUE else ""
            name = f"{s.learner.canvas_login}{late}_{s.learner.canvas_user_id}_{900_000 + i}_{s.lab.notebook}"
            info = zipfile.ZipInfo(name, date_time=s.submitted_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, s.content)
    learners = {s.learner.id: s.learner for s in submissions}
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email"])
        for learner in sorted(learners.values(), key=lambda l: l.id):
            writer.writerow([learner.id, learner.name, learner.email])
    (folder / "cohort-plan.json").write_text(json.dumps(
        [{"learner": s.learner.id, "lab": s.lab.id, "variant": s.variant,
          "submitted_at": s.submitted_at.isoformat()} for s in submissions], indent=1), encoding="utf-8")
    return archive, roster
