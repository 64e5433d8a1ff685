"""Build sample submissions of a lab: the solution, the blank release, and the answer bank's variants.

The QA harness grades these to prove a lab's tests are fair, and the demo uses them as a sample
cohort. The answer bank (``tests/answers/<lab>.yml``) keeps, for each exercise, alternative correct
answers (which must earn full points) and plausible wrong answers (which must lose points). Every
submission starts from the release notebook, as a learner's would, and only its answer cells change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from autograder.curriculum import Curriculum, Lab
from autograder.nbcells import SOLUTION_BEGIN, SOLUTION_END, is_autograded_answer, is_test_cell, nbgrader_meta

SOLUTION_MARKERS = (f"### {SOLUTION_BEGIN}", f"### {SOLUTION_END}")  # how this course's sources write them


def exercises(notebook) -> dict[str, list[str]]:
    """Map each autograded answer cell's grade_id to the grade_ids of the test cells that follow it."""
    found: dict[str, list[str]] = {}
    current = None
    for cell in notebook.cells:
        if is_autograded_answer(cell):
            current = nbgrader_meta(cell)["grade_id"]
            found[current] = []
        elif is_test_cell(cell) and current is not None:
            found[current].append(nbgrader_meta(cell)["grade_id"])
    return found


def solution_code(source_notebook) -> dict[str, str]:
    """The instructor's answer for each autograded answer cell, with nbgrader's marker lines removed."""
    answers = {}
    for cell in source_notebook.cells:
        if is_autograded_answer(cell):
            lines = [line for line in cell.source.splitlines()
                     if SOLUTION_BEGIN not in line and SOLUTION_END not in line]  # nbgrader's test, as ClearSolutions
            answers[nbgrader_meta(cell)["grade_id"]] = "\n".join(lines)
    return answers


def fill_answers(release_notebook, answers: dict[str, str]):
    """A copy of the release notebook with the given answer cells' sources replaced."""
    notebook = copy.deepcopy(release_notebook)
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if is_autograded_answer(cell) and grade_id in answers:
            cell.source = answers[grade_id].rstrip("\n")
    return notebook


def answer_bank_path(curriculum: Curriculum, lab: Lab) -> Path:
    return curriculum.root / "tests" / "answers" / f"{lab.id}.yml"


def load_answer_bank(curriculum: Curriculum, lab: Lab) -> dict[str, dict[str, list[dict]]]:
    """The alternative and wrong answers for each exercise of ``lab`` (empty if the lab has none yet)."""
    path = answer_bank_path(curriculum, lab)
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@dataclass
class Variant:
    """One sample submission and what the grader must do with each exercise it varies.

    ``expect`` maps an answer cell's grade_id to "full" (every test cell of that exercise earns its
    points) or "lose" (the exercise earns less than its points). Exercises not in ``expect`` hold the
    solution and are not judged by this variant.
    """

    name: str
    notebook: nbformat.NotebookNode
    expect: dict[str, str] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)


def lab_variants(curriculum: Curriculum, lab: Lab, release_notebook=None) -> list[Variant]:
    """The solution, the blank release, and one submission per alternative / wrong answer index."""
    source = nbformat.read(curriculum.source_notebook(lab), as_version=4)
    release = release_notebook or nbformat.read(curriculum.release_notebook(lab), as_version=4)
    solution = solution_code(source)
    bank = load_answer_bank(curriculum, lab)
    variants = [
        Variant("solution", fill_answers(release, solution), {gid: "full" for gid in solution}),
        Variant("blank", copy.deepcopy(release), {gid: "lose" for gid in solution}),
    ]
    for kind, expectation in (("alternative", "full"), ("wrong", "lose")):
        depth = max((len(entry.get(kind, [])) for entry in bank.values()), default=0)
        for index in range(depth):
            answers, expect, why = dict(solution), {}, {}
            for grade_id, entry in bank.items():
                options = entry.get(kind, [])
                if index < len(options):
                    answers[grade_id] = options[index]["code"]
                    expect[grade_id] = expectation
                    why[grade_id] = options[index].get("why", "")
            variants.append(Variant(f"{kind}-{index + 1}", fill_answers(release, answers), expect, why))
    return variants
