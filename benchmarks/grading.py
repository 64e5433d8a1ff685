"""Benchmark: stock `nbgrader autograde` against `autograder grade` on the same cohort of real labs.

Builds one cohort (default 40+ submissions of the ready labs: solution, alternative, wrong, partial,
blank, late and deleted-cell variants; no corrupt files, which stock nbgrader cannot grade), copies
it into two identical course folders, then grades one with stock nbgrader (one `nbgrader autograde
LAB` per lab, as an instructor would run it) and the other with this pipeline, one after the other
on this machine. Prints both wall times, their ratio, whether the scores agree cell by cell, the
peak memory of each (the grader and all its children, kernels included), and the compute limit:
the sum of each notebook's own execution time (first cell start to last cell end, as measured by
this pipeline) divided by the workers, i.e. the best any N-worker grader could do without making
the learners' code itself faster.

Run: .venv/bin/python benchmarks/grading.py [--learners 40] [--workers 2] [--lab 01-data-matters ...]
It works in a temporary folder (or --workspace) and leaves the repository untouched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.demo import cohort  # noqa: E402
from autograder.curriculum import load_curriculum  # noqa: E402
from autograder.demo.run import prepare_workspace  # noqa: E402
from autograder.grading.grade import default_workers  # noqa: E402
from autograder.grading.outcomes import load_outcomes  # noqa: E402
from autograder.release import release  # noqa: E402

BENCH_VARIANTS = ["solution", "alternative-1", "wrong-1", "partial", "blank", "late", "deleted-test-cell", "wrong-2"]


class PeakMemory:
    """Sample the resident memory of a process and all its descendants; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                parent = psutil.Process(self.pid)
                total = 0
                for process in [parent, *parent.children(recursive=True)]:
                    try:
                        total += process.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_measured(command: list[str], cwd: Path, env: dict) -> tuple[float, int, int]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakMemory(process.pid) as memory:
        _, err = process.communicate()
    if process.returncode != 0:
        print(f"  {' '.join(command[:4])}... exited {process.returncode}: {err.decode()[-800:]}", file=sys.stderr)
    return time.perf_counter() - started, memory.peak, process.returncode


def build(workspace: Path, learners: int, labs: list[str] | None) -> tuple[Path, Path, list]:
    stock = prepare_workspace(ROOT, workspace / "stock")
    curriculum = load_curriculum(stock)
    released = release(curriculum, labs or [lab.id for lab in curriculum.ready_labs], due=cohort.DUE,
                       echo=lambda *a: None)
    ready = [curriculum.lab(lab_id) for lab_id, path in released.items() if isinstance(path, Path)]
    people = cohort.make_learners(learners)
    notebooks = {lab.id: cohort.lab_notebooks(curriculum, lab) for lab in ready}
    plan = []
    for i, learner in enumerate(people):
        lab = ready[i % len(ready)]
        variant = BENCH_VARIANTS[(i // len(ready)) % len(BENCH_VARIANTS)]
        folder = stock / "submitted" / learner.id / lab.id
        folder.mkdir(parents=True)
        (folder / lab.notebook).write_bytes(notebooks[lab.id][variant])
        when = cohort.DUE + cohort.timedelta(hours=5) if variant == "late" else cohort.DUE - cohort.timedelta(days=1)
        (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        plan.append((learner.id, lab.id, variant))
    ours = workspace / "ours"
    shutil.copytree(stock, ours)
    return stock, ours, ready


def scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        found[(submission.student.id, assignment.name, grade.name)] = grade.score
    return found


def own_execution(root: Path) -> float:
    """Sum over autograded notebooks of first cell start to last cell reply, from nbclient's timing
    metadata; the same measure for both graders, so it shows how much the machine slowed each one."""
    import nbformat

    total = 0.0
    for path in root.glob("autograded/*/*/*.ipynb"):
        stamps = [cell.get("metadata", {}).get("execution", {}) for cell in nbformat.read(path, as_version=4).cells]
        starts = [s["iopub.execute_input"] for s in stamps if "iopub.execute_input" in s]
        ends = [s["shell.execute_reply"] for s in stamps if "shell.execute_reply" in s]
        if starts and ends:
            parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
            total += (max(map(parse, ends)) - min(map(parse, starts))).total_seconds()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=40, help="submissions (one lab each; default 40)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--lab", action="append", default=None, help="only this lab (repeatable)")
    parser.add_argument("--workspace", type=Path, default=None, help="keep the two course folders here")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    workspace.mkdir(parents=True, exist_ok=True)
    print(f"building the cohort in {workspace} ...")
    stock, ours, labs = build(workspace, args.learners, args.lab)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    print(f"{args.learners} submissions over {len(labs)} labs; {os.cpu_count()} CPUs; "
          f"load average before: {os.getloadavg()[0]:.1f}")

    print("stock nbgrader autograde (one CLI per lab) ...")
    stock_time, stock_peak = 0.0, 0
    for lab in labs:
        seconds, peak, _ = run_measured([sys.executable, "-m", "nbgrader", "autograde", lab.id], stock, env)
        stock_time += seconds
        stock_peak = max(stock_peak, peak)
    print(f"autograder grade --workers {args.workers} ...")
    ours_time, ours_peak, _ = run_measured(
        [sys.executable, "-m", "autograder", "grade", *[lab.id for lab in labs], "--workers", str(args.workers),
         "--no-progress"], ours, env)

    stock_scores, our_scores = scores(stock), scores(ours)
    keys = set(stock_scores) | set(our_scores)
    agree = sum(stock_scores.get(k) == our_scores.get(k) for k in keys)
    differ = sorted(k for k in keys if stock_scores.get(k) != our_scores.get(k))
    outcomes = load_outcomes(ours)
    own = sum(o.execution_seconds for o in outcomes)
    limit = own / args.workers
    print()
    print(f"{'submissions':<34}{args.learners}")
    print(f"{'stock nbgrader wall time':<34}{stock_time:8.1f} s")
    print(f"{'autograder wall time':<34}{ours_time:8.1f} s   ({args.workers} workers)")
    print(f"{'speed-up (stock / autograder)':<34}{stock_time / ours_time:8.2f} x")
    print(f"{'scores agreeing (per graded cell)':<34}{agree}/{len(keys)}")
    for key in differ[:10]:
        print(f"    differs: {key}: stock {stock_scores.get(key)} vs autograder {our_scores.get(key)}")
    print(f"{'peak memory, stock':<34}{stock_peak / 2**20:8.0f} MiB")
    print(f"{'peak memory, autograder':<34}{ours_peak / 2**20:8.0f} MiB")
    print(f"{'notebooks own execution, summed':<34}{own:8.1f} s   (autograder's own measure)")
    stock_own, ours_own = own_execution(stock), own_execution(ours)
    print(f"{'  same, from cell timing: stock':<34}{stock_own:8.1f} s")
    print(f"{'  same, from cell timing: autograder':<34}{ours_own:8.1f} s")
    if stock_own:
        print(f"{'  slow-down of learners code':<34}{ours_own / stock_own:8.2f} x   (parallel kernels and other load; "
              "1.0 on an idle machine with one kernel per core)")
    print(f"{'compute limit (sum / workers)':<34}{limit:8.1f} s")
    print(f"{'autograder vs compute limit':<34}{100 * (ours_time / limit - 1):+8.1f} %")
    print(f"{'load average after':<34}{os.getloadavg()[0]:8.1f}")
    print(f"course folders: {stock} and {ours}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
