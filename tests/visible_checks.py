"""What the VISIBLE checks of a lab tell a learner, before any grading: "not yet" or "passes".

Read this first if you are retrofitting a lab (issue 9, item 1). The QA harness grades the answer
bank with real nbgrader, hidden tests included; that says whether the *grade* is fair. This says
whether a self-paced learner hears about a mistake *before* submitting: it runs the release notebook
(visible checks only) with each sample answer filled in, and reads each exercise's test cells.

    .venv/bin/python tests/visible_checks.py 04-checking-results          # one lab
    .venv/bin/python tests/visible_checks.py 01-data-matters 02-preparing-data
    .venv/bin/python tests/visible_checks.py                              # every ready lab

For each lab it prints one row per (exercise, sample answer): the answer bank's "why", the verdict
("not yet" when any of the exercise's test cells ends in an error output, else "passes") and the first
line the learner sees; then the lab's figures: wrong answers told "not yet" k/n (goal >= 80 %),
correct answers rejected visibly (must be 0), and the longest error message on the BLANK release in
lines (goal <= 2), with its cell. The exit status is 1 when a lab misses one of those goals.

How: the sample submissions are the harness's own (``autograder.demo.samples.lab_variants``: solution,
alternative-N, wrong-N, and the blank release), built from ``release/<lab>/`` as committed (run
``autograder release <lab>`` after editing its source). Each runs in a fresh kernel with nbclient,
``allow_errors=True``, 300 s per cell, in the release folder, at most two notebooks at a time (the CI
machine has two cores), nothing cached between runs. tests/test_visible_checks.py asserts the goals.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `autograder` importable from the checkout
    sys.path.insert(0, str(ROOT))

from autograder.curriculum import Curriculum, Lab, load_curriculum  # noqa: E402
from autograder.grading.execute import announce_hidden_tests  # noqa: E402
from autograder.nbcells import HIDDEN_BEGIN, nbgrader_meta  # noqa: E402
from autograder.demo.samples import Variant, exercises, lab_variants  # noqa: E402

CURRICULUM: Curriculum = load_curriculum(ROOT)
CELL_TIMEOUT = 300
WORKERS = 2
WRONG_TOLD_GOAL = 0.8     # share of wrong answers the visible checks must tell "not yet"
BLANK_LINES_GOAL = 2      # the longest error a learner may see on the untouched release, in lines
NOT_YET, PASSES, RUN_FAILED = "not yet", "passes", "run failed"
CHECKED: dict = {}  # lab id -> LabVisible or the error: what this pytest session ran, for its summary


# --------------------------------------------------------------------------- executing notebooks

@dataclass
class CellOutcome:
    """What one executed cell showed: its error outputs (as lines) and whether it wrote to stderr."""

    index: int
    grade_id: str | None
    errors: list[list[str]] = field(default_factory=list)  # one list of display lines per error output
    stderr: bool = False
    meant_to_fail: bool = False  # tagged `raises-exception`: the error is the lesson (a traceback to read)


@dataclass
class Execution:
    """One notebook run: what every cell showed, or why the run itself failed (timeout, dead kernel)."""

    cells: list[CellOutcome]
    seconds: float
    failure: str | None = None


def traceback_lines(output) -> list[str]:
    """The lines an error output shows (each traceback entry may hold several lines; colours removed)."""
    text = "\n".join(output.get("traceback", [])) or f"{output.get('ename')}: {output.get('evalue')}"
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).rstrip("\n")
    return text.splitlines() or [""]


def _outcomes(notebook) -> list[CellOutcome]:
    outcomes = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        outcome = CellOutcome(index, nbgrader_meta(cell).get("grade_id"),
                              meant_to_fail="raises-exception" in cell.get("metadata", {}).get("tags", []))
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                outcome.errors.append(traceback_lines(output))
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                outcome.stderr = True
        outcomes.append(outcome)
    return outcomes


def execute(notebook_json: str, cwd: str) -> Execution:
    """Run one notebook in a fresh kernel (in a worker process, so runs do not share a loop or a cwd)."""
    from nbclient import NotebookClient

    notebook = nbformat.reads(notebook_json, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": cwd}})
    failure = None
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines, not the notebook's
    except Exception as error:  # a timeout or a dead kernel: report it, keep what ran
        failure = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
    return Execution(_outcomes(notebook), time.perf_counter() - started, failure)


def pool(workers: int = WORKERS) -> ProcessPoolExecutor:
    """At most ``workers`` notebooks at a time; spawned processes share nothing with the caller."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


# --------------------------------------------------------------------------- verdicts

@dataclass
class Row:
    """The visible verdict on one exercise of one sample answer."""

    exercise: str
    variant: str
    kind: str          # "solution", "alternative" or "wrong"
    why: str
    verdict: str       # NOT_YET, PASSES or RUN_FAILED
    message: str = ""  # the last line of the first error the learner sees (a one-line message is all of it)
    stderr: bool = False

    @property
    def correct_answer(self) -> bool:
        return self.kind in ("solution", "alternative")


@dataclass
class LabVisible:
    """A lab's visible-check figures: the verdict rows and the blank release's longest message."""

    lab: Lab
    rows: list[Row]
    blank_errors: list[tuple[str, int, str]]  # (cell, lines, first line) per error output of the blank release
    seconds: float
    run_seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def wrong(self) -> list[Row]:
        return [row for row in self.rows if row.kind == "wrong"]

    @property
    def wrong_told(self) -> list[Row]:
        return [row for row in self.wrong if row.verdict == NOT_YET]

    @property
    def rejected(self) -> list[Row]:
        return [row for row in self.rows if row.correct_answer and row.verdict != PASSES]

    @property
    def wrong_share(self) -> float:
        return len(self.wrong_told) / len(self.wrong) if self.wrong else 1.0

    @property
    def longest_blank(self) -> tuple[str, int, str]:
        return max(self.blank_errors, key=lambda error: error[1], default=("-", 0, ""))

    @property
    def too_long(self) -> list[tuple[str, int, str]]:
        return [error for error in self.blank_errors if error[1] > BLANK_LINES_GOAL]

    @property
    def meets_goals(self) -> bool:
        return (self.wrong_share >= WRONG_TOLD_GOAL and not self.rejected and not self.too_long
                and not self.failures)


def _kind(variant: Variant) -> str:
    return variant.name.rsplit("-", 1)[0] if "-" in variant.name else variant.name


def _cell_label(outcome: CellOutcome) -> str:
    return f"cell {outcome.index}" + (f" ({outcome.grade_id})" if outcome.grade_id else "")


def verdict_rows(variant: Variant, run: Execution, tests_of: dict[str, list[str]]) -> list[Row]:
    """One row per exercise the variant judges: "not yet" if any of its test cells showed an error."""
    by_id = {outcome.grade_id: outcome for outcome in run.cells if outcome.grade_id}
    rows = []
    for answer_id in variant.expect:
        tests = [by_id.get(test_id) for test_id in tests_of.get(answer_id, [])]
        errors = [lines for test in tests if test for lines in test.errors]
        if errors:
            verdict = NOT_YET
        elif run.failure or any(test is None for test in tests):
            verdict = RUN_FAILED
        else:
            verdict = PASSES
        why = variant.why.get(answer_id) or ("the instructor's answer" if variant.name == "solution" else "")
        rows.append(Row(answer_id, variant.name, _kind(variant), why, verdict,
                        message=errors[0][-1] if errors else (run.failure or ""),
                        stderr=any(test.stderr for test in tests if test)))
    return rows


def blank_errors(run: Execution, answer_ids=()) -> list[tuple[str, int, str]]:
    """Every error output of the executed blank release: its cell, its length in lines, its last line.

    An answer cell's error is nbgrader's own stub (``raise NotImplementedError()`` at top level, as
    in a multiple-choice answer): the label says so, since the fix is in how that cell is written.
    A cell tagged ``raises-exception`` (the tag nbclient and nbval honour) is left out: its error
    is what the lab asks the learner to read, not a check's message.
    """
    def label(outcome):
        stub = " — nbgrader's stub in an answer cell" if outcome.grade_id in answer_ids else ""
        return _cell_label(outcome) + stub

    return [(label(outcome), len(lines), lines[-1]) for outcome in run.cells if not outcome.meant_to_fail
            for lines in outcome.errors]


# --------------------------------------------------------------------------- from the grading harness

# The harness grades each sample submission with stock nbgrader, hidden tests included. Its copy of
# a lab's source prints this line as each test cell's hidden tests start, so the outputs before it
# are exactly what the visible checks alone show (the release is unchanged: nbgrader strips the
# hidden region from it). One execution per submission then serves both the grade and this measure.
HIDDEN_START = "visible-checks: the hidden tests start here"


def mark_hidden_tests(notebook):
    """The source notebook with a print of :data:`HIDDEN_START` as each hidden-test region starts."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            cell.source = announce_hidden_tests(cell.source, HIDDEN_START)
    return notebook


def visible_part(executed) -> Execution:
    """What a graded notebook's cells showed before their hidden tests started."""
    for cell in executed.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and HIDDEN_START in output.get("text", ""):
                before = output["text"].split(HIDDEN_START)[0]
                if before.strip():
                    output["text"] = before
                    kept.append(output)
                break
            kept.append(output)
        cell["outputs"] = kept
    return Execution(_outcomes(executed), 0.0)


def judge_graded(lab: Lab, tests_of: dict[str, list[str]], variants: list[Variant], graded: Path) -> LabVisible:
    """The visible-check figures of ``lab`` from the harness's autograded notebooks under ``graded``
    (``autograded/<variant>/<lab>/``); a submission nbgrader could not run counts as a failed run."""
    runs = {}
    for variant in variants:
        path = graded / variant.name / lab.id / lab.notebook
        runs[variant.name] = (visible_part(nbformat.read(path, as_version=4)) if path.exists()
                              else Execution([], 0.0, "nbgrader could not run this submission"))
    rows = [row for variant in variants if variant.name != "blank"
            for row in verdict_rows(variant, runs[variant.name], tests_of)]
    return LabVisible(lab, rows, blank_errors(runs["blank"], tests_of) if "blank" in runs else [], seconds=0.0,
                      failures={name: run.failure for name, run in runs.items() if run.failure})


def check_labs(labs: list[Lab], curriculum: Curriculum = CURRICULUM, workers: int = WORKERS,
               release_dirs: dict[str, Path] | None = None,
               variants: dict[str, list[Variant]] | None = None) -> dict[str, LabVisible | Exception]:
    """Execute every sample submission of ``labs`` (``workers`` at a time) and judge their visible checks.

    ``release_dirs`` and ``variants`` let a caller that already built the releases and the sample
    submissions (the harness) pass them in; by default they come from ``release/`` in the checkout.
    """
    prepared, results = {}, {}
    for lab in labs:
        try:
            folder = (release_dirs or {}).get(lab.id) or curriculum.release_notebook(lab).parent
            release = nbformat.read(folder / lab.notebook, as_version=4)
            lab_variants_ = (variants or {}).get(lab.id) or lab_variants(curriculum, lab, release_notebook=release)
            prepared[lab.id] = (lab, folder, exercises(release), lab_variants_)
        except Exception as error:
            results[lab.id] = error
    started = {lab_id: time.perf_counter() for lab_id in prepared}
    with pool(workers) as executor:
        futures = {
            (lab_id, variant.name): executor.submit(execute, nbformat.writes(variant.notebook), str(folder))
            for lab_id, (lab, folder, _, lab_variants_) in prepared.items() for variant in lab_variants_
        }
        for lab_id, (lab, folder, tests_of, lab_variants_) in prepared.items():
            try:
                runs = {variant.name: futures[lab_id, variant.name].result() for variant in lab_variants_}
            except Exception as error:  # a worker process died
                results[lab_id] = error
                continue
            rows = [row for variant in lab_variants_ if variant.name != "blank"
                    for row in verdict_rows(variant, runs[variant.name], tests_of)]
            results[lab_id] = LabVisible(
                lab, rows, blank_errors(runs["blank"], tests_of) if "blank" in runs else [],
                seconds=time.perf_counter() - started[lab_id],
                run_seconds={name: run.seconds for name, run in runs.items()},
                failures={name: run.failure for name, run in runs.items() if run.failure},
            )
    return {lab.id: results[lab.id] for lab in labs if lab.id in results}


# --------------------------------------------------------------------------- report

def summary_line(result: LabVisible) -> str:
    cell, lines, _ = result.longest_blank
    told, wrong = len(result.wrong_told), len(result.wrong)
    return (f"wrong answers told \"not yet\": {told}/{wrong} ({100 * result.wrong_share:.0f} %, goal "
            f">= {100 * WRONG_TOLD_GOAL:.0f} %); correct answers rejected visibly: {len(result.rejected)} "
            f"(must be 0); longest message on the blank release: {lines} lines, {cell} (goal <= "
            f"{BLANK_LINES_GOAL})")


def report(result: LabVisible | Exception, lab_id: str, write=print) -> None:
    """Print a lab's verdict table and figures (also used by the pytest terminal summary)."""
    if isinstance(result, Exception):
        write(f"{lab_id}: could not be checked ({type(result).__name__}: {result})")
        return
    write(f"{lab_id}  (ran {len(result.run_seconds)} notebooks in {result.seconds:.0f} s, "
          f"{WORKERS} at a time; slowest {max(result.run_seconds.values(), default=0):.0f} s)")
    write(f"  {'exercise':<36} {'variant':<14} {'verdict':<10} why  ->  what the learner sees")
    for row in result.rows:
        bad = (row.kind == "wrong" and row.verdict != NOT_YET) or (row.correct_answer and row.verdict != PASSES)
        flag = " !" if bad else ""
        seen = f"  ->  {row.message}" if row.message else ""
        noise = " [wrote to stderr]" if row.stderr else ""
        write(f"  {row.exercise:<36} {row.variant:<14} {row.verdict + flag:<10} {row.why}{seen}{noise}")
    for name, failure in result.failures.items():
        write(f"  run of {name} failed: {failure}")
    for cell, lines, last in result.too_long:
        write(f"  blank release, {cell}: {lines} lines, ending \"{last[:120]}\"")
    write(f"  {summary_line(result)}")


def main(argv: list[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__)
        return 0
    labs = [CURRICULUM.lab(lab_id) for lab_id in argv] if argv else list(CURRICULUM.ready_labs)
    started = time.perf_counter()
    results = check_labs(labs)
    for lab in labs:
        report(results[lab.id], lab.id)
        print()
    print(f"{len(labs)} lab(s) in {time.perf_counter() - started:.0f} s wall time.")
    return 0 if all(isinstance(r, LabVisible) and r.meets_goals for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
