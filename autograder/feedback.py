"""Step 4, feedback: one HTML page per learner and lab, without hidden tests or solutions.

nbgrader's ``generate_feedback`` renders the autograded notebook, and that notebook holds the
hidden tests (grading restores them from the gradebook), so its feedback shows them (nbgrader
#917, #1363), and IPython tracebacks quote the failing line. This page is built from scratch and
shows only: the score, each check's points and pass/fail, what a check printed, and the *message*
of a failed visible check (``AssertionError: Keep the income column...``). It never contains a
cell's source, a traceback, or the message of a failed hidden check; a hidden failure is reported
as "a hidden check failed" and nothing more.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbgrader import utils

from autograder.curriculum import Curriculum, load_curriculum
from autograder.course import load_nbgrader_config
from autograder.nbcells import HIDDEN_BEGIN, HIDDEN_END, hidden_test_delimiters
from autograder.results import NOT_SUBMITTED, load_cohort

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
MAX_TEXT = 2000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }}
.passed {{ color: #196c2e; }} .failed {{ color: #b3261e; }} .pending {{ color: #8a6d00; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .4rem; margin: .2rem 0; }}
.note {{ background: #fff6d6; padding: .6rem; }}
</style></head><body>
<h1>{lab_title}</h1>
<p><strong>{learner}</strong> &middot; lab <code>{lab_id}</code></p>
<p style="font-size:1.4rem">Score: <strong>{score}</strong> / {max_score}</p>
{notes}
<table><thead><tr><th>Check</th><th>Points</th><th>Result</th><th>Messages</th></tr></thead><tbody>
{rows}
</tbody></table>
<p><small>Hidden checks test your answer on cases you have not seen; their code is not shown.</small></p>
</body></html>
"""


NBGRADER_DEFAULTS = (HIDDEN_BEGIN, HIDDEN_END)


def hidden_line_range(source: str, delimiters: tuple[str, str] = NBGRADER_DEFAULTS) -> list[tuple[int, int]]:
    """1-based line ranges of the cell that lie between hidden-test ``delimiters`` (nbgrader's, as configured)."""
    ranges, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if delimiters[0] in line:
            start = number
        elif delimiters[1] in line and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:
        ranges.append((start, len(source.splitlines())))
    return ranges


def failed_in_hidden(cell, error, delimiters: tuple[str, str] = NBGRADER_DEFAULTS) -> bool:
    """Whether the cell's error was raised by a line of its hidden tests (then its message is not shown)."""
    ranges = hidden_line_range(cell.source, delimiters)
    if not ranges:
        return False
    text = ANSI.sub("", "\n".join(error.get("traceback", [])))
    for count, line in CELL_LINE.findall(text):
        if cell.get("execution_count") is not None and int(count) == cell.execution_count:
            return any(lo <= int(line) <= hi for lo, hi in ranges)
    return True  # cannot tell where it failed: say nothing that might come from hidden code


def visible_messages(cell, delimiters: tuple[str, str] = NBGRADER_DEFAULTS) -> tuple[list[str], bool]:
    """What the learner may see of a test cell's outputs, and whether a hidden check failed."""
    markers = cell.get("metadata", {}).get("autograder", {}).get("hidden_markers")
    if markers:
        return _messages_around_hidden(cell, *markers)
    messages, hidden_failed = [], False
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            messages.append(output.text[:MAX_TEXT])
        elif output.output_type == "error":
            if failed_in_hidden(cell, output, delimiters):
                hidden_failed = True
            else:
                messages.append(f"{output.ename}: {ANSI.sub('', str(output.evalue))}"[:MAX_TEXT])
    return messages, hidden_failed


def _messages_around_hidden(cell, begin: str, end: str) -> tuple[list[str], bool]:
    """The outputs of a graded run, cut where the grader's markers say the hidden tests ran
    (execute.MarkHiddenTests): nothing printed or raised between them is shown."""
    messages, hidden, hidden_failed = [], False, False
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            shown = []
            for piece in re.split(f"({re.escape(begin)}|{re.escape(end)})\n?", output.text):
                if piece == begin:
                    hidden = True
                elif piece == end:
                    hidden = False
                elif not hidden:
                    shown.append(piece)
            if "".join(shown).strip():
                messages.append("".join(shown)[:MAX_TEXT])
        elif output.output_type == "error":
            if hidden:
                hidden_failed = True
            else:
                messages.append(f"{output.ename}: {ANSI.sub('', str(output.evalue))}"[:MAX_TEXT])
    return messages, hidden_failed


def check_rows(notebook, delimiters: tuple[str, str] = NBGRADER_DEFAULTS) -> list[str]:
    rows = []
    for cell in notebook.cells:
        if not utils.is_grade(cell):
            continue
        meta = cell.metadata.nbgrader
        earned, possible = utils.determine_grade(cell)
        if utils.is_solution(cell) or cell.cell_type != "code":
            result, css, messages = "marked by your instructor", "pending", []
            hidden = False
        else:
            messages, hidden = visible_messages(cell, delimiters)
            passed = earned is not None and earned >= possible
            result, css = ("passed", "passed") if passed else ("failed", "failed")
            if hidden:
                messages.append("A hidden check failed: your answer does not yet work on every case. "
                                "Re-read the exercise and test your answer on other inputs.")
        shown = "".join(f"<pre>{html.escape(m)}</pre>" for m in messages)
        points = f"{earned:g} / {possible:g}" if earned is not None else f"? / {possible:g}"
        rows.append(f'<tr><td><code>{html.escape(meta["grade_id"])}</code></td><td>{points}</td>'
                    f'<td class="{css}">{result}</td><td>{shown}</td></tr>')
    return rows


def write_feedback(curriculum: Curriculum, learner_ids: list[str] | None = None,
                   lab_ids: list[str] | None = None) -> list[Path]:
    """One page per graded (or failed) submission: feedback/<learner>/<lab>/<notebook>.html."""
    root = Path(curriculum.root)
    cohort = load_cohort(curriculum)
    delimiters = hidden_test_delimiters(load_nbgrader_config(root))
    written = []
    for lab in cohort.released:
        if lab_ids and lab.id not in lab_ids:
            continue
        for learner in cohort.learners:
            if learner_ids and learner.id not in learner_ids:
                continue
            result = cohort.result(learner.id, lab.id)
            if result.status == NOT_SUBMITTED:
                continue
            autograded = root / "autograded" / learner.id / lab.id / lab.notebook
            notes = []
            if result.late:
                notes.append(f"Submitted late ({result.seconds_late / 3600:.1f} h after the due date).")
            if result.needs_review:
                notes.append(f"Your submission needs a review by your instructor ({result.status}): {result.reason}")
            if result.manual_pending:
                notes.append("Some answers are marked by your instructor; the score may still go up.")
            rows = check_rows(nbformat.read(autograded, as_version=4), delimiters) if autograded.exists() else []
            page = PAGE.format(
                title=html.escape(f"{lab.title} - {learner.name or learner.id}"),
                lab_title=html.escape(lab.title), learner=html.escape(learner.name or learner.id),
                lab_id=html.escape(lab.id),
                score="&ndash;" if result.score is None else f"{result.score:g}", max_score=f"{result.max_score:g}",
                notes="".join(f'<p class="note">{html.escape(n)}</p>' for n in notes),
                rows="\n".join(rows) or '<tr><td colspan="4">No checks could be run.</td></tr>',
            )
            target = root / "feedback" / learner.id / lab.id / f"{Path(lab.notebook).stem}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
            written.append(target)
    return written


def add_command(subparsers) -> None:
    parser = subparsers.add_parser("feedback", help="one HTML page per learner and lab (no hidden tests)")
    parser.add_argument("labs", nargs="*", help="lab ids (default: every released lab)")
    parser.add_argument("--student", action="append", default=None, help="only this learner (repeatable)")
    parser.set_defaults(run=run)


def run(args) -> int:
    curriculum = load_curriculum(args.course)
    written = write_feedback(curriculum, args.student, args.labs or None)
    print(f"{len(written)} feedback pages in {curriculum.root / 'feedback'}")
    return 0
