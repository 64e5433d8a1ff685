"""Where the time of grading one submission goes, part by part, measured on this machine.

Grades one submission (default: the solution of 01-data-matters) ``--repeats`` times through the
real ``autograder.grading.execute.run_submission``, sandboxed as `autograder grade` runs it, in a worker
process of its own, with each step timed where it is called: nbgrader's sanitising preprocessors
(one by one), the tamper scan and the canary/probe insertion (``autograder.tamper``), the working
copy, the sandboxed kernel's launch, nbgrader's Execute (split, from nbclient's cell timing, into
waiting for the kernel, the learner's cells with their tests, the canary cells, the probe cells,
the client's gaps between cells and the client's shutdown), the tidying preprocessors, the canary
check, the kernel's stop; then the trusted side's recording of the result in a real gradebook
(``autograder.grading.grade.Recorder.record``). Separately: a plain and a sandboxed kernel's start until
it answers ``kernel_info``, the sandbox's set-up (once per worker; and the cgroup per kernel), and
the learner's cells when one kernel runs alone against two kernels at once (the slow-down that
parallel kernels cause each other on a shared machine).

Prints a table: part, median ms over the repeats, share of the per-submission total.

Run (the figures in the issue; quiet machine):
    .venv/bin/python benchmarks/where_time_goes.py --lab 01-data-matters --repeats 5
Dry run:
    .venv/bin/python benchmarks/where_time_goes.py --repeats 2
"""

from __future__ import annotations

import argparse
import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    THREAD_VARIABLES, cohort, execute, grade, gradebook, load_curriculum, load_nbgrader_config, median, outcomes,
    parse_stamp, read_timestamp, release_course, start_sandbox, tamper, write_submission,
)

TOTAL = "run_submission, in all"
EXECUTE = "nbgrader Execute (GradingExecute), in all"
COPY_IN = "kernel booted, working copy copied in (copy_submission_in)"
# The table's rows, in the order a submission meets them; indented rows are parts of the row above.
LAYOUT = ["read_submission", "sanitise (nbgrader's sanitising preprocessors)", *(
    f"  {cls.__name__}" for cls in execute.SANITIZERS), "prepare_integrity_checks (tamper.py)", *(
    f"  {cls.__name__}" for cls in tamper.BEFORE_EXECUTE), "MarkHiddenTests", "working copy filled",
    "kernel launch (sandboxed, until started)", COPY_IN, EXECUTE, "  execute: wait for the kernel, client set-up",
    "  execute: learner cells", "  execute: canary cells", "  execute: probe cells",
    "  execute: client, between cells", "  execute: client shutdown",
    *(f"{cls.__name__} (tidy)" for cls in execute.TIDIERS), "CheckCanaries (tamper.py)",
    "kernel stop, working copy removed", TOTAL]

_child: dict = {}


# --------------------------------------------------------------------------- instrumentation (worker side)

def timed(parts: dict, label: str, function):
    """``function``, adding its run time to ``parts[label]`` at every call."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            parts[label] += time.perf_counter() - started
    return wrapper


def cell_phases(notebook, started: datetime, ended: datetime) -> dict[str, float]:
    """Seconds of an executed notebook's run, by phase, from nbclient's per-cell timing metadata.

    Learner cells are every code cell the tamper layer did not insert (the learner's answers and
    the instructor's tests); gaps are the client's time between one cell's reply and the next
    cell's start.
    """
    phases = defaultdict(float)
    spans = []
    for cell in notebook.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or "iopub.execute_input" not in stamps or "shell.execute_reply" not in stamps:
            continue
        begin, end = parse_stamp(stamps["iopub.execute_input"]), parse_stamp(stamps["shell.execute_reply"])
        kind = cell.get("metadata", {}).get(tamper.MARK, {}).get("kind", "learner")
        phases[f"  execute: {kind} cells"] += (end - begin).total_seconds()
        spans.append((begin, end))
    if not spans:
        return dict(phases)
    first, last = min(b for b, _ in spans), max(e for _, e in spans)
    phases["  execute: wait for the kernel, client set-up"] = (first - started).total_seconds()
    phases["  execute: client, between cells"] = (last - first).total_seconds() - sum(
        (e - b).total_seconds() for b, e in spans)
    phases["  execute: client shutdown"] = (ended - last).total_seconds()
    return dict(phases)


def _instrument(parts: dict, marks: dict) -> None:
    """Time every step of ``run_submission`` where it is called (this worker process only)."""
    for name, label in (("read_submission", LAYOUT[0]), ("sanitise", LAYOUT[1]),
                        ("prepare_integrity_checks", "prepare_integrity_checks (tamper.py)"),
                        ("_stop", "kernel stop, working copy removed")):
        setattr(execute, name, timed(parts, label, getattr(execute, name)))
    for cls in (*execute.SANITIZERS, *tamper.BEFORE_EXECUTE):
        cls.preprocess = timed(parts, f"  {cls.__name__}", cls.preprocess)
    for cls in execute.TIDIERS:
        cls.preprocess = timed(parts, f"{cls.__name__} (tidy)", cls.preprocess)
    execute.MarkHiddenTests.preprocess = timed(parts, "MarkHiddenTests", execute.MarkHiddenTests.preprocess)
    original_fill = execute.fill_working_copy
    execute.fill_working_copy = lambda task: timed(parts, "working copy filled", original_fill(task))
    copy_in = execute.SandboxedKernelManager.copy_submission_in

    async def copying_in(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return await copy_in(self, *args, **kwargs)
        finally:
            parts[COPY_IN] += time.perf_counter() - started
    execute.SandboxedKernelManager.copy_submission_in = copying_in

    run = execute.GradingExecute.preprocess

    def executing(self, nb, resources, *args, **kwargs):
        marks["started"] = datetime.now(timezone.utc)
        try:
            return run(self, nb, resources, *args, **kwargs)
        finally:
            marks["ended"] = datetime.now(timezone.utc)
    execute.GradingExecute.preprocess = timed(parts, EXECUTE, executing)

    check = tamper.CheckCanaries.preprocess

    def checking(self, nb, resources):
        parts.update(cell_phases(nb, marks["started"], marks["ended"]))  # before the inserted cells go
        started = time.perf_counter()
        try:
            return check(self, nb, resources)
        finally:
            parts["CheckCanaries (tamper.py)"] += time.perf_counter() - started
    tamper.CheckCanaries.preprocess = checking


def init_child(course_root: str, scratch: str, threads: int) -> None:
    """A grading worker as `autograder grade` makes it (sandboxed kernels), with every step timed."""
    started = time.perf_counter()
    sandbox = start_sandbox()
    _child["sandbox_setup"] = time.perf_counter() - started
    _child["parts"], _child["marks"] = defaultdict(float), {}
    _instrument(_child["parts"], _child["marks"])
    launcher = timed(_child["parts"], "kernel launch (sandboxed, until started)", execute.sandboxed_launcher(sandbox))
    _child["config"] = load_nbgrader_config(Path(course_root))
    _child["kernels"] = sandboxed_kernels(Path(scratch), execute.kernel_environment(threads), launcher)


def sandboxed_kernels(scratch: Path, env: dict, launcher) -> execute.KernelPrestarter:
    """A KernelPrestarter that starts each kernel with ``launcher`` when it is taken, so that its
    boot is timed (a grading worker's boots one ahead, while the previous notebook runs)."""
    return execute.KernelPrestarter(scratch, env, prestart=False, launcher=launcher)


def grade_once(task: execute.Task) -> tuple[dict, dict, float]:
    """One timed ``run_submission``: (seconds per part, its result, the worker's sandbox set-up)."""
    _child["parts"].clear()
    started = time.perf_counter()
    result = execute.run_submission(task, _child["config"], _child["kernels"])
    _child["parts"][TOTAL] = time.perf_counter() - started
    return dict(_child["parts"]), result, _child["sandbox_setup"]


# --------------------------------------------------------------------------- parts measured alone

def kernel_starts(repeats: int, env: dict) -> dict[str, list[float]]:
    """Seconds from launch until a kernel answers kernel_info: plain, and in the sandbox."""
    from jupyter_core.utils import run_sync

    launchers = {"kernel start, plain (until kernel_info)": execute.launch_local_kernel,
                 "kernel start, sandboxed (until kernel_info)": execute.sandboxed_launcher(start_sandbox())}
    found = defaultdict(list)
    for _ in range(repeats):
        for label, launch in launchers.items():
            with tempfile.TemporaryDirectory(dir=execute.short_scratch_root()) as scratch:
                workdir = Path(scratch) / "submission"
                workdir.mkdir()
                started = time.perf_counter()
                manager = launch("python3", workdir, env)
                client = manager.client()
                client.start_channels()
                run_sync(client.wait_for_ready)(timeout=120)
                found[label].append(time.perf_counter() - started)
                client.stop_channels()
                execute.stop_kernel(manager)
    return found


def sandbox_costs(repeats: int) -> dict[str, list[float]]:
    """The sandbox's own costs: set-up (once per worker), a cgroup (once per kernel), and a trivial
    process started inside it against the same process started plainly."""
    found = defaultdict(list)
    for _ in range(repeats):
        started = time.perf_counter()
        sandbox = start_sandbox()
        found["sandbox set-up (once per worker: bwrap found, probe run)"].append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory(dir=execute.short_scratch_root()) as folder:
            (Path(folder) / execute.KERNEL_RUNTIME_FOLDER).mkdir()
            started = time.perf_counter()
            argv, cgroup = sandbox.command([sys.executable, "-c", "pass"], Path(folder))
            found["sandbox command and cgroup made"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            found["python -c pass, sandboxed"].append(time.perf_counter() - started)
            if cgroup:
                started = time.perf_counter()
                cgroup.remove()
                found["cgroup removed"].append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        found["python -c pass, plain"].append(time.perf_counter() - started)
    return found


# --------------------------------------------------------------------------- the run

def make_tasks(course: Path, lab, count: int, variant: str, db_url: str) -> list[execute.Task]:
    """``count`` new learners who all submitted the same notebook of ``lab``."""
    content = cohort.lab_notebooks(load_curriculum(course), lab)[variant]
    known = len(list((course / "submitted").glob("*"))) if (course / "submitted").is_dir() else 0
    tasks = []
    for i in range(count):
        student = f"bench-{known + i + 1:04d}"
        write_submission(course, student, lab, content)
        tasks.append(execute.Task(student, lab.id, lab.notebook_stem, str(course / "submitted" / student / lab.id),
                                  str(course / "release" / lab.id), db_url))
    return tasks


def run_workers(tasks, course: Path, scratch: Path, workers: int, threads: int) -> list[tuple[dict, dict, float]]:
    """Grade ``tasks`` in ``workers`` timed worker processes at once (a fresh pool each time)."""
    context = get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_child,
                             initargs=(str(course), str(scratch), threads)) as pool:
        return list(pool.map(grade_once, tasks))


def record_times(course: Path, tasks, graded) -> list[float]:
    """Seconds the trusted side takes to record each result in the real gradebook (Recorder.record)."""
    curriculum = load_curriculum(course)
    found = []
    with gradebook.GradebookWriter(course) as writer:
        recorder = grade.Recorder(curriculum, writer, outcomes.OutcomeStore(course))
        for task, (_, result, _) in zip(tasks, graded):
            folder = Path(task.submitted_dir)
            submission = grade.Submission(task.student, task.lab, folder, [task.notebook],
                                          grade.fingerprint(folder, [task.notebook]), read_timestamp(folder))
            started = time.perf_counter()
            recorder.record(submission, [result])
            found.append(time.perf_counter() - started)
    return found


def print_table(parts: dict[str, list[float]], total_label: str) -> None:
    """Rows in LAYOUT's order (then any other), each with its median and share of ``total_label``."""
    total = median(parts[total_label])
    print(f"\n{'part (indented: part of the row above)':<58}{'median ms':>11}{'share':>9}")
    for label in [*(l for l in LAYOUT if l in parts), *(l for l in parts if l not in LAYOUT)]:
        print(f"{label:<58}{1000 * median(parts[label]):>11.0f}{100 * median(parts[label]) / total:>7.1f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", default="01-data-matters")
    parser.add_argument("--variant", default="solution", help="which sample submission (autograder/cohort.py)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="where-time-goes-"))
    course, curriculum, labs = release_course(workspace / "course", [args.lab])
    lab = labs[0]
    scratch = Path(tempfile.mkdtemp(prefix="aicl-wtg-", dir=execute.short_scratch_root()))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    started = time.perf_counter()
    db_url = gradebook.snapshot_gradebook(course, scratch / "gradebook-snapshot.db")
    snapshot = time.perf_counter() - started
    threads = max(1, (os.cpu_count() or 1) // 2)
    env = execute.kernel_environment(threads)
    print(f"{lab.id} ({args.variant}), {args.repeats} repeats; load average {os.getloadavg()[0]:.2f}; "
          f"{threads} math thread(s) per kernel ({', '.join(THREAD_VARIABLES)})")

    alone_tasks = make_tasks(course, lab, args.repeats, args.variant, db_url)
    alone = [run_workers([task], course, scratch, 1, threads)[0] for task in alone_tasks]
    recorded = record_times(course, alone_tasks, alone)
    parts = defaultdict(list)
    for timings, _, _ in alone:
        for label, seconds in timings.items():
            parts[label].append(seconds)
    parts["record in the gradebook (trusted side, Recorder.record)"] = recorded
    parts["per submission, in all (run_submission + record)"] = [
        t[TOTAL] + r for (t, _, _), r in zip(alone, recorded)]
    print_table(parts, "per submission, in all (run_submission + record)")
    print(f"status of the graded runs: {sorted({r['status'] for _, r, _ in alone})}")

    pairs = [run_workers(make_tasks(course, lab, 2, args.variant, db_url), course, scratch, 2, threads)
             for _ in range(args.repeats)]
    learner_alone = median(t.get("  execute: learner cells", 0) for t, _, _ in alone)
    learner_pair = median(t.get("  execute: learner cells", 0) for pair in pairs for t, _, _ in pair)
    print(f"\nlearner's cells (answers and tests), median: one kernel alone {1000 * learner_alone:.0f} ms, "
          f"two kernels at once {1000 * learner_pair:.0f} ms ({learner_pair / learner_alone:.2f}x)")

    once = {"gradebook snapshot (once per run)": [snapshot],
            "sandbox set-up in a worker (once per worker)": [s for _, _, s in alone]}
    once.update(sandbox_costs(args.repeats))
    once.update(kernel_starts(args.repeats, env))
    print(f"\n{'measured alone':<58}{'median ms':>11}")
    for label, values in once.items():
        print(f"{label:<58}{1000 * median(values):>11.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}; workspace {workspace}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
