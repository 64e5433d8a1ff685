"""`autograder report`: the cohort at a glance, in one self-contained HTML file.

``reports/cohort.html`` opens offline in any browser: styles are inline, figures are PNGs embedded as
data URIs, nothing is fetched. Sections, in the order an instructor asks the questions:

1. the headline numbers; 2. learners at risk; 3. submissions under review; 4. pass rates per track
and per lab; 5. score distributions per lab; 6. the exercises the cohort fails most (per graded
cell); 7. late and missing work; 8. certificates; 9. the per-learner progress table.

Figures are drawn with matplotlib's object API (no pyplot state), sized for a laptop screen.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from autograder.credentials.certify import Decision, decide, shorten, track_unavailable
from autograder.credentials.openbadge import percent
from autograder.curriculum import load_curriculum
from autograder.files import atomic_write_bytes
from autograder.credentials.ledger import find_revocation, load_ledger, load_revocations
from autograder.results import NOT_SUBMITTED, SHARE_NOTE, Cohort, load_cohort

REPORT_DIR = "reports"
REPORT_FILE = "cohort.html"
PASS_COLOUR, FAIL_COLOUR, MISSING_COLOUR, ACCENT = "#2e7d32", "#c62828", "#9e9e9e", "#1f4e79"


# --- Figures -----------------------------------------------------------------------------------

def _png(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _short(lab_id: str) -> str:
    return lab_id.split("-", 1)[0] + " " + lab_id.split("-", 1)[-1].replace("-", " ")


def figure_distributions(cohort: Cohort, labs: list[str]) -> str:
    figure = Figure(figsize=(10, 4.2))
    ax = figure.add_subplot()
    rng = np.random.default_rng(0)
    for position, lab_id in enumerate(labs, start=1):
        rows = cohort.work[(cohort.work["lab"] == lab_id) & cohort.work["submitted"]]
        shares = rows["share"].to_numpy() * 100
        if len(shares) >= 5:  # a box over fewer learners suggests a spread that is not there
            ax.boxplot([shares], positions=[position], widths=0.5, showfliers=False,
                       medianprops={"color": ACCENT, "linewidth": 2})
        if len(shares):
            colours = [PASS_COLOUR if passed else FAIL_COLOUR for passed in rows["passed"]]
            ax.scatter(position + rng.uniform(-0.15, 0.15, len(shares)), shares, s=28, c=colours,
                       alpha=0.8, zorder=3, edgecolors="white", linewidths=0.5)
        missing = int((~cohort.work[cohort.work["lab"] == lab_id]["submitted"]).sum())
        if missing:
            ax.annotate(f"{missing} not submitted", (position, 101), ha="center", fontsize=9, color=MISSING_COLOUR)
        mark = cohort.curriculum.lab(lab_id).pass_mark * 100
        ax.hlines(mark, position - 0.4, position + 0.4, colors=FAIL_COLOUR, linestyles="dashed", linewidth=1)
    ax.set_xticks(range(1, len(labs) + 1), [_short(lab) for lab in labs], fontsize=9)
    ax.set_ylim(-3, 106)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("share of the lab's points (%)")
    ax.set_title("Score distribution per lab (dots: learners; dashed: pass mark)")
    ax.grid(axis="y", alpha=0.3)
    return _png(figure, "Score distribution per lab")


def figure_pass_rates(rates: pd.DataFrame) -> str:
    figure = Figure(figsize=(10, 0.45 * len(rates) + 1.2))
    ax = figure.add_subplot()
    colours = [ACCENT if kind == "track" else "#7aa6c2" for kind in rates["kind"]]
    bars = ax.barh(rates["label"], rates["rate"] * 100, color=colours)
    for bar, text in zip(bars, rates["text"]):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("learners passing (%)")
    ax.set_title("Pass rate per track (dark) and per lab (light)")
    ax.grid(axis="x", alpha=0.3)
    return _png(figure, "Pass rates per track and per lab")


def figure_hardest(cells: pd.DataFrame) -> str:
    figure = Figure(figsize=(10, 0.42 * len(cells) + 1.2))
    ax = figure.add_subplot()
    lost = (1 - cells["mean_share"]) * 100
    ax.barh(cells["cell"], lost, color=FAIL_COLOUR, alpha=0.8)
    for y, (value, rate, n) in enumerate(zip(lost, cells["lost_rate"], cells["graded"])):
        ax.text(value + 1, y, f"{round(rate * n)} of {n} lost points", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 125)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("points lost on this test cell, cohort average (% of the cell's points)")
    ax.set_title("Exercises the cohort fails most (autograded test cells)")
    ax.grid(axis="x", alpha=0.3)
    return _png(figure, "Exercises the cohort fails most")


# --- Tables ------------------------------------------------------------------------------------

def _table(frame: pd.DataFrame, empty: str, raw_columns: tuple[str, ...] = ()) -> str:
    if frame.empty:
        return f'<p class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(
            f"<td>{value if column in raw_columns else html.escape(str(value))}</td>"
            for column, value in row.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h late" if hours < 48 else f"{hours / 24:.1f} days late"


def _rule(track) -> str:
    return f"≥ {percent(track.min_share_per_lab)} % on every lab"


def track_decisions(cohort: Cohort) -> dict[tuple[str, str], Decision]:
    """Each learner's decision on each track that can be earned now, keyed by (student, track id)."""
    return {(student, track.id): decide(cohort, track, student)
            for track in cohort.curriculum.tracks if not track_unavailable(cohort.curriculum, track)
            for student in cohort.students["student"]}


def tracks_section(cohort: Cohort, decisions: dict, graded_labs: list[str]) -> str:
    """Who meets each track's rule, and the pass rate per track and per lab."""
    curriculum, total = cohort.curriculum, len(cohort.students)
    track_rows, rate_rows = [], []
    for track in curriculum.tracks:
        if track_unavailable(curriculum, track):
            planned = [lab for lab in track.labs if not curriculum.lab(lab).ready]
            track_rows.append({"track": track.title, "required labs": ", ".join(track.labs), "rule": _rule(track),
                               "learners meeting it": "—",
                               "status": f"cannot be earned yet: {len(planned)} planned lab(s) ({', '.join(planned)})"})
            continue
        met = sum(decisions[(student, track.id)].met for student in cohort.students["student"])
        track_rows.append({"track": track.title, "required labs": ", ".join(track.labs),
                           "rule": _rule(track) + ("" if track.allow_under_review else ", none under review"),
                           "learners meeting it": f"{met} of {total}", "status": "open"})
        rate_rows.append({"label": f"Track: {track.title}", "rate": met / total if total else 0,
                          "text": f"{met}/{total}", "kind": "track"})
    for lab_id in graded_labs:
        rows = cohort.work[cohort.work["lab"] == lab_id]
        passed, count = int(rows["passed"].sum()), len(rows)
        rate_rows.append({"label": _short(lab_id), "rate": passed / count if count else 0,
                          "text": f"{passed}/{count}", "kind": "lab"})
    rates = pd.DataFrame(rate_rows)
    return (_table(pd.DataFrame(track_rows), "No tracks in curriculum.yml.")
            + (figure_pass_rates(rates) if not rates.empty else ""))


def _hardest_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Per graded cell (among cells that have a grade): how many lost points, the mean share, blanks."""
    cells = cells[~cells["needs_manual_grade"]].copy()
    cells["lost"] = cells["score"] < cells["max_score"] - 1e-9
    cells["blank"] = (cells["cell_type"] == "markdown") & cells["auto"] & (cells["score"] <= 0)
    return (cells.groupby(["lab", "cell", "cell_type"], as_index=False)
            .agg(lost_rate=("lost", "mean"), mean_share=("share", "mean"), graded=("lost", "size"),
                 blank=("blank", "sum"), max_score=("max_score", "first"))
            .sort_values(["mean_share", "lost_rate"], ascending=[True, False]))


def _losing(frame: pd.DataFrame) -> dict[str, list]:
    return {"points": frame["max_score"].map(lambda v: f"{round(v, 2):g}"),
            "learners losing points": [f"{round(r * n)} of {n}" for r, n in zip(frame["lost_rate"], frame["graded"])]}


def hardest_section(cohort: Cohort) -> str:
    """The autograded test cells, then the written answers, that the cohort loses most points on."""
    if cohort.cells[~cohort.cells["needs_manual_grade"]].empty:
        return '<p class="empty">No graded cells yet.</p>'
    hardest = _hardest_cells(cohort.cells)
    code = hardest[(hardest["cell_type"] == "code") & (hardest["lost_rate"] > 0)].head(10)
    written = hardest[(hardest["cell_type"] != "code") & (hardest["lost_rate"] > 0)].head(10)
    code_table = pd.DataFrame({"test cell": code["cell"], "lab": code["lab"], **_losing(code),
                               "mean score": code["mean_share"].map(lambda v: f"{v * 100:.0f} %")})
    written_table = pd.DataFrame({
        "written answer": written["cell"], "lab": written["lab"], **_losing(written),
        "left blank": [f"{int(b)} of {n}" for b, n in zip(written["blank"], written["graded"])],
        "mean score": written["mean_share"].map(lambda v: f"{v * 100:.0f} %"),
    })
    return ((figure_hardest(code) if not code.empty else "")
            + _table(code_table, "Every autograded test earned full points from every learner.")
            + "<h3>Written answers (manually graded)</h3>"
            + '<p class="note">nbgrader scores a written answer left unchanged from the release 0 without '
              "waiting for an instructor; those count as left blank.</p>"
            + _table(written_table, "No written answer lost points."))


def late_section(cohort: Cohort) -> str:
    """Late and missing work: one row per learner with any."""
    names, work, rows = dict(zip(cohort.students["student"], cohort.students["name"])), cohort.work, []
    for student in cohort.students["student"]:
        mine = work[work["student"] == student]
        overdue = mine[mine["overdue"]]["lab"].tolist()
        pending = mine[(mine["status"] == NOT_SUBMITTED) & ~mine["overdue"]]
        late = [f"{r.lab} ({_hours(r.seconds_late) if r.seconds_late > 0 else 'flagged late by grading'})"
                for r in mine[mine["submitted"] & mine["late"]].itertuples()]
        if overdue or late or len(pending):
            rows.append({
                "learner": names.get(student, student),
                "missing (past the due date)": ", ".join(overdue) or "—",
                "late": ", ".join(late) or "—",
                "not submitted yet (not due)": ", ".join(
                    f"{r.lab}" + (f" (due {r.duedate:%d %b})" if pd.notna(r.duedate) else "") for r in pending.itertuples()
                ) or "—",
            })
    return _table(pd.DataFrame(rows), "No late or missing work.")


def review_rows(cohort: Cohort) -> list[dict]:
    """Outcomes that need an instructor (the manual grading still to do is :func:`manual_rows`)."""
    names, work = dict(zip(cohort.students["student"], cohort.students["name"])), cohort.work
    return [{"learner": names.get(r.student, r.student), "lab": r.lab,
             "why": shorten(r.review_reason or "needs review", 220)}
            for r in work[work["needs_review"]].itertuples()]


def manual_rows(cohort: Cohort) -> list[dict]:
    names, work = dict(zip(cohort.students["student"], cohort.students["name"])), cohort.work
    return [{"learner": names.get(r.student, r.student), "lab": r.lab,
             "why": f"{r.awaiting_manual} written answer(s) awaiting manual grading (count 0 until graded)"}
            for r in work[(work["awaiting_manual"] > 0) & ~work["needs_review"]].itertuples()]


def risk_rows(cohort: Cohort) -> list[dict]:
    """Learners with a lab missing past its due date, a lab below its pass mark, or two late labs."""
    curriculum, work, rows = cohort.curriculum, cohort.work, []
    for student in cohort.students["student"]:
        mine = work[work["student"] == student]
        reasons = []
        missing = mine[mine["overdue"]]["lab"].tolist()
        if missing:
            reasons.append("missing " + ", ".join(missing) + " (past the due date)")
        below = mine[mine["submitted"] & ~mine["passed"]]
        reasons += [f"{r.lab} at {percent(r.share)} % (pass mark {percent(curriculum.lab(r.lab).pass_mark)} %)"
                    for r in below.itertuples()]
        late = int((mine["submitted"] & mine["late"]).sum())
        if late >= 2:
            reasons.append(f"{late} late submissions")
        if reasons:
            rows.append({"learner": cohort.name(student), "id": student, "why": "; ".join(reasons)})
    return rows


def certificates_section(ledger: list[dict], revocations: list[dict], decisions: dict) -> str:
    """Current certificates, and holders who no longer meet the rule."""
    rows = []
    for entry in ledger:
        if entry.get("status") != "current":
            continue
        revoked = find_revocation(revocations, entry["id"])
        decision = decisions.get((entry["student"], entry["track"]))
        if revoked:
            state = f"revoked: {revoked.get('reason', '')}"
        elif decision is None:
            state = "track cannot be earned now"
        elif decision.met:
            state = "valid; still meets the rule"
        else:
            state = "ATTENTION: no longer meets the rule (" + "; ".join(decision.reasons) + ")"
        rows.append({"learner": entry["name"], "track": entry["track_title"], "code": entry["code"],
                     "issued": entry["valid_from"][:10], "state": state})
    return _table(pd.DataFrame(rows), "No certificates issued yet (run `autograder certify`).")


def certified_codes(ledger: list[dict], revocations: list[dict]) -> dict[tuple[str, str], str]:
    """The code of each current, unrevoked certificate, by (student, track id)."""
    return {(e["student"], e["track"]): e["code"] for e in ledger
            if e.get("status") == "current" and not find_revocation(revocations, e["id"])}


def _progress_cell(row) -> str:
    """One learner's lab in the progress table: the share, coloured by pass, with its flags."""
    if row is None or not row["submitted"]:  # under review: its grades never reached the gradebook
        label = "missing" if row is not None and row["overdue"] else "not yet"
        label = "under review" if row is not None and row["needs_review"] else label
        return f'<span class="cell missing">{label}</span>'
    flags = "".join(flag for flag, on in (("L", row["late"]), ("R", row["needs_review"]),
                                          ("M", row["awaiting_manual"] > 0 and not row["needs_review"])) if on)
    kind = "pass" if row["passed"] else "fail"
    return f'<span class="cell {kind}">{percent(row["share"])} %{" <sup>" + flags + "</sup>" if flags else ""}</span>'


def _track_status(decision: Decision | None, code: str | None) -> str:
    if decision is None:
        return "not available yet"
    if code:
        return f"certified ({code})" if decision.met else f"certified ({code}), no longer meets rule"
    return "meets rule" if decision.met else "not yet"


def progress_section(cohort: Cohort, graded_labs: list[str], decisions: dict, certified: dict) -> str:
    """One row per learner: each graded lab's share and flags, then each track's state."""
    progress = []
    for student in cohort.students["student"]:
        row = {"learner": html.escape(cohort.name(student))}
        for lab_id in graded_labs:
            row[_short(lab_id)] = _progress_cell(cohort.lab_row(student, lab_id))
        for track in cohort.curriculum.tracks:
            row[track.title] = html.escape(_track_status(decisions.get((student, track.id)),
                                                         certified.get((student, track.id))))
        progress.append(row)
    return _table(pd.DataFrame(progress), "No learners in the gradebook.",
                  raw_columns=tuple(progress[0].keys()) if progress else ())


def build_sections(cohort: Cohort, ledger: list[dict], revocations: list[dict]) -> dict[str, str]:
    """Every section of the page, by its anchor; the PAGE template puts them in reading order."""
    graded_labs = [lab.id for lab in cohort.released if (cohort.work["lab"] == lab.id).any()]
    decisions = track_decisions(cohort)
    certified = certified_codes(ledger, revocations)
    at_risk, under_review = risk_rows(cohort), review_rows(cohort)
    headline = ((len(cohort.students), "learners"), (len(graded_labs), "labs in the gradebook"),
                (int(cohort.work["submitted"].sum()), "submissions"), (len(at_risk), "learners at risk"),
                (len(under_review), "submissions under review"), (len(certified), "valid certificates"))
    return {
        "tracks": tracks_section(cohort, decisions, graded_labs),
        "distributions": figure_distributions(cohort, graded_labs) if graded_labs else
        '<p class="empty">No lab has been graded yet.</p>',
        "hardest": hardest_section(cohort),
        "late": late_section(cohort),
        "review": _table(pd.DataFrame(under_review + manual_rows(cohort)), "Nothing under review."),
        "risk": _table(pd.DataFrame(at_risk), "No learner is at risk."),
        "certificates": certificates_section(ledger, revocations, decisions),
        "progress": progress_section(cohort, graded_labs, decisions, certified),
        "headline": "".join(f'<div class="card"><div class="big">{value}</div><div>{html.escape(label)}</div></div>'
                            for value, label in headline),
    }


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — cohort report</title>
<style>
  body {{ font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d2733; margin: 0;
         background: #f4f6f8; line-height: 1.45; }}
  main {{ max-width: 1150px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }}
  h1 {{ margin: 0 0 4px; color: #1f4e79; }}
  h3 {{ margin: 22px 0 4px; font-size: 16px; }}
  h2 {{ margin-top: 36px; border-bottom: 2px solid #1f4e79; padding-bottom: 4px; color: #1f4e79; }}
  .meta, .note, .empty {{ color: #55606b; font-size: 14px; }}
  nav a {{ margin-right: 14px; font-size: 14px; color: #1f4e79; }}
  .cards {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }}
  .card {{ flex: 1 1 140px; background: #eef3f8; border-radius: 8px; padding: 10px 14px; font-size: 14px; }}
  .big {{ font-size: 28px; font-weight: 700; color: #1f4e79; }}
  table {{ border-collapse: collapse; width: 100%; font-size: 14px; margin: 10px 0; }}
  th, td {{ border-bottom: 1px solid #dde3e9; padding: 5px 8px; text-align: left; vertical-align: top; }}
  th {{ background: #eef3f8; }}
  img {{ max-width: 100%; height: auto; display: block; margin: 12px 0; }}
  .cell {{ display: inline-block; min-width: 58px; padding: 1px 6px; border-radius: 4px; color: #fff; }}
  .pass {{ background: {pass_colour}; }} .fail {{ background: {fail_colour}; }} .missing {{ background: {missing_colour}; }}
  sup {{ font-size: 10px; }}
  @media print {{ body {{ background: #fff; }} main {{ max-width: none; }} nav {{ display: none; }} }}
</style>
</head>
<body>
<main>
<h1>{title}: cohort report</h1>
<p class="meta">Generated {generated} from {gradebook}. {note}</p>
<nav><a href="#risk">At risk</a><a href="#review">Under review</a><a href="#tracks">Pass rates</a>
<a href="#distributions">Score distributions</a><a href="#hardest">Hardest exercises</a>
<a href="#late">Late and missing</a><a href="#certificates">Certificates</a><a href="#progress">Progress</a></nav>
<div class="cards">{headline}</div>

<h2 id="risk">Learners at risk</h2>
<p class="note">A learner is at risk with a lab missing past its due date, a lab below its pass mark, or two or more
late submissions.</p>
{risk}

<h2 id="review">Submissions under review</h2>
<p class="note">Flagged by grading for an instructor to look at, and written answers still to be graded by hand.</p>
{review}

<h2 id="tracks">Pass rates per track</h2>
{tracks}

<h2 id="distributions">Score distributions per lab</h2>
{distributions}

<h2 id="hardest">Exercises the cohort fails most</h2>
<p class="note">Per graded cell, among learners whose cell has a grade (written answers awaiting manual grading are
left out): how many lost points on it and the mean score, lowest first.</p>
{hardest}

<h2 id="late">Late and missing work</h2>
{late}

<h2 id="certificates">Certificates</h2>
{certificates}

<h2 id="progress">Per-learner progress</h2>
<p class="note">Share of each lab's points; green: at or above the pass mark, red: below it, grey: not submitted
("missing" once past the due date).
<sup>L</sup> late, <sup>R</sup> under review, <sup>M</sup> written answers awaiting manual grading.</p>
{progress}
</main>
</body>
</html>
"""


def render_report(cohort: Cohort, ledger: list[dict], revocations: list[dict], generated: datetime | None = None) -> str:
    sections = build_sections(cohort, ledger, revocations)
    return PAGE.format(
        title=html.escape(cohort.curriculum.title),
        generated=(generated or datetime.now()).strftime("%Y-%m-%d %H:%M"),
        gradebook="gradebook.db", note=html.escape(SHARE_NOTE),
        pass_colour=PASS_COLOUR, fail_colour=FAIL_COLOUR, missing_colour=MISSING_COLOUR, **sections,
    )


def write_report(course_root: Path | str, output: Path | None = None, outcomes: list | None = None,
                 now: datetime | None = None) -> Path:
    """Write the cohort report (default ``reports/cohort.html`` in the course) and return its path.

    ``now`` (default: the current time) decides which missing work is past its due date.
    """
    curriculum = load_curriculum(course_root)
    cohort = load_cohort(curriculum, outcomes=outcomes, now=now)
    cohort.require_released()
    page = render_report(cohort, load_ledger(curriculum.root), load_revocations(curriculum.root))
    path = Path(output) if output else curriculum.root / REPORT_DIR / REPORT_FILE
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="write the cohort report (one self-contained HTML file)",
        description="Write reports/cohort.html: at-risk learners, reviews, pass rates, score distributions, "
                    "hardest exercises, late and missing work, certificates and per-learner progress.",
    )
    parser.add_argument("--output", type=Path, default=None, help="where to write it (default: reports/cohort.html)")
    parser.set_defaults(run=run)


def run(args) -> int:
    path = write_report(load_curriculum(args.course).root, output=args.output)
    print(f"Wrote the cohort report: {path} (self-contained; open it in any browser, offline).")
    return 0
