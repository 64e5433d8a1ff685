"""Throughput against workers, on paper and by simulation, until the one gradebook writer bounds it.

Grading is N workers running notebooks and one trusted client that records every result (the
gradebook and ``outcomes.json`` have a single writer, whichever back end runs the notebooks). So:

    on paper:   throughput(W) = min(W / mean task time, 1 / mean record time)   submissions per second

The simulation replays measured times: each task's time is a real submission's
``execution_seconds`` from an ``outcomes.json`` (drawn with replacement, fixed seed) plus a fixed
per-submission overhead (kernel start, sandbox, preprocessors: see where_time_goes.py, or derived
from that run's wall time with --wall); W workers take tasks in order, and the client records each
result as it arrives, one at a time, with the record time measured here: ``Recorder.record`` (the
gradebook transaction, the autograded notebook, ``outcomes.json``) on a real gradebook, for
``--record-count`` learners in turn, modelled as a + b * (outcomes already recorded): a is the
median of the first records; b is measured directly from ``OutcomeStore.put`` (before issue 17 it
rewrote the whole ``outcomes.json`` at every record; it now appends one journal line): puts into
stores holding 100, 1,000 and 4,000 copies of a real outcome, fitted with a line.

Run (after a real run, e.g. grading.py --keep or large_cohort.py, whose course holds outcomes.json):
    .venv/bin/python benchmarks/throughput_model.py --outcomes COURSE/outcomes.json --wall 133.5 --run-workers 2
Dry run:
    .venv/bin/python benchmarks/throughput_model.py --outcomes COURSE/outcomes.json --record-count 20
"""

from __future__ import annotations

import argparse
import atexit
import heapq
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    cohort, execute, grade, gradebook, load_curriculum, load_nbgrader_config, median, outcomes, read_timestamp,
    release_course, write_submission,
)

WORKERS = (1, 2, 4, 8, 16, 32, 64)


def simulate(task_seconds: list[float], record_seconds: Callable[[int], float], workers: int) -> float:
    """Seconds until the last of ``task_seconds`` is recorded, with ``workers`` workers taking tasks
    in order and one client recording results one at a time, in the order they finish
    (``record_seconds(n)``: the time to record one more result when n are recorded already)."""
    free = [0.0] * workers
    finished = []
    for seconds in task_seconds:
        start = heapq.heappop(free)
        heapq.heappush(free, start + seconds)
        finished.append(start + seconds)
    client = 0.0
    for n, ready in enumerate(sorted(finished)):
        client = max(client, ready) + record_seconds(n)
    return client


def paper_throughput(mean_task: float, mean_record: float, workers: int) -> float:
    """Submissions per second: workers in parallel, capped by the single writer."""
    return min(workers / mean_task, 1 / mean_record)


def record_growth(seconds: list[float]) -> tuple[float, float]:
    """(a, b) with record time ~ a + b * n, robust to a few slow records: a line through the medians
    of the first and the last third of the measurements, never decreasing (a record cannot get
    cheaper as the files grow; a falling line is noise)."""
    third = max(1, len(seconds) // 3)
    first, last = median(seconds[:third]), median(seconds[-third:])
    distance = len(seconds) - third
    slope = max(0.0, (last - first) / distance) if distance > 0 else 0.0
    return first - slope * (third - 1) / 2, slope


def save_growth(course: Path, sizes=(100, 1000, 4000)) -> tuple[float, dict[int, float]]:
    """Seconds per outcome already recorded that ``OutcomeStore.put`` adds (the writer's saving cost
    per record: a whole rewrite of ``outcomes.json`` before issue 17, one journal line since), from
    puts of a new learner's outcome into stores holding ``sizes`` copies of a real outcome."""
    from dataclasses import replace

    real = next(iter(outcomes.OutcomeStore(course).outcomes.values()))
    measured = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            store = outcomes.OutcomeStore(Path(folder))
            store.outcomes = {(f"s{i:06d}", real.lab): replace(real, student=f"s{i:06d}") for i in range(size)}
            runs = []
            for number in range(5):
                started = time.perf_counter()
                store.put(replace(real, student=f"new{number}"))
                runs.append(time.perf_counter() - started)
            measured[size] = median(runs)
    fit = statistics.linear_regression(list(measured), list(measured.values()))
    return max(0.0, fit.slope), measured


def execution_times(outcomes: Path) -> list[float]:
    """Each submission's own notebook time from a real run's ``outcomes.json`` (0 s ones left out)."""
    data = json.loads(outcomes.read_text(encoding="utf-8"))
    return [o["execution_seconds"] for o in data.get("outcomes", []) if o.get("execution_seconds")]


def graded_result(course: Path, lab, db_url: str) -> tuple[execute.Task, dict]:
    """One real graded result of ``lab``'s solution (a plain kernel: the sandbox does not change what is recorded)."""
    content = cohort.lab_notebooks(load_curriculum(course), lab)["solution"]
    write_submission(course, "model-0000", lab, content)
    task = execute.Task("model-0000", lab.id, lab.notebook_stem, str(course / "submitted" / "model-0000" / lab.id),
                        str(course / "release" / lab.id), db_url)
    with tempfile.TemporaryDirectory(dir=execute.short_scratch_root()) as scratch:
        kernels = execute.KernelPrestarter(Path(scratch), execute.kernel_environment(1), prestart=False)
        result = execute.run_submission(task, load_nbgrader_config(course), kernels)
    if result["status"] != "graded":
        raise SystemExit(f"the solution of {lab.id} did not grade cleanly: {result['reason']}")
    return task, result


def record_times(count: int, lab_id: str, workspace: Path) -> tuple[list[float], Path]:
    """Seconds of ``Recorder.record`` for ``count`` learners in turn, each a new learner with the same
    real result, on a real gradebook (what the trusted client does once per submission)."""
    course, curriculum, labs = release_course(workspace / "course", [lab_id])
    lab = labs[0]
    db_url = gradebook.snapshot_gradebook(course, workspace / "snapshot.db")
    task, result = graded_result(course, lab, db_url)
    source = Path(task.submitted_dir)
    found = []
    with gradebook.GradebookWriter(course) as writer:
        recorder = grade.Recorder(curriculum, writer, outcomes.OutcomeStore(course))
        for i in range(count):
            student = f"model-{i + 1:04d}"
            write_submission(course, student, lab, (source / lab.notebook).read_bytes())
            folder = course / "submitted" / student / lab.id
            submission = grade.Submission(student, lab.id, folder, [task.notebook],
                                          grade.fingerprint(folder, [task.notebook]), read_timestamp(folder))
            started = time.perf_counter()
            recorder.record(submission, [{**result, "student": student}])
            found.append(time.perf_counter() - started)
    return found, course


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outcomes", type=Path, required=True, help="outcomes.json of a real grading run")
    parser.add_argument("--overhead", type=float, default=None,
                        help="seconds per submission beyond its notebook's own time (default: from --wall, else 0)")
    parser.add_argument("--wall", type=float, default=None, help="that run's wall time, to derive --overhead")
    parser.add_argument("--run-workers", type=int, default=2, help="that run's workers (with --wall)")
    parser.add_argument("--cohort", type=int, default=1000, help="submissions in the simulated cohort")
    parser.add_argument("--record-count", type=int, default=200, help="records to time on a real gradebook")
    parser.add_argument("--lab", default="00-jupyter-pandas", help="lab whose solution is recorded")
    args = parser.parse_args()

    times = execution_times(args.outcomes)
    if not times:
        raise SystemExit(f"{args.outcomes}: no submission with execution_seconds; give the outcomes.json of a "
                         "run that graded notebooks.")
    overhead = args.overhead
    if overhead is None:
        overhead = max(0.0, args.wall * args.run_workers / len(times) - statistics.mean(times)) if args.wall else 0.0
    workspace = Path(tempfile.mkdtemp(prefix="throughput-model-"))
    atexit.register(shutil.rmtree, workspace, ignore_errors=True)
    recorded, course = record_times(args.record_count, args.lab, workspace)
    a, b_measured = record_growth(recorded)
    b, saves = save_growth(course)
    record = lambda n: a + b * n  # noqa: E731
    rng = random.Random(0)
    tasks = [rng.choice(times) + overhead for _ in range(args.cohort)]
    mean_task, mean_record = statistics.mean(tasks), statistics.mean(record(n) for n in range(args.cohort))
    print(f"{len(times)} measured notebooks: mean {statistics.mean(times):.2f} s, median {median(times):.2f} s; "
          f"+ {overhead:.2f} s overhead per submission")
    print(f"record time (Recorder.record, {len(recorded)} learners in turn): median {1000 * median(recorded):.1f} ms; "
          f"{1000 * a:.1f} ms at the start, growing {1000 * b_measured:.3f} ms per outcome recorded (medians of the "
          f"first and last third)")
    print("OutcomeStore.put (the saving at each record): " + ", ".join(
        f"{1000 * t:.2f} ms at {n} outcomes" for n, t in saves.items()) + f" = {1000 * b:.3f} ms per outcome")
    print(f"model: record(n) = {1000 * a:.1f} ms + {1000 * b:.3f} ms * n; mean over a {args.cohort}-submission "
          f"cohort {1000 * mean_record:.1f} ms")
    print(f"\n{'workers':>8}{'simulated sub/s':>17}{'on paper sub/s':>16}{'client busy':>13}")
    for workers in WORKERS:
        makespan = simulate(tasks, record, workers)
        busy = sum(record(n) for n in range(len(tasks))) / makespan
        print(f"{workers:>8}{len(tasks) / makespan:>17.2f}{paper_throughput(mean_task, mean_record, workers):>16.2f}"
              f"{busy:>12.0%}")
    print(f"\nbound: the single writer records at most {1 / mean_record:.1f} submissions/s over a {args.cohort}-"
          f"submission cohort; workers add throughput linearly up to about {mean_task / mean_record:.0f} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
