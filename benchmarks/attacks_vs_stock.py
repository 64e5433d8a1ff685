"""The attack corpus (tests/attacks) against stock `nbgrader autograde` and against `autograder grade`.

Builds two identical throwaway courses with lab 01 and the same hostile and honest submissions,
grades one with stock nbgrader 0.9.6 (one `nbgrader autograde` batch, as an instructor would run
it) and the other with this pipeline (sandboxed, with tamper detection), then prints per attack:
points gained over the honest answers underneath, whether it was flagged for review, whether the
submission crashed (no grades), and whether it changed anything it must not (other learners'
grades, the stored tests). Attacks that would harm this machine without a sandbox (memory, fork
and disk bombs, 2 GB of output) or stall stock's batch forever are not run against stock and are
shown as "not run".

Run: .venv/bin/python benchmarks/attacks_vs_stock.py [--workspace DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import attacks as corpus  # noqa: E402
from autograder.curriculum import load_curriculum  # noqa: E402
from autograder.grading.outcomes import load_outcomes  # noqa: E402

CELL_TIMEOUT = 8
NOTEBOOK_BUDGET = 60
STALLS_STOCK = {"ignore-interrupt-loop"}


def environment() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def grade_stock(course: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", corpus.LAB,
                    f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", f"--Execute.timeout={CELL_TIMEOUT}"],
                   cwd=course, env=environment(), capture_output=True, text=True, timeout=3600)
    return time.monotonic() - started


def grade_ours(course: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "grade", corpus.LAB,
                    "--workers", "2", "--no-progress", "--cell-timeout", str(CELL_TIMEOUT),
                    "--notebook-budget", str(NOTEBOOK_BUDGET)],
                   env=environment(), capture_output=True, text=True, timeout=3600)
    return time.monotonic() - started


def leaked(course: Path, student: str) -> bool:
    """Whether an attack printed the marker, i.e. it read or reached something. Only outputs count:
    the marker also stands in the attack's own source code."""
    path = course / "autograded" / student / corpus.LAB / corpus.NOTEBOOK
    if not path.exists():
        return False
    notebook = nbformat.read(path, as_version=4)
    return any(corpus.LEAK in output.get("text", "") for cell in notebook.cells
               for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def verdicts(course: Path, bases: dict[str, str], ours: bool, tests_before, probe_scores) -> dict[str, dict]:
    scores = corpus.auto_scores(course / "gradebook.db")
    outcomes = {o.student: o for o in load_outcomes(course)} if ours else {}
    honest = {base: corpus.autograded_points(scores.get(f"ctrl-{'wrong-1' if base == 'wrong' else base}", {}))
              for base in ("blank", "solution", "wrong")}
    tests_intact = corpus.stored_tests(course / "gradebook.db") == tests_before
    others_intact = scores.get("ctrl-solution") == probe_scores
    found = {}
    for student, base in bases.items():
        if not student.startswith("atk-"):
            continue
        mine = scores.get(student)
        graded = bool(mine) and any(v is not None for v in mine.values())
        gained = corpus.autograded_points(mine or {}) - honest[base] if graded else 0.0
        outcome = outcomes.get(student)
        flagged = bool(outcome and outcome.needs_review) if ours else (not graded)
        found[student[4:]] = {"gained": max(gained, 0.0), "flagged": flagged, "crashed": not graded,
                              "leaked": leaked(course, student)}
    return found, tests_intact, others_intact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="attack names to run (default: all)")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="attacks-vs-stock-"))
    chosen = {k: v for k, v in corpus.ATTACKS.items() if not args.only or k in args.only}
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    results, timing = {}, {}
    for name, ours in (("stock", False), ("ours", True)):
        course = corpus.make_course(workspace / name)
        curriculum = load_curriculum(course)
        run_attacks = chosen if ours else {k: v for k, v in chosen.items()
                                           if not v.unsafe_without_sandbox and k not in STALLS_STOCK}
        bases = corpus.build_cohort(course, curriculum, corpus.attack_context(course, server.getsockname()[1]),
                                    attacks=run_attacks)
        tests_before = corpus.stored_tests(course / "gradebook.db")
        # The honest learner graded first, as in the test suite, to see whether attackers change their grades.
        solution_only = course / "submitted"
        hidden = {p: p.with_name("." + p.name) for p in solution_only.iterdir() if p.name != "ctrl-solution"}
        for src, dst in hidden.items():
            src.rename(dst)
        (grade_ours if ours else grade_stock)(course)
        probe_scores = corpus.auto_scores(course / "gradebook.db").get("ctrl-solution")
        for src, dst in hidden.items():
            dst.rename(src)
        timing[name] = (grade_ours if ours else grade_stock)(course)
        results[name] = verdicts(course, bases, ours, tests_before, probe_scores)
        print(f"{name}: graded in {timing[name]:.0f} s ({course})", flush=True)
    connections = 0
    while True:
        try:
            server.accept()
            connections += 1
        except OSError:
            break
    print()
    print(f"{'attack':28} {'category':10} | {'stock: gained flagged crashed leaked':38} | ours: gained flagged crashed leaked")
    totals = {"stock": [0, 0, 0, 0, 0], "ours": [0, 0, 0, 0, 0]}
    for attack_name, attack in chosen.items():
        cells = []
        for name in ("stock", "ours"):
            verdict = results[name][0].get(attack_name)
            if verdict is None:
                cells.append(f"{'not run':38}")
                continue
            totals[name][0] += 1
            totals[name][1] += verdict["gained"] > 0
            totals[name][2] += verdict["flagged"]
            totals[name][3] += verdict["crashed"]
            totals[name][4] += verdict["leaked"]
            cells.append(f"{verdict['gained']:>6g} {'yes' if verdict['flagged'] else 'no':>7} "
                         f"{'yes' if verdict['crashed'] else 'no':>7} {'yes' if verdict['leaked'] else 'no':>6}          ")
        print(f"{attack_name:28} {attack.category:10} | {cells[0]:38} | {cells[1]}")
    print()
    for name in ("stock", "ours"):
        run, gained, flagged, crashed, leak = totals[name]
        _, tests_intact, others_intact = results[name]
        print(f"{name}: {run} attacks run, {gained} gained points, {flagged} flagged/ungraded, {crashed} without "
              f"grades, {leak} read or reached something; stored tests intact: {tests_intact}; earlier learner's "
              f"grades intact: {others_intact}; wall time {timing[name]:.0f} s")
    print(f"TCP connections that reached this machine's listener (both runs): {connections}")
    print("(stock flags nothing: its only signal is a submission left without grades, counted as flagged here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
