"""The README's main command: a sample cohort through the whole pipeline, in a throwaway workspace.

``autograder demo`` copies the course files (curriculum, nbgrader config, lab sources, answer
bank) into ``demo/`` (git-ignored), never touching the repository's own gradebook or
``submitted/``, then runs release -> import -> grade -> feedback -> export -> status, and, when
those modules are present, certify and report. It ends by printing where every output is.
"""

from __future__ import annotations

import io
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from autograder.demo import cohort
from autograder.collect import import_submissions, print_report
from autograder.credentials.certify import certify_cohort
from autograder.curriculum import CurriculumError, find_course_root, load_curriculum
from autograder.export import export
from autograder.feedback import write_feedback
from autograder.grading.grade import default_workers, grade_labs
from autograder.grading.sandbox import Limits, Sandbox, SandboxUnavailable
from autograder.release import release
from autograder.report import write_report
from autograder.status import status_table

MARKER = ".autograder-demo"
COURSE_FILES = ("curriculum.yml", "nbgrader_config.py")


def prepare_workspace(course_root: Path, workspace: Path) -> Path:
    """A fresh copy of the course files in ``workspace`` (only a previous demo's folder is wiped)."""
    workspace = workspace.resolve()
    if workspace == course_root.resolve():
        raise CurriculumError("The demo workspace cannot be the course folder itself: pass another --workspace.")
    if workspace.exists() and any(workspace.iterdir()):
        if not (workspace / MARKER).exists():
            raise CurriculumError(
                f"{workspace} exists and was not made by the demo; it is left alone. Pass another --workspace "
                "or empty that folder."
            )
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / MARKER).write_text("made by `autograder demo`; deleted by the next demo run\n", encoding="utf-8")
    for name in COURSE_FILES:
        shutil.copy(course_root / name, workspace / name)
    curriculum = load_curriculum(course_root)
    for lab in curriculum.ready_labs:
        source = course_root / "source" / lab.id
        if source.is_dir():
            shutil.copytree(source, workspace / "source" / lab.id,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    answers = course_root / "tests" / "answers"
    if answers.is_dir():
        shutil.copytree(answers, workspace / "tests" / "answers")
    return workspace


@contextmanager
def table_file(path: Path, width: int = 200):
    """A console whose output goes to ``path``: the demo's full tables, too wide for a terminal."""
    buffer = io.StringIO()
    yield Console(file=buffer, width=width, color_system=None, highlight=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def shown(path: Path) -> str:
    """A path as the instructor would type it: relative to where the demo was started, when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def demo_sandbox(console: Console) -> Limits | None:
    """The sandbox when this machine has one; otherwise say so and grade the samples without it.

    The demo's submissions are samples this command generated, not learners' code, so a machine
    with only Python (no bubblewrap) can still run it. `autograder grade` never falls back silently.
    """
    try:
        console.print(Sandbox.start(Limits()).describe())
        return Limits()
    except SandboxUnavailable as error:
        console.print(f"[yellow]No sandbox here ({error.args[0].split('.')[0]}). The demo grades its own "
                      "generated samples without one; `autograder grade` would refuse.[/]")
        return None


def run_demo(course_root: Path, workspace: Path, learners: int, completers: int, workers: int | None,
             console: Console, labs: list[str] | None = None) -> dict:
    """The whole journey on a sample cohort, one heading per step; returns where each output is."""
    started = time.monotonic()
    console.rule("[bold]1. workspace")
    root = prepare_workspace(course_root, workspace)
    console.print(f"course files copied to {root}")
    curriculum = load_curriculum(root)
    reports = root / "reports"
    ready = _release_labs(curriculum, labs, console)
    archive, roster = _write_sample_cohort(curriculum, ready, learners, completers, console)
    _import_cohort(curriculum, archive, roster, reports, console)
    outcomes = _grade_cohort(curriculum, ready, workers, reports, console)
    pages, exports = _publish_results(curriculum, ready, reports, console)
    outputs = {
        "workspace": root,
        "LMS download (input)": archive,
        "roster (input)": roster,
        "released labs": root / "release",
        "submissions": root / "submitted",
        "gradebook (nbgrader)": root / "gradebook.db",
        "grading outcomes": root / "outcomes.json",
        "autograded notebooks": root / "autograded",
        f"feedback pages ({len(pages)})": root / "feedback",
        "grades CSV": exports["grades"],
        "Canvas gradebook CSV": exports["canvas"],
        "import, grading, status tables": reports,
    }
    outputs.update(_certify_and_report(root, reports, console))
    _print_where_everything_is(outputs, outcomes, started, console)
    return outputs


def _release_labs(curriculum, labs: list[str] | None, console: Console) -> list:
    """Step 2: release the chosen labs (all ready ones by default); the labs that could be released."""
    console.rule("[bold]2. release (nbgrader generate_assignment)")
    wanted = labs or [lab.id for lab in curriculum.ready_labs]
    released = release(curriculum, wanted, due=cohort.DUE, echo=console.print)
    ready = [curriculum.lab(lab_id) for lab_id, path in released.items() if isinstance(path, Path)]
    if not ready:
        raise CurriculumError("No lab could be released, so there is nothing to grade; see the messages above.")
    return ready


def _write_sample_cohort(curriculum, ready: list, learners: int, completers: int, console: Console):
    """Step 3: the sample cohort's work as an LMS download; the archive and the roster."""
    console.rule("[bold]3. a sample cohort, as an LMS (Canvas) download")
    submissions = cohort.plan_cohort(curriculum, ready, learners, min(completers, learners))
    archive, roster = cohort.write_lms_download(submissions, curriculum.root / "downloads")
    console.print(f"{len(submissions)} submissions from {learners} learners: {shown(archive)}, roster {shown(roster)}")
    return archive, roster


def _import_cohort(curriculum, archive: Path, roster: Path, reports: Path, console: Console) -> None:
    """Step 4: import the download, every file's line in reports/import.txt."""
    console.rule("[bold]4. import")
    with table_file(reports / "import.txt") as details:
        report = import_submissions(curriculum, archive, roster)
        print_report(report, details)
    console.print(f"{len(report.imported)} imported, {len(report.skipped)} skipped, "
                  f"{len(report.conflicts)} to review; every file's line: {shown(reports / 'import.txt')}")


def _grade_cohort(curriculum, ready: list, workers: int | None, reports: Path, console: Console) -> list:
    """Step 5: grade every submission (in the sandbox when this machine has one); the outcomes."""
    console.rule("[bold]5. grade")
    with table_file(reports / "grading.txt") as details:
        outcomes = grade_labs(curriculum, [lab.id for lab in ready], workers or default_workers(),
                              console=console, sandbox=demo_sandbox(console), details=details)
    console.print(f"time limits and every submission's line: {shown(reports / 'grading.txt')}")
    return outcomes


def _publish_results(curriculum, ready: list, reports: Path, console: Console) -> tuple[list, dict]:
    """Step 6: feedback pages, the CSV exports and the status table; the pages and the exports."""
    console.rule("[bold]6. feedback, export, status")
    pages = write_feedback(curriculum)
    exports = export(curriculum)
    with table_file(reports / "status.txt", width=30 + 24 * len(ready)) as details:
        table = status_table(curriculum)
        details.print(table)
    console.print(f"{table.caption.split(' | ')[0]}; the cohort table: {shown(reports / 'status.txt')}", markup=False)
    return pages, exports


def _certify_and_report(root: Path, reports: Path, console: Console) -> dict:
    """Step 7: certificates and the cohort report; where they are."""
    outputs: dict = {}
    console.rule("[bold]7. certify and report")
    result = certify_cohort(root)
    summary = result.summary()
    (reports / "certify.txt").write_text(summary + "\n", encoding="utf-8")
    for line in summary.splitlines():
        if not line.startswith("Not yet:"):
            console.print(line, markup=False, highlight=False)
    if result.not_met:
        console.print(f"{len(result.not_met)} learner-track pairs not (yet) met, each with its reason: "
                      f"{shown(reports / 'certify.txt')}", markup=False)
    outputs["certificates"] = result.directory or root / "certificates"
    outputs["verification page (offline)"] = outputs["certificates"] / "verify.html"
    outputs["cohort report"] = write_report(root)
    return outputs


def _print_where_everything_is(outputs: dict, outcomes: list, started: float, console: Console) -> None:
    console.rule("[bold]where everything is")
    for what, path in outputs.items():
        console.print(f"{what:<32} {shown(path)}", highlight=False)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    console.print(f"graded {len(outcomes)} submissions ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}) "
                  f"in {time.monotonic() - started:.0f} s")


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="build a sample cohort and run release, import, grade, feedback, export (in demo/)"
    )
    parser.add_argument("--workspace", type=Path, default=None, help="folder for the demo (default: demo/ in the course)")
    parser.add_argument("--learners", type=int, default=6,
                        help="learners in the sample cohort, taking the tracks in turn (default 6)")
    parser.add_argument("--completers", type=int, default=2,
                        help="learners who submit every lab of their track correctly and on time (default 2)")
    parser.add_argument("--workers", type=int, default=None, help="parallel kernels (default: CPU cores)")
    parser.add_argument("--lab", action="append", default=None, help="only this lab (repeatable)")
    parser.set_defaults(run=run)


def run(args) -> int:
    course_root = Path(args.course).resolve() if args.course else find_course_root()
    if args.learners < 1:
        raise CurriculumError("--learners must be 1 or more.")
    run_demo(course_root, args.workspace or course_root / "demo", args.learners, args.completers, args.workers,
             Console(), args.lab)
    return 0
