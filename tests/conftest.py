"""Fixtures of the lab QA harness, and the grading verdicts it prints at the end of every run.

The verdict table shows, per exercise, what real nbgrader gave each sample answer. (The notebook
run-time and memory table is printed by the conftest.py at the repository root, which nbval's items
under source/ can reach.)
"""

from __future__ import annotations

import pytest

import visible_checks
from lab_harness import PREPARED, READY_LABS, LabRun, prepare_labs

def pytest_generate_tests(metafunc):
    """Run every test that takes a ``lab`` once per ready lab in the curriculum."""
    if "lab" in metafunc.fixturenames:
        metafunc.parametrize("lab", READY_LABS, ids=[lab.id for lab in READY_LABS])


@pytest.fixture(scope="session")
def lab_runs(request) -> dict[str, LabRun | Exception]:
    """Generate and grade, once, every lab that a selected test needs (two labs at a time)."""
    wanted = {
        item.callspec.params["lab"].id
        for item in request.session.items
        if "lab_run" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")
    }
    return prepare_labs([lab for lab in READY_LABS if lab.id in wanted])


@pytest.fixture
def lab_run(lab, lab_runs) -> LabRun:
    result = lab_runs[lab.id]
    if isinstance(result, Exception):
        pytest.fail(f"{lab.id} could not be generated and graded: {result}")
    return result


def _verdict_rows(run: LabRun):
    variants = [v for v in run.variants if v.name != "blank"]
    for answer_id in run.exercises:
        cells, ok = [], True
        for variant in variants:
            expectation = variant.expect.get(answer_id)
            if expectation is None:
                cells.append("-")
                continue
            score, maximum = run.exercise_score(variant.name, answer_id)
            fair = score == maximum if expectation == "full" else score < maximum
            ok &= fair
            cells.append(f"{score:g}/{maximum:g}{'' if fair else ' !'}")
        yield answer_id, cells, "ok" if ok else "UNFAIR"


def pytest_terminal_summary(terminalreporter):
    write = terminalreporter.write_line
    if PREPARED:
        terminalreporter.section("lab grading verdicts (real nbgrader autograde)")
        for lab_id, run in sorted(PREPARED.items()):
            if isinstance(run, Exception):
                write(f"{lab_id}: could not be graded ({run})")
                continue
            names = [v.name for v in run.variants if v.name != "blank"]
            write(f"{lab_id}  (generated and graded {len(run.variants)} submissions in {run.seconds:.0f} s)")
            width = max(14, *(len(name) + 1 for name in names))
            write(f"  {'exercise':<34}" + "".join(f"{name:>{width}}" for name in names) + "  verdict")
            for answer_id, cells, verdict in _verdict_rows(run):
                write(f"  {answer_id:<34}" + "".join(f"{cell:>{width}}" for cell in cells) + f"  {verdict}")
    if visible_checks.CHECKED:
        terminalreporter.section("visible checks: what a learner hears before grading (release notebooks)")
        for lab_id, result in visible_checks.CHECKED.items():
            if isinstance(result, Exception):
                write(f"{lab_id}: could not be checked ({result})")
            else:
                write(f"{lab_id}: {visible_checks.summary_line(result)}")
        write("Per-answer verdicts: .venv/bin/python tests/visible_checks.py LAB")
