"""A large synthetic cohort graded end to end on this machine: grade, then feedback, export and report.

Builds ``--learners`` submissions (default 1,000) of one lab, taking the lab's sample variants in
turn (``autograder.cohort.lab_notebooks``: the solution, the answer bank's alternative and wrong
answers, partial, blank, late, a deleted test cell, a cut-short upload), then runs, each as its own
process, as an instructor would: `autograder grade LAB` (time limits derived from the solution, as
by default), `autograder feedback LAB`, `autograder export` and `autograder report`. Prints each
command's wall time and peak memory (the command and all its children), the heaviest worker's
peak, the grading throughput, the outcome counts, and the sizes of the gradebook, outcomes.json
and the autograded notebooks.

The lab is the cheapest ready lab (``--lab auto``, the default): every ready lab's solution is run
once in a plain kernel (benchmarks/lab_runtimes.py) and the fastest is taken; pass --lab to skip that
(it takes minutes). On 2026-12-01 (2 cores, loaded) 00-jupyter-pandas was the cheapest of 16 ready
labs: 5.7 s, then 03-how-models-learn 11.5 s and 06-poor-inputs 13.0 s; 01-data-matters 21.0 s.

Figures for the issue (quiet machine; the lead's run):
    .venv/bin/python benchmarks/large_cohort.py --learners 1000 --workers 2 --lab 00-jupyter-pandas
Dry run (also measures which lab is cheapest):
    .venv/bin/python benchmarks/large_cohort.py --learners 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    bench_env, cohort, grade, load_curriculum, load_line, release_course, run_measured, write_submission,
)

default_workers = grade.default_workers

MiB = 2 ** 20


def cheapest_lab() -> str:
    """The ready lab whose solution runs fastest here (one run each, in a plain kernel)."""
    from bench_common import ROOT
    from lab_runtimes import measure

    curriculum = load_curriculum(ROOT)
    seconds = {lab.id: measure(curriculum.source_notebook(lab))[0] for lab in curriculum.ready_labs}
    for lab_id, value in sorted(seconds.items(), key=lambda item: item[1]):
        print(f"    {lab_id:<28}{value:6.1f} s")
    return min(seconds, key=seconds.get)


def build_cohort(course: Path, lab, learners: int) -> Counter:
    """``learners`` submissions of ``lab``, the sample variants in turn; returns how many of each."""
    variants = cohort.lab_notebooks(load_curriculum(course), lab)
    names = sorted(variants)
    made = Counter()
    for i, learner in enumerate(cohort.make_learners(learners)):
        variant = names[i % len(names)]
        write_submission(course, learner.id, lab, variants[variant], late=variant == "late")
        made[variant] += 1
    return made


def human(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB else f"{size / 1024:.0f} KiB"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--lab", default="auto", help="lab id, or auto: the cheapest ready lab, measured")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="large-cohort-"))
    lab_id = args.lab
    if lab_id == "auto":
        print("timing every ready lab's solution to find the cheapest ...")
        lab_id = cheapest_lab()
    course, _, labs = release_course(workspace / "course", [lab_id])
    made = build_cohort(course, labs[0], args.learners)
    print(f"{args.learners} submissions of {lab_id} in {course}: "
          + ", ".join(f"{n} {variant}" for variant, n in sorted(made.items())))
    env = bench_env(max(1, (os.cpu_count() or 1) // args.workers))
    cli = [sys.executable, "-m", "autograder"]
    steps = {"grade": [*cli, "grade", lab_id, "--workers", str(args.workers), "--no-progress"],
             "feedback": [*cli, "feedback", lab_id], "export": [*cli, "export"], "report": [*cli, "report"]}
    print(f"\n{'step':<10}{'wall s':>9}{'peak MiB':>10}{'worker MiB':>12}  exit")
    runs = {}
    for step, command in steps.items():
        run = runs[step] = run_measured(command, course, env)
        worker = f"{run.peak_worker / MiB:.0f}" if run.peak_worker else "-"
        print(f"{step:<10}{run.seconds:>9.1f}{run.peak / MiB:>10.0f}{worker:>12}  {run.returncode}")
        if run.returncode:
            print(f"    {step} exited {run.returncode}: {run.stderr[-600:]}", file=sys.stderr)
    for step, run in runs.items():
        print(load_line(step, run))
    outcomes = json.loads((course / "outcomes.json").read_text(encoding="utf-8"))["outcomes"]
    statuses = Counter(o["status"] for o in outcomes)
    print(f"\ngrading throughput: {args.learners / runs['grade'].seconds:.3f} submissions/s with {args.workers} "
          f"workers; outcomes: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    sizes = {"gradebook.db": (course / "gradebook.db").stat().st_size,
             "outcomes.json": (course / "outcomes.json").stat().st_size,
             **{f"{name}/": folder_size(course / name) for name in ("autograded", "feedback", "exports", "reports")}}
    print("sizes: " + ", ".join(f"{name} {human(size)}" for name, size in sizes.items()))
    print(f"course folder: {course}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
