"""What the benchmarks share: a course with a cohort in it, a measured run of a command, and its peak memory.

Kept apart from ``autograder/`` on purpose: nothing here grades; it builds inputs the way an
instructor's course would look (``autograder.demo.prepare_workspace`` + ``autograder.release``),
runs the real CLI as a separate process, and samples what that process and all its children use.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder.curriculum import load_curriculum  # noqa: E402
from autograder.release import release  # noqa: E402

from autograder.grading import execute, grade, gradebook, outcomes, sandbox, tamper  # noqa: E402, F401
from autograder.demo import cohort  # noqa: E402
from autograder.demo.run import prepare_workspace  # noqa: E402
from autograder.course import load_nbgrader_config, read_timestamp  # noqa: E402, F401

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# Busy share of all cores, sampled over the second before a run, under which the machine counts as
# quiet. (Not the load average: it decays over a minute and still holds the benchmark's previous run.)
QUIET_BUSY = 10.0


@dataclass
class Run:
    """One measured command: wall time, peak memory of its whole process tree, the load around it."""

    seconds: float
    peak: int                    # bytes: the command and all its descendants together, at the worst moment
    peak_worker: int             # bytes: the worst single worker (a process that runs kernels, with them)
    returncode: int
    busy_before: float           # % of all cores busy in the second before the run (other work)
    busy_after: float            # % of all cores busy in the second after it (a straggler would show)
    stderr: str = ""


def _is_kernel(process: psutil.Process) -> bool:
    return any("ipykernel" in part for part in process.cmdline())


def worker_of(kernel_pid: int, parents: dict[int, int], names: dict[int, str], kernels: set[int]) -> int | None:
    """The nearest Python ancestor of a kernel that is not itself a kernel: the process that runs it
    (a pool worker, a Dask worker, or stock nbgrader's one process)."""
    pid = parents.get(kernel_pid)
    while pid is not None:
        if names.get(pid, "").startswith("python") and pid not in kernels:
            return pid
        pid = parents.get(pid)
    return None


def subtree_rss(root: int, parents: dict[int, int], rss: dict[int, int]) -> int:
    """The resident memory of ``root`` and every process below it."""
    total = 0
    for pid in rss:
        walk = pid
        while walk is not None and walk != root:
            walk = parents.get(walk)
        if walk == root:
            total += rss[pid]
    return total


class PeakMemory:
    """Sample a process tree's resident memory every ``interval`` s; keep the peak of the whole tree
    and of the heaviest worker (see :func:`worker_of`)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.peak = self.peak_worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        root = psutil.Process(self.pid)
        parents, names, rss, kernels = {}, {}, {}, set()
        for process in [root, *root.children(recursive=True)]:
            try:
                with process.oneshot():
                    rss[process.pid] = process.memory_info().rss
                    parents[process.pid] = process.ppid() if process.pid != self.pid else None
                    names[process.pid] = process.name()
                    if _is_kernel(process):
                        kernels.add(process.pid)
            except psutil.Error:
                pass
        self.peak = max(self.peak, sum(rss.values()))
        workers = {worker_of(k, parents, names, kernels) for k in kernels} - {None}
        for worker in workers:
            self.peak_worker = max(self.peak_worker, subtree_rss(worker, parents, rss))

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sample()
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_measured(command: list[str], cwd: Path, env: dict, timeout: float = 7200) -> Run:
    """Run ``command`` as its own process and measure it; its stdout is discarded, stderr kept."""
    before = psutil.cpu_percent(interval=1.0)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakMemory(process.pid) as memory:
        _, err = process.communicate(timeout=timeout)
    seconds = time.perf_counter() - started
    return Run(seconds, memory.peak, memory.peak_worker, process.returncode, before,
               psutil.cpu_percent(interval=1.0), err.decode(errors="replace"))


def start_sandbox(limits=None):
    """A sandbox proven to work here (``Sandbox.start`` probes it)."""
    return sandbox.Sandbox.start(limits or sandbox.Limits())


def bench_env(threads_per_kernel: int) -> dict[str, str]:
    """The environment of every graded run: this venv first on PATH, and the same math-thread caps
    for every grader (``autograder.grading.execute.kernel_environment`` sets the same value in its kernels)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for name in THREAD_VARIABLES:
        env[name] = str(threads_per_kernel)
    return env


def load_line(label: str, run: Run) -> str:
    """A one-line account of the load around a run, with a warning when the machine was busy."""
    warning = f"  WARNING: machine not quiet (> {QUIET_BUSY:g} % busy)" if run.busy_before > QUIET_BUSY else ""
    return f"    {label}: cores {run.busy_before:.0f} % busy the second before, {run.busy_after:.0f} % after{warning}"


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def release_course(workspace: Path, lab_ids: list[str] | None):
    """A fresh course in ``workspace`` (the repository's course files) with ``lab_ids`` released
    (default: every ready lab); returns the course root, its curriculum and the released labs."""
    course = prepare_workspace(ROOT, workspace)
    curriculum = load_curriculum(course)
    released = release(curriculum, lab_ids or [lab.id for lab in curriculum.ready_labs], due=cohort.DUE,
                       echo=lambda *a: None)
    labs = [curriculum.lab(lab_id) for lab_id, path in released.items() if isinstance(path, Path)]
    return course, curriculum, labs


def write_submission(course: Path, learner_id: str, lab, content: bytes, late: bool = False) -> None:
    """``submitted/<learner>/<lab>/`` as `autograder import` leaves it: the notebook and its timestamp."""
    folder = course / "submitted" / learner_id / lab.id
    folder.mkdir(parents=True)
    (folder / lab.notebook).write_bytes(content)
    when = cohort.DUE + timedelta(hours=5) if late else cohort.DUE - timedelta(days=1)
    (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def gradebook_scores(course: Path) -> dict:
    """Every graded cell's score, keyed by (learner, lab, cell)."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for cell in notebook.grades:
                        found[(submission.student.id, assignment.name, cell.name)] = cell.score
    return found


def notebook_span(notebook) -> float:
    """First cell's start to last cell's reply, from nbclient's timing metadata (0 if none)."""
    stamps = [cell.get("metadata", {}).get("execution", {}) for cell in notebook.cells]
    starts = [parse_stamp(s["iopub.execute_input"]) for s in stamps if "iopub.execute_input" in s]
    ends = [parse_stamp(s["shell.execute_reply"]) for s in stamps if "shell.execute_reply" in s]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def own_execution(course: Path) -> float:
    """Sum over a course's autograded notebooks of :func:`notebook_span`: the notebooks' own run time,
    measured the same way for every grader (nbclient writes it in both)."""
    import nbformat

    return sum(notebook_span(nbformat.read(path, as_version=4)) for path in course.glob("autograded/*/*/*.ipynb"))


@dataclass
class Copies:
    """Fresh copies of one built course, one per measured run, removed after use unless kept."""

    master: Path
    keep: bool = False
    made: list[Path] = field(default_factory=list)

    def fresh(self, name: str) -> Path:
        target = self.master.parent / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.master, target, symlinks=True)
        self.made.append(target)
        return target

    def discard(self, path: Path) -> None:
        if not self.keep:
            shutil.rmtree(path, ignore_errors=True)
