"""Step 4, status: the cohort at a glance: who submitted what, scores, late, needs review.

Learner ids come from the gradebook and statuses from ``outcomes.json``: both are shown as text,
never parsed as rich markup (an id such as ``x[/]`` would otherwise stop the command).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.curriculum import Curriculum, load_curriculum
from autograder.grading.outcomes import GRADED, MISSING
from autograder.results import NOT_SUBMITTED, LabResult, load_cohort


def cell_text(result: LabResult) -> str:
    if result.status == NOT_SUBMITTED:
        return "[dim]-[/]"
    score = "?" if result.score is None else f"{result.score:g}"
    text = f"{score}/{result.max_score:g}"
    if result.status not in (GRADED, MISSING):
        text += f" [red]{escape(result.status)}[/]"
    if result.late:
        text += " [yellow]late[/]"
    if result.needs_review:
        text += " [red]review[/]"
    elif result.manual_pending:
        text += " [cyan]manual[/]"
    return text


def status_table(curriculum: Curriculum) -> Table:
    cohort = load_cohort(curriculum)
    cohort.require_released()
    learners, labs, results = cohort.learners, cohort.released, list(cohort.results.values())
    table = Table(title=escape(f"{curriculum.title}: cohort status"))
    table.add_column("learner", no_wrap=True)  # an id is never folded: it is what an instructor searches for
    for lab in labs:  # headed by the lab's number ("06" for 06-poor-inputs): 16 labs must fit a wide terminal
        table.add_column(escape(lab.id.split("-", 1)[0]), overflow="fold")
    for learner in learners:
        table.add_row(escape(learner.id), *[cell_text(cohort.result(learner.id, lab.id)) for lab in labs])
    counts = {
        "submitted": sum(r.status != NOT_SUBMITTED for r in results),
        "late": sum(r.late for r in results),
        "needs review": sum(r.needs_review for r in results),
        "manual grading pending": sum(r.manual_pending for r in results),
    }
    table.caption = ", ".join(f"{n} {what}" for what, n in counts.items()) + \
        " | columns: the labs of curriculum.yml by number; late = after the due date; review = the grader " \
        "could not finish, see `autograder export`'s reason"
    return table


def add_command(subparsers) -> None:
    parser = subparsers.add_parser("status", help="cohort table: who submitted what, scores, late, needs review")
    parser.set_defaults(run=run)


def run(args) -> int:
    Console().print(status_table(load_curriculum(args.course)))
    return 0
