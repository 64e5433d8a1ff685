"""The lab QA harness's shared machinery: a throwaway copy of the course, real nbgrader runs in it.

Every check runs stock nbgrader (`python -m nbgrader ...`) in a temporary course folder, so what
the harness proves is what an instructor's nbgrader will do with the lab. Labs are prepared once per
test session and two at a time (the CI machine has two cores), because generating and grading a lab
is the slow part of the suite.
"""

from __future__ import annotations

import ast
import copy
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.curriculum import Curriculum, Lab, load_curriculum
from autograder.nbcells import is_autograded_answer
from autograder.demo.samples import Variant, exercises, lab_variants
from visible_checks import mark_hidden_tests

ROOT = Path(__file__).resolve().parents[1]
CURRICULUM: Curriculum = load_curriculum(ROOT)
READY_LABS: tuple[Lab, ...] = CURRICULUM.ready_labs
COURSE_FILES = ("nbgrader_config.py", "curriculum.yml")


def run_nbgrader(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the stock nbgrader CLI in ``course`` and return the finished process (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course, capture_output=True, text=True, timeout=timeout,
    )


def copy_course(lab: Lab, destination: Path) -> Path:
    """A minimal course folder holding only ``lab``'s source: what nbgrader needs and nothing else."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "source" / lab.id, destination / "source" / lab.id)
    source = destination / "source" / lab.id / lab.notebook
    # The hidden tests announce themselves, so the same grading run also tells what the visible
    # checks alone show a learner (tests/visible_checks.py); the release nbgrader makes is unchanged.
    nbformat.write(mark_hidden_tests(nbformat.read(source, as_version=4)), source)
    return destination


@dataclass
class LabRun:
    """One lab generated and graded for real in a temporary course folder."""

    lab: Lab
    course: Path
    generate_log: str = ""
    autograde_log: str = ""
    variants: list[Variant] = field(default_factory=list)
    # variant name -> grade_id -> (score, max_score); scores of autograded test cells only.
    scores: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    exercises: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def release_dir(self) -> Path:
        return self.course / "release" / self.lab.id

    def autograded_notebook(self, variant: str) -> nbformat.NotebookNode:
        """The notebook nbgrader wrote after running ``variant``, with every cell's outputs."""
        return nbformat.read(self.course / "autograded" / variant / self.lab.id / self.lab.notebook, as_version=4)

    def exercise_score(self, variant: str, answer_id: str) -> tuple[float, float]:
        cells = [self.scores[variant][test_id] for test_id in self.exercises[answer_id]]
        return sum(score for score, _ in cells), sum(maximum for _, maximum in cells)


# Appended to each answer cell of the noisy solution: every function the cell defines first makes the
# noise a correct answer may make (a tqdm bar and plain text on stderr, a library warning), then
# returns the real result. nbgrader scores a test cell 0 for any stderr, so only checks that hold
# stderr back (labs.feedback.answered) keep this answer's marks.
NOISE = """

def _harness_noisy(function):
    import functools

    @functools.wraps(function)
    def noisy(*args, **kwargs):
        import sys
        import warnings

        import tqdm

        for _ in tqdm.tqdm(range(3), desc=function.__name__):
            pass
        warnings.warn(f"{function.__name__}: a library warning", FutureWarning)
        print(f"{function.__name__}: a line on stderr", file=sys.stderr)
        return function(*args, **kwargs)

    return noisy
"""


def defined_functions(code: str) -> list[str]:
    """The functions a cell defines at its top level (what the learner's answer hands to the checks)."""
    return [node.name for node in ast.parse(code).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def noisy_solution(solution: Variant) -> Variant:
    """The solution, with every function of every answer cell wrapped to write to stderr and warn.

    Issue 9, item 4: a correct answer with a progress bar or a library warning keeps full marks
    under stock nbgrader. It is a property of the checks, not an answer to bank, so it is built here
    from the solution rather than kept in tests/answers/.
    """
    notebook = copy.deepcopy(solution.notebook)
    for cell in notebook.cells:
        names = defined_functions(cell.source) if is_autograded_answer(cell) else []
        if names:
            cell.source += NOISE + "".join(f"{name} = _harness_noisy({name})\n" for name in names)
    why = "the solution, with a tqdm bar, a FutureWarning and stderr text on every call"
    return Variant("noisy-solution", notebook, dict(solution.expect), {gid: why for gid in solution.expect})


def _read_scores(course: Path, lab: Lab, students: list[str], test_ids: set[str]):
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                notebook = gradebook.find_submission_notebook(lab.notebook_stem, lab.id, student)
            except Exception:  # nbgrader raises MissingEntry: the submission failed before scoring
                scores[student] = {}
                continue
            scores[student] = {
                grade.name: (grade.score or 0.0, grade.max_score)
                for grade in notebook.grades if grade.name in test_ids
            }
    return scores


def prepare_lab(lab: Lab, workspace: Path) -> LabRun:
    """Generate the release with nbgrader, then autograde every sample submission of the lab."""
    started = time.perf_counter()
    run = LabRun(lab=lab, course=copy_course(lab, workspace / lab.id))
    generated = run_nbgrader(run.course, "generate_assignment", lab.id, "--force")
    run.generate_log = generated.stdout + generated.stderr
    if generated.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {lab.id} failed:\n{run.generate_log}")
    release = nbformat.read(run.release_dir / lab.notebook, as_version=4)
    run.exercises = exercises(release)
    run.variants = lab_variants(CURRICULUM, lab, release_notebook=release)
    run.variants.append(noisy_solution(run.variants[0]))
    for variant in run.variants:
        target = run.course / "submitted" / variant.name / lab.id / lab.notebook
        target.parent.mkdir(parents=True)
        nbformat.write(variant.notebook, target)
    graded = run_nbgrader(run.course, "autograde", lab.id, "--create")
    run.autograde_log = graded.stdout + graded.stderr
    test_ids = {test_id for tests in run.exercises.values() for test_id in tests}
    run.scores = _read_scores(run.course, lab, [v.name for v in run.variants], test_ids)
    run.seconds = time.perf_counter() - started
    return run


# Every lab prepared in this session, for the report printed at the end of the run.
PREPARED: dict[str, LabRun | Exception] = {}


def _prepare_or_error(lab: Lab, workspace: Path) -> LabRun | Exception:
    try:
        return prepare_lab(lab, workspace)
    except Exception as error:  # reported by each of that lab's tests, the other labs go on
        return error


# The labs that took longest to generate and grade (the summary at the end of a run prints each
# lab's seconds: 179, 149 and 118 s in CI on 2026-12-01, the others 35 to 104 s). They start first,
# so that no long lab runs alone at the end while the other core idles: about 40 s less in all.
# Only an order: a lab missing here, or a stale entry, changes no result.
SLOWEST_FIRST = ("15-generative-ai", "08-improving-accuracy", "09-larger-datasets")


def slowest_first(labs: list[Lab]) -> list[Lab]:
    """``labs`` with those of SLOWEST_FIRST at the front, the rest in curriculum order."""
    rank = {lab_id: index for index, lab_id in enumerate(SLOWEST_FIRST)}
    return sorted(labs, key=lambda lab: rank.get(lab.id, len(rank)))


def prepare_labs(labs: list[Lab], workers: int = 2) -> dict[str, LabRun | Exception]:
    """Prepare several labs at once, each in its own course folder (nbgrader itself is serial)."""
    workspace = Path(tempfile.mkdtemp(prefix="lab-harness-"))
    labs = slowest_first(labs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda lab: _prepare_or_error(lab, workspace), labs))
    PREPARED.update({lab.id: result for lab, result in zip(labs, results)})
    return dict(PREPARED)
