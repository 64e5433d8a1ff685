"""Step 3, grade: autograde every pending submission of a lab, in parallel, resumably.

Trusted side (this process): finds pending submissions, hands them to N worker processes (a local
pool, or a Dask cluster with ``--cluster``: autograder/grading/backends.py), and is the only writer of the
gradebook and of ``outcomes.json``. Untrusted side (``execute.py``): each
submission runs in its own fresh kernel, in its own temporary working copy.

A submission is *pending* unless ``outcomes.json`` holds a verdict for the very same files (a
fingerprint of the notebook bytes and ``timestamp.txt``). A submission's grades are committed in one
transaction, then its outcome is written atomically; a run killed between the two re-grades that
one submission next time, which rewrites the same grade rows (nbgrader keeps one row per cell and
submission), so nothing is lost or counted twice.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from autograder.grading.backends import ClusterUnavailable, DaskCluster, LocalPool, default_workers
from autograder.curriculum import Curriculum, CurriculumError, load_curriculum
from autograder.grading.execute import (
    DEFAULT_CELL_TIMEOUT, DEFAULT_NOTEBOOK_BUDGET, NotARegularFile, Task, read_regular_file, short_scratch_root,
)
from autograder.files import atomic_write_bytes
from autograder.grading.sandbox import Limits, Sandbox, SandboxUnavailable
from autograder.grading.settings import with_course_settings
from autograder.course import db_path, load_nbgrader_config, read_timestamp
from autograder.grading.gradebook import GradebookWriter, snapshot_gradebook
from autograder.grading.budget import SolutionTimes, derive
from autograder.grading.lock import course_lock
from autograder.grading.outcomes import FAILED, GRADED, MISSING, NEEDS_REVIEW, Outcome, OutcomeStore

RETRYABLE = (FAILED,)


@dataclass
class Submission:
    student: str
    lab: str
    folder: Path
    notebooks: list[str]          # notebook names (without .ipynb) the assignment expects
    fingerprint: str
    timestamp: datetime | None


def fingerprint(folder: Path, notebooks: list[str]) -> str:
    """Identify a submission's content: its notebooks' bytes and its timestamp."""
    digest = hashlib.sha256()
    for name in sorted(notebooks) + ["timestamp"]:
        path = folder / ("timestamp.txt" if name == "timestamp" else f"{name}.ipynb")
        digest.update(name.encode() + b"\0")
        try:
            digest.update(read_regular_file(path))
        except NotARegularFile:
            digest.update(b"<not a regular file>")
        except OSError:
            digest.update(b"<absent>")
    return digest.hexdigest()[:20]


def find_submissions(course_root: Path, lab_id: str, notebooks: list[str]) -> list[Submission]:
    """Every ``submitted/<student>/<lab>/`` folder, in student order."""
    found = []
    for folder in sorted((course_root / "submitted").glob(f"*/{lab_id}")):
        if folder.is_symlink() or folder.parent.is_symlink():
            continue  # a link is never followed: import never makes one, and grading ignores it
        if not folder.is_dir() or folder.parent.name.startswith("."):
            continue
        try:
            timestamp = read_timestamp(folder)
        except ValueError:
            timestamp = None
        found.append(Submission(folder.parent.name, lab_id, folder, notebooks,
                                fingerprint(folder, notebooks), timestamp))
    return found


def is_pending(submission: Submission, store: OutcomeStore, retry_failed: bool) -> bool:
    outcome = store.get(submission.student, submission.lab)
    if outcome is None or outcome.fingerprint != submission.fingerprint:
        return True
    return retry_failed and outcome.status in RETRYABLE


class Recorder:
    """Turns worker results into gradebook rows, autograded notebooks and outcomes (parent only)."""

    def __init__(self, curriculum: Curriculum, writer: GradebookWriter, store: OutcomeStore):
        self.root = curriculum.root
        self.writer = writer
        self.store = store

    def record(self, submission: Submission, results: list[dict]) -> Outcome:
        student, lab = submission.student, submission.lab
        self.writer.ensure_student(student)
        present = {r["notebook"]: r for r in results}
        missing = [name for name in submission.notebooks if name not in present]
        executed = {name: (nbformat.reads(r["executed"], as_version=4) if r["executed"] else None)
                    for name, r in present.items()}
        for name, text in ((n, r["executed"]) for n, r in present.items() if r["executed"]):
            atomic_write_bytes(self.root / "autograded" / student / lab / f"{name}.ipynb", text.encode("utf-8"))
        summary = self.writer.record_submission(lab, student, submission.timestamp, executed, missing)
        problems = [r for r in results if r["status"] != GRADED]
        if problems:
            status = problems[0]["status"]
            reason = "; ".join(f"{r['notebook']}.ipynb: {r['reason']}" for r in problems)
        elif missing and not present:
            status, reason = MISSING, f"no notebook in {submission.folder}: scored 0 (as nbgrader does)"
        else:
            status, reason = GRADED, ""
        if missing and present:
            reason = (reason + "; " if reason else "") + f"missing {', '.join(missing)}: scored 0"
        notes = [f"{r['notebook']}.ipynb: {r['reason']}" for r in results if r["status"] == GRADED and r["reason"]]
        if notes:  # e.g. output cut by the grader: graded as usual, but worth knowing
            reason = "; ".join(([reason] if reason else []) + notes)
        # Tamper detection (tamper.py): any finding means a person must look; never silently credited.
        suspicions = [f"{r['notebook']}.ipynb: {finding}" for r in results for finding in r.get("tamper", [])]
        if suspicions:
            if status == GRADED:
                status = NEEDS_REVIEW
            shown = "; ".join(suspicions[:6]) + (f"; and {len(suspicions) - 6} more" if len(suspicions) > 6 else "")
            reason = (reason + "; " if reason else "") + "possible tampering: " + shown
        outcome = Outcome(
            student=student, lab=lab, status=status, reason=reason,
            needs_review=bool(problems) or bool(suspicions),
            late=summary["seconds_late"] > 0, seconds_late=summary["seconds_late"],
            score=summary["score"], max_score=summary["max_score"],
            manual_pending=summary["manual_pending"],
            fingerprint=submission.fingerprint,
            graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            execution_seconds=round(sum(r.get("execution_seconds", 0.0) for r in results), 3),
            checks=self.writer.checks(lab, student),
        )
        self.store.put(outcome)
        return outcome


def grade_labs(
    curriculum: Curriculum,
    lab_ids: list[str],
    workers: int | None = None,
    cell_timeout: int | None = None,
    notebook_budget: int | None = None,
    retry_failed: bool = False,
    students: list[str] | None = None,
    console: Console | None = None,
    show_progress: bool = True,
    sandbox: Limits | None = Limits(),
    details: Console | None = None,
    cluster: str | None = None,
) -> list[Outcome]:
    """Grade every pending submission of the given labs in one pool; return this run's outcomes.

    One pool for all labs: workers and their first kernels start once, not once per lab. Each
    kernel runs in a bubblewrap sandbox with the ``sandbox`` limits; ``None`` grades without one
    (only for trusted submissions: the instructor must ask for it with --unsafe-no-sandbox).
    ``cell_timeout`` and ``notebook_budget`` left as None are derived per lab from the solution's
    own run time (autograder/grading/budget.py). ``details`` receives the per-lab lines and the table of
    this run's outcomes (the demo writes them to a file); by default they go to ``console``.
    ``cluster`` None grades in a local process pool; ``"local"`` on a Dask LocalCluster started
    for the run; an address (``tcp://host:8786``) on that Dask scheduler's workers. A cluster that
    cannot be started or reached raises ClusterUnavailable before anything is written.
    """
    console = console or Console()
    details = details or console
    root, workers = curriculum.root, workers or default_workers()
    config = load_nbgrader_config(root)
    if not db_path(root).exists():
        raise CurriculumError(
            f"No gradebook at {db_path(root)}: release the labs first with "
            f"`autograder release {' '.join(lab_ids)}`."
        )
    outcomes: list[Outcome] = []
    with course_lock(root), GradebookWriter(root, config) as writer, OutcomeStore(root) as store:
        pending = find_pending(curriculum, lab_ids, writer, store, students, retry_failed, details)
        if not pending:
            return []
        scratch = new_scratch(cluster, root)
        try:
            with new_backend(cluster, workers, root, scratch, sandbox) as backend:
                console.print(f"grading {len(pending)} submissions with {backend.describe()}")
                db_url = snapshot_gradebook(root, scratch / "gradebook-snapshot.db")
                limits = _time_limits(curriculum, {s.lab for s in pending}, cell_timeout, notebook_budget,
                                      scratch, db_url, backend, console, details)
                outcomes = _grade_pending(pending, root, db_url, limits, Recorder(curriculum, writer, store),
                                          backend, console, show_progress)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print_summary(details, outcomes)
    if details is not console:
        print_counts(console, outcomes)
    return outcomes


def find_pending(curriculum: Curriculum, lab_ids: list[str], writer: GradebookWriter, store: OutcomeStore,
                 students: list[str] | None, retry_failed: bool, details: Console) -> list[Submission]:
    """The submissions to grade: new or changed files, or an outcome whose grades are not in this
    gradebook; one line per lab says how many."""
    pending: list[Submission] = []
    for lab in [curriculum.lab(lab_id) for lab_id in lab_ids]:
        if not writer.has_assignment(lab.id):
            raise CurriculumError(
                f"Lab '{lab.id}' is not in the gradebook {writer.config.CourseDirectory.db_url}: release it "
                f"first with `autograder release {lab.id}`."
            )
        submissions = find_submissions(curriculum.root, lab.id, writer.assignment_notebooks(lab.id))
        if students:
            submissions = [s for s in submissions if s.student in set(students)]
        in_gradebook = writer.graded_students(lab.id)
        todo = [s for s in submissions if is_pending(s, store, retry_failed) or s.student not in in_gradebook]
        details.print(f"[bold]{escape(lab.id)}[/]: {len(submissions)} submissions, "
                      f"{len(submissions) - len(todo)} already graded, {len(todo)} to grade")
        pending += todo
    return pending


def new_scratch(cluster: str | None, root: Path) -> Path:
    """The run's private folder (gradebook snapshot, copies of solutions to time): in /tmp when this
    machine's workers grade; in the course folder for an existing cluster, whose workers see the
    course at the same path (a shared file system) but not this machine's /tmp."""
    if cluster in (None, "local"):
        return Path(tempfile.mkdtemp(prefix="aicl-", dir=short_scratch_root()))
    return Path(tempfile.mkdtemp(prefix=".grading-", dir=root))


def new_backend(cluster: str | None, workers: int, root: Path, scratch: Path, sandbox: Limits | None):
    """The local process pool (``cluster`` None) or a Dask cluster (``"local"`` or a scheduler address)."""
    if cluster is None:
        return LocalPool(workers, root, scratch, sandbox)
    return DaskCluster(cluster, workers, root, scratch, sandbox)


def grade_lab(curriculum: Curriculum, lab_id: str, workers: int | None = None, **options) -> list[Outcome]:
    """Grade every pending submission of one lab (see :func:`grade_labs`)."""
    return grade_labs(curriculum, [lab_id], workers, **options)


def _time_limits(curriculum, lab_ids, cell_timeout, notebook_budget, scratch, db_url, backend,
                 console, details) -> dict[str, tuple[int, int]]:
    """(cell timeout, notebook budget) per lab: as given, else derived from the solution's run time,
    which is measured (sandboxed, like a submission) for labs whose source changed since last time."""
    times, root = SolutionTimes(curriculum.root), curriculum.root
    given = (cell_timeout or DEFAULT_CELL_TIMEOUT, notebook_budget or DEFAULT_NOTEBOOK_BUDGET)
    if cell_timeout is not None and notebook_budget is not None:
        return {lab_id: given for lab_id in lab_ids}
    labs = [curriculum.lab(lab_id) for lab_id in sorted(lab_ids)]
    to_time = [lab for lab in labs if times.get(lab.id, curriculum.source_notebook(lab)) is None]
    if to_time:
        say(console, f"timing the solution of {', '.join(escape(lab.id) for lab in to_time)} to set time limits")
        tasks = []
        for lab in to_time:
            folder = scratch / "solutions" / lab.id
            folder.mkdir(parents=True)
            shutil.copyfile(curriculum.source_notebook(lab), folder / lab.notebook)
            tasks.append(Task("solution-timing", lab.id, lab.notebook_stem, str(folder), str(root / "release" / lab.id),
                              db_url, *given))
        measured = {}
        backend.run([[task] for task in tasks], lambda task, result: measured.setdefault(task.lab, result))
        for lab in to_time:
            result = measured.get(lab.id)
            if result and result["status"] == GRADED and result.get("execution_seconds"):
                times.put(lab.id, curriculum.source_notebook(lab), result["execution_seconds"])
            else:
                say(console, f"[yellow]{escape(lab.id)}: its solution did not run cleanly "
                    f"({escape((result or {}).get('reason', 'no result'))}); using {given[0]} s per cell, "
                    f"{given[1]} s per notebook[/]")
    limits = {}
    for lab in labs:
        seconds = times.get(lab.id, curriculum.source_notebook(lab))
        cell, budget = derive(seconds) if seconds is not None else given
        limits[lab.id] = (cell_timeout or cell, notebook_budget or budget)
        say(details, f"{escape(lab.id)}: {limits[lab.id][0]} s per cell, {limits[lab.id][1]} s per notebook"
            + (f" (solution: {seconds:.1f} s)" if seconds is not None else ""))
    return limits


def submission_tasks(submission: Submission, root: Path, db_url: str, limits: tuple[int, int]) -> list[Task]:
    """One Task per notebook the submission holds (a missing notebook is scored 0 by the Recorder)."""
    return [Task(submission.student, submission.lab, name, str(submission.folder),
                 str(root / "release" / submission.lab), db_url, *limits)
            for name in submission.notebooks if (submission.folder / f"{name}.ipynb").exists()]


class Batch:
    """This run's submissions: collects each one's notebook results and records it (through the
    Recorder, the only writer) as soon as all are back, then advances the progress bar."""

    def __init__(self, pending: list[Submission], tasks: dict[tuple, list[Task]], recorder: Recorder,
                 progress: Progress, bar):
        self.by_key = {(s.student, s.lab): s for s in pending}
        self.tasks = tasks
        self.recorder = recorder
        self.progress = progress
        self.bar = bar
        self.results: dict[tuple, list[dict]] = {k: [] for k in tasks}
        self.outcomes: list[Outcome] = []
        self.one_writer = threading.Lock()  # results arrive from threads; the gradebook has one writer

    def record(self, task: Task, result: dict) -> None:
        with self.one_writer:
            k = (task.student, task.lab)
            self.results[k].append(result)
            if len(self.results[k]) == len(self.tasks[k]):
                self.finish(k)

    def finish(self, k: tuple) -> None:
        submission = self.by_key[k]
        try:
            outcome = self.recorder.record(submission, self.results[k])
        except Exception as error:  # noqa: BLE001 - one unrecordable submission must not stop the batch
            self.recorder.writer.gradebook.db.rollback()
            outcome = Outcome(submission.student, submission.lab, FAILED, needs_review=True,
                              fingerprint=submission.fingerprint,
                              reason=f"could not record the grades in the gradebook: {type(error).__name__}: {error}")
            self.recorder.store.put(outcome)
        self.outcomes.append(outcome)
        self.progress.advance(self.bar)
        if outcome.status != GRADED:
            say(self.progress.console, f"  {escape(outcome.student)} {escape(outcome.lab)}: "
                f"[yellow]{escape(outcome.status)}[/] - {escape(outcome.reason)}")


def _grade_pending(pending, root, db_url, limits, recorder, backend, console, show_progress) -> list[Outcome]:
    """Keep the back end's workers busy; record each submission as soon as all its notebooks are back."""
    tasks = {(s.student, s.lab): submission_tasks(s, root, db_url, limits[s.lab]) for s in pending}
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not show_progress, transient=False) as progress:
        batch = Batch(pending, tasks, recorder, progress, progress.add_task("grading", total=len(pending)))
        # Submissions with no notebook at all are recorded straight away (nbgrader gives them 0).
        for k in [k for k, t in tasks.items() if not t]:
            batch.finish(k)
        # A learner's labs one after another: long and short notebooks mix, which balances the workers.
        backend.run([tasks[k] for k in sorted(tasks) if tasks[k]], batch.record)
    return batch.outcomes


def say(console: Console, text: str) -> None:
    """Print a progress line; printing can never stop grading (the grades are already saved)."""
    try:
        console.print(text)
    except Exception as error:  # noqa: BLE001 - a display problem must not abort the batch
        try:
            console.print(f"(a progress line could not be shown: {type(error).__name__})", markup=False)
        except Exception:  # noqa: BLE001
            pass


def print_summary(console: Console, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    table = Table(title="Graded in this run")
    for column in ("learner", "lab", "status", "score", "late", "review", "reason"):
        table.add_column(column, overflow="fold")
    for outcome in sorted(outcomes, key=lambda o: (o.lab, o.student)):
        score = "" if outcome.score is None else f"{outcome.score:g}/{outcome.max_score:g}"
        table.add_row(escape(outcome.student), escape(outcome.lab), escape(outcome.status), score,
                      "late" if outcome.late else "", "yes" if outcome.needs_review else "",
                      escape(outcome.reason[:120]))
    try:
        console.print(table)
    except Exception as error:  # noqa: BLE001 - the outcomes are saved; say so and go on
        say(console, f"(the summary table could not be shown: {type(error).__name__}; run `autograder status`)")
    print_counts(console, outcomes)


def print_counts(console: Console, outcomes: list[Outcome]) -> None:
    """One line: how many of this run's submissions ended in each status."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    console.print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


def add_command(subparsers) -> None:
    parser = subparsers.add_parser("grade", help="autograde every pending submission of a lab, in parallel")
    parser.add_argument("labs", nargs="*", help="lab ids (default: every ready lab with submissions)")
    parser.add_argument("--workers", type=int, default=None, help="parallel kernels (default: CPU cores). "
                        "Each option's default can be set in nbgrader_config.py: c.AutograderGrade.workers, "
                        ".cluster, .cell_timeout, .notebook_budget, .memory_mb, .max_processes")
    parser.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds one cell may run before it is interrupted (default: 10 times the "
                             "lab's solution run time, at least 60)")
    parser.add_argument("--notebook-budget", type=int, default=None,
                        help="wall-clock seconds for a whole notebook (default: as --cell-timeout)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="grade again submissions whose kernel died or whose worker crashed")
    parser.add_argument("--student", action="append", default=None, help="grade only this learner (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    parser.add_argument("--cluster", default=None, metavar="local|tcp://HOST:PORT",
                        help="grade on Dask: 'local' starts a LocalCluster of --workers processes for this run; "
                             "an address uses that running scheduler's workers (default: a local process pool)")
    add_sandbox_options(parser)
    parser.set_defaults(run=run)


def add_sandbox_options(parser) -> None:
    """The sandbox's limits, and the explicit opt-out (shared by `grade` and `demo`)."""
    defaults = Limits()
    parser.add_argument("--memory-mb", type=int, default=None,
                        help=f"memory for one learner's kernel (default {defaults.memory_mb}, or "
                             "c.AutograderGrade.memory_mb in nbgrader_config.py)")
    parser.add_argument("--max-processes", type=int, default=None,
                        help=f"processes and threads for one learner's kernel (default {defaults.processes}, "
                             "or c.AutograderGrade.max_processes)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run learners' code without isolation: only for submissions you trust")


def sandbox_from_args(args, console: Console) -> Limits | None:
    """The sandbox limits to grade with, after checking that a sandbox works here.

    Raises SandboxUnavailable (with the install command) unless --unsafe-no-sandbox was given.
    """
    if args.unsafe_no_sandbox:
        console.print("[bold red]--unsafe-no-sandbox:[/] learners' code runs with your permissions, "
                      "your files and the network. Use it only for submissions you trust.")
        return None
    limits = Limits(memory_mb=args.memory_mb, processes=args.max_processes)
    console.print(Sandbox.start(limits).describe())
    return limits


def run(args) -> int:
    curriculum = load_curriculum(args.course)
    args = with_course_settings(args, curriculum.root)
    if args.workers is not None and args.workers < 1:
        raise CurriculumError("--workers must be 1 or more.")
    if args.cluster not in (None, "local") and "://" not in args.cluster:
        raise CurriculumError(f"--cluster {args.cluster!r}: give 'local' or a scheduler address such as "
                              "tcp://host:8786.")
    labs = args.labs or [lab.id for lab in curriculum.ready_labs
                         if (curriculum.root / "submitted").is_dir()
                         and any((curriculum.root / "submitted").glob(f"*/{lab.id}"))]
    if not labs:
        print("Nothing to grade: no submitted/<learner>/<lab>/ folders. Run `autograder import` first.")
        return 0
    console = Console()
    try:
        sandbox = sandbox_from_args(args, console)
    except SandboxUnavailable as error:
        console.print(f"[bold red]Not grading:[/] {error}")
        return 2
    try:
        grade_labs(curriculum, labs, args.workers, args.cell_timeout, args.notebook_budget,
                   args.retry_failed, args.student, console=console, show_progress=not args.no_progress,
                   sandbox=sandbox, cluster=args.cluster)
    except ClusterUnavailable as error:
        console.print(f"[bold red]Not grading:[/] {escape(str(error))}")
        return 1
    return 0
