"""Benchmark: stock `nbgrader autograde` against `autograder grade` (local pool, and `--cluster local`), like for like.

Builds one cohort (default 40 submissions of labs 01-05: solution, alternative, wrong, partial,
blank, late and deleted-cell variants; no corrupt files, which stock nbgrader cannot grade), then
runs ``--rounds`` rounds. Each round grades a fresh copy of the same cohort with every grader, in
an order that rotates from round to round (round 1 stock first, round 2 the local pool first, ...),
after one warm-up run of each grader on a small cohort (one solution per lab) so that the disk
caches are warmed the same way for all. Every grader gets:

- the same per-cell timeout: stock through its nbgrader config (``c.Execute.timeout`` and
  ``c.ExecutePreprocessor.timeout``, appended to the course's ``nbgrader_config.py``), ours through
  ``--cell-timeout`` (and a notebook budget it never reaches, so no solution is timed first);
- the same math-thread caps (OMP/OPENBLAS/MKL/NUMEXPR_NUM_THREADS = cores / workers, set in the
  environment of every run; ``autograder.grading.execute.kernel_environment`` sets its kernels to the
  same value).

The fair compute limit is stock's own per-notebook execution time (stock runs one notebook at a
time, uncontended; first cell start to last cell reply, from nbclient's timing metadata in its
autograded notebooks), summed, divided by the workers: what an N-worker grader would take if it
added nothing and parallel kernels did not slow each other. Printed, as medians over the rounds:
wall time, speed-up over stock, overhead over the fair limit, peak memory (grader and all its
children) and of the heaviest worker (a process running kernels, with them), throughput, and
whether the scores equal stock's cell by cell. How busy the cores were in the second before and
after every run is printed; a run that starts above 10 % busy is flagged, and its figures are not
those of a quiet machine.

Figures for the issue (quiet machine, 2 cores):
    .venv/bin/python benchmarks/grading.py --learners 40 --rounds 3 --workers 2
Dry run (proves it runs end to end; its figures mean nothing):
    .venv/bin/python benchmarks/grading.py --learners 6 --rounds 2 --lab 01-data-matters --lab 02-preparing-data
--no-cluster skips the `--cluster local` column.
It works in a temporary folder (or --workspace) and leaves the repository untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    Copies, Run, bench_env, cohort, execute, grade, gradebook_scores, load_line, median, own_execution,
    release_course, run_measured, write_submission,
)

DEFAULT_NOTEBOOK_BUDGET, default_workers = execute.DEFAULT_NOTEBOOK_BUDGET, grade.default_workers

DEFAULT_LABS = ["01-data-matters", "02-preparing-data", "03-how-models-learn", "04-checking-results", "05-monitoring"]
BENCH_VARIANTS = ["solution", "alternative-1", "wrong-1", "partial", "blank", "late", "deleted-test-cell", "wrong-2"]
STOCK, POOL, CLUSTER = "stock nbgrader", "autograder pool", "autograder --cluster local"
MiB = 2 ** 20


def build_cohort(course: Path, curriculum, labs, learners: int) -> None:
    """``learners`` submissions, one lab each, labs and variants taken in turn."""
    notebooks = {lab.id: cohort.lab_notebooks(curriculum, lab) for lab in labs}
    for i, learner in enumerate(cohort.make_learners(learners)):
        lab = labs[i % len(labs)]
        variant = BENCH_VARIANTS[(i // len(labs)) % len(BENCH_VARIANTS)]
        write_submission(course, learner.id, lab, notebooks[lab.id][variant], late=variant == "late")


def same_cell_timeout(course: Path, seconds: int) -> None:
    """Give stock nbgrader the per-cell timeout ours gets with --cell-timeout (its Execute reads either)."""
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write(f"\n# benchmark: the same per-cell timeout as `autograder grade --cell-timeout {seconds}`\n"
                     f"c.Execute.timeout = {seconds}\nc.ExecutePreprocessor.timeout = {seconds}\n")


def round_order(graders: list[str], round_index: int) -> list[str]:
    """The graders' order in round ``round_index`` (0-based): rotated by one each round, so that over
    as many rounds as graders each one runs first, second, ... once."""
    shift = round_index % len(graders)
    return graders[shift:] + graders[:shift]


def agreement(reference: dict, other: dict) -> tuple[int, int, list]:
    """(cells with equal scores, cells in either gradebook, the keys that differ)."""
    keys = set(reference) | set(other)
    differ = sorted(k for k in keys if reference.get(k) != other.get(k))
    return len(keys) - len(differ), len(keys), differ


def combine(runs: list[Run]) -> Run:
    """Several commands run one after another, as one run (stock: one `nbgrader autograde` per lab)."""
    return Run(sum(r.seconds for r in runs), max(r.peak for r in runs), max(r.peak_worker for r in runs),
               max(r.returncode for r in runs), runs[0].busy_before, runs[-1].busy_after,
               "\n".join(r.stderr for r in runs if r.returncode))


@dataclass
class Grader:
    """How to run one grader on a course folder."""

    name: str
    lab_ids: list[str]
    workers: int
    cell_timeout: int
    extra: list[str] = field(default_factory=list)

    def run(self, course: Path, env: dict) -> Run:
        if self.name == STOCK:
            return combine([run_measured([sys.executable, "-m", "nbgrader", "autograde", lab_id], course, env)
                            for lab_id in self.lab_ids])
        return run_measured([sys.executable, "-m", "autograder", "grade", *self.lab_ids, "--workers",
                             str(self.workers), "--cell-timeout", str(self.cell_timeout), "--notebook-budget",
                             str(max(self.cell_timeout, DEFAULT_NOTEBOOK_BUDGET)), "--no-progress", *self.extra],
                            course, env)


@dataclass
class Measured:
    """One grader's runs over the rounds."""

    runs: list[Run] = field(default_factory=list)
    own: list[float] = field(default_factory=list)          # notebooks' own execution time, summed
    agree: list[tuple[int, int, list]] = field(default_factory=list)


def measure_round(graders: list[Grader], order: list[str], copies: Copies, env: dict, index: int,
                  results: dict[str, Measured]) -> None:
    """Grade a fresh copy of the cohort with each grader in ``order``; compare scores with stock's."""
    courses = {}
    for name in order:
        grader = next(g for g in graders if g.name == name)
        course = copies.fresh(f"round{index + 1}-{name.split()[-1].strip('-')}")
        run = grader.run(course, env)
        print(load_line(f"round {index + 1}, {name}: {run.seconds:.1f} s", run))
        if run.returncode:
            print(f"    {name} exited {run.returncode}: {run.stderr[-800:]}", file=sys.stderr)
        results[name].runs.append(run)
        results[name].own.append(own_execution(course))
        courses[name] = course
    stock = gradebook_scores(courses[STOCK])
    for name, course in courses.items():
        results[name].agree.append(agreement(stock, gradebook_scores(course)))
        copies.discard(course)


def warm_up(graders: list[Grader], copies: Copies, env: dict) -> None:
    """One run of each grader on the small warm-up cohort, not counted: the same files cached for all."""
    for grader in graders:
        course = copies.fresh(f"warm-up-{grader.name.split()[-1].strip('-')}")
        run = grader.run(course, env)
        print(load_line(f"warm-up, {grader.name}: {run.seconds:.1f} s", run))
        copies.discard(course)


def report(results: dict[str, Measured], submissions: int, workers: int) -> None:
    """The table of medians over the rounds, one column per grader."""
    names = list(results)
    stock_wall = median(r.seconds for r in results[STOCK].runs)
    limit = median(results[STOCK].own) / workers
    rows = [("wall time, median (s)", lambda m: f"{median(r.seconds for r in m.runs):.1f}"),
            ("speed-up (stock / this)", lambda m: f"{stock_wall / median(r.seconds for r in m.runs):.2f}x"),
            ("over the fair limit", lambda m: f"{100 * (median(r.seconds for r in m.runs) / limit - 1):+.0f} %"),
            ("throughput (submissions/s)", lambda m: f"{submissions / median(r.seconds for r in m.runs):.3f}"),
            ("peak memory, all (MiB)", lambda m: f"{median(r.peak for r in m.runs) / MiB:.0f}"),
            ("peak memory, one worker (MiB)", lambda m: f"{median(r.peak_worker for r in m.runs) / MiB:.0f}"),
            ("notebooks' own time, summed (s)", lambda m: f"{median(m.own):.1f}"),
            ("  against stock's (parallel slow-down)", lambda m: f"{median(m.own) / median(results[STOCK].own):.2f}x"),
            ("scores equal to stock (worst round)",
             lambda m: "{}/{}".format(*min(m.agree, key=lambda a: a[0] - a[1])[:2])),
            ("runs that exited non-zero", lambda m: str(sum(1 for r in m.runs if r.returncode)))]
    print(f"\n{'':<38}" + "".join(f"{name:>28}" for name in names))
    for label, cell in rows:
        print(f"{label:<38}" + "".join(f"{cell(results[name]):>28}" for name in names))
    print(f"\nfair compute limit: stock's own notebook time {median(results[STOCK].own):.1f} s / {workers} workers "
          f"= {limit:.1f} s")
    if POOL in results and CLUSTER in results:
        pool, cluster = (median(r.seconds for r in results[n].runs) for n in (POOL, CLUSTER))
        print(f"cluster vs local pool: {100 * (cluster / pool - 1):+.1f} % wall time")
    for name in names:
        for _, _, differ in results[name].agree:
            for key in differ[:5]:
                print(f"  {name} differs from stock at {key}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=40, help="submissions (one lab each; default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each grader once per round (default 3)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--lab", action="append", default=None, help=f"only this lab (repeatable; default "
                        f"{', '.join(DEFAULT_LABS)})")
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell, for every grader")
    parser.add_argument("--no-cluster", action="store_true", help="do not run `autograder grade --cluster local`")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the uncounted warm-up runs")
    parser.add_argument("--workspace", type=Path, default=None, help="work here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep every graded course folder")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    print(f"building the cohort in {workspace} ...")
    master, curriculum, labs = release_course(workspace / "cohort", args.lab or DEFAULT_LABS)
    same_cell_timeout(master, args.cell_timeout)
    warm, _, _ = release_course(workspace / "warm-cohort", [lab.id for lab in labs])
    same_cell_timeout(warm, args.cell_timeout)
    build_cohort(master, curriculum, labs, args.learners)
    build_cohort(warm, curriculum, labs, len(labs))
    lab_ids = [lab.id for lab in labs]
    graders = [Grader(STOCK, lab_ids, 1, args.cell_timeout), Grader(POOL, lab_ids, args.workers, args.cell_timeout)]
    if args.no_cluster:
        print("--no-cluster: `autograder grade --cluster local` not measured")
    else:
        graders.append(Grader(CLUSTER, lab_ids, args.workers, args.cell_timeout, ["--cluster", "local"]))
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    env = bench_env(threads)
    print(f"{args.learners} submissions over {len(labs)} labs; {os.cpu_count()} CPUs; {args.workers} workers; "
          f"{args.cell_timeout} s per cell and {threads} math thread(s) per kernel for every grader")
    if not args.no_warm_up:
        warm_up(graders, Copies(warm), env)
    results = {g.name: Measured() for g in graders}
    copies = Copies(master, keep=args.keep)
    for index in range(args.rounds):
        measure_round(graders, round_order([g.name for g in graders], index), copies, env, index, results)
    report(results, args.learners, args.workers)
    print(f"workspace: {workspace}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
