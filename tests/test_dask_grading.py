"""`autograder grade --cluster`: grading on a Dask distributed cluster, with real nbgrader, a real
gradebook, real kernels in the real sandbox and a real dask.distributed LocalCluster.

Proves: both back ends (local pool, Dask) grade the same cohort to the same scores, cell by cell,
and the same outcome statuses; resume works on Dask; a learner's memory bomb, and even a worker
that dies, cost only that learner; an unreachable scheduler stops the run with exit 1 before
anything is written; identical bytes submitted again are executed again (no Dask cache); kernels
on Dask workers get the same thread caps as in the pool (the nanny's OMP_NUM_THREADS=1 does not win).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pipeline_fixtures import (
    LAB, NOTEBOOK, gradebook_scores, learner_notebook, release_path, released_course, submit, submit_answers,
)

from autograder.grading.backends import DaskCluster, default_workers
from autograder.curriculum import load_curriculum
from autograder.grading.execute import Task
from autograder.grading.grade import grade_lab
from autograder.grading.outcomes import FAILED, GRADED, load_outcomes
from autograder.grading.sandbox import Limits

CELL_TIMEOUT = 10  # the endless loop's limit; generous, so that a busy machine times out nothing else
SANDBOX = Limits(memory_mb=400)  # small, so that the memory bomb reaches it in a second
THREADS = "import os\nthreads = os.environ.get('OMP_NUM_THREADS')\nprint('threads', threads)\n"
BOMB = "hoard = []\nwhile True:\n    hoard.append(b'x' * 50_000_000)\n"  # written pages: really resident
STAMP = "import time\nprint('stamp', time.time_ns())\n"


def quiet(**kw):
    from rich.console import Console
    return dict(console=Console(file=open(os.devnull, "w")), show_progress=False, sandbox=SANDBOX, **kw)


def cohort(root: Path) -> None:
    release = release_path(root)
    for kind in ("solution", "wrong_hidden", "half"):
        submit_answers(root, f"s-{kind}", kind, "2026-11-01 10:00:00 UTC")
    submit(root, "s-corrupt", '{"cells": [')
    submit(root, "s-loops", learner_notebook(release, "import time\ntime.sleep(60)", "answer = 42"))
    submit(root, "s-bomb", learner_notebook(release, BOMB, "answer = 42"))
    submit(root, "s-threads", learner_notebook(release, THREADS + "def add(a, b):\n    return a + b", "answer = 42"))


def printed(root: Path, student: str, word: str) -> str:
    """What the learner's first answer cell printed after ``word`` in its autograded notebook."""
    notebook = nbformat.read(root / "autograded" / student / LAB / NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(word + " "):
                    return line.split(" ", 1)[1]
    raise AssertionError(f"{student}'s notebook printed no '{word}' line")


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    """The same cohort graded once in the local pool and once on a 2-worker LocalCluster."""
    runs = {}
    for back_end, cluster in (("pool", None), ("dask", "local")):
        root = released_course(tmp_path_factory, back_end)
        cohort(root)
        outcomes = grade_lab(load_curriculum(root), LAB, workers=2, cell_timeout=CELL_TIMEOUT, **quiet(cluster=cluster))
        runs[back_end] = (root, {o.student: o for o in outcomes}, gradebook_scores(root))
    return runs


def test_pool_and_dask_give_identical_scores_per_cell_and_statuses(graded_both_ways):
    (_, pool, pool_cells), (_, dask, dask_cells) = graded_both_ways["pool"], graded_both_ways["dask"]
    assert dask_cells == pool_cells and len(pool_cells) == 7 * 2  # every learner, both graded cells
    assert {s: (o.status, o.score) for s, o in dask.items()} == {s: (o.status, o.score) for s, o in pool.items()}
    assert {s: o.score for s, o in dask.items() if o.status == GRADED} == {
        "s-solution": 5, "s-wrong_hidden": 0, "s-half": 3, "s-threads": 5}
    assert {s: o.status for s, o in dask.items() if o.status != GRADED} == {
        "s-corrupt": "corrupt", "s-loops": "timeout", "s-bomb": FAILED}


def test_a_memory_bomb_on_dask_costs_only_that_learner(graded_both_ways):
    _, dask, _ = graded_both_ways["dask"]
    bomb = dask["s-bomb"]
    assert bomb.status == FAILED and bomb.needs_review and "memory" in bomb.reason
    assert all(o.status == GRADED for s, o in dask.items() if s not in {"s-bomb", "s-corrupt", "s-loops"})


def test_resume_on_dask_grades_nothing_then_only_the_changed_submission(graded_both_ways):
    root, first, _ = graded_both_ways["dask"]
    curriculum = load_curriculum(root)
    assert grade_lab(curriculum, LAB, workers=2, cell_timeout=CELL_TIMEOUT, **quiet(cluster="local")) == []
    submit_answers(root, "s-half", "solution", "2026-11-02 10:00:00 UTC")
    [regraded] = grade_lab(curriculum, LAB, workers=2, cell_timeout=CELL_TIMEOUT, **quiet(cluster="local"))
    assert (regraded.student, regraded.status, regraded.score) == ("s-half", GRADED, 5)
    assert {o.student: o.fingerprint for o in load_outcomes(root) if o.student != "s-half"} == {
        s: o.fingerprint for s, o in first.items() if s != "s-half"}


def file_digests(root: Path) -> dict[str, str]:
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in ("gradebook.db", "outcomes.json")}


def test_an_unreachable_scheduler_stops_the_run_before_anything_is_written(graded_both_ways):
    root = graded_both_ways["pool"][0]
    submit_answers(root, "s-new", "solution")  # something pending, so the run would write
    before = file_digests(root)
    result = subprocess.run([sys.executable, "-m", "autograder", "--course", str(root), "grade", LAB,
                             "--no-progress", "--cluster", "tcp://127.0.0.1:9"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Not grading" in result.stdout and "tcp://127.0.0.1:9" in result.stdout
    assert "nothing was graded" in result.stdout
    assert file_digests(root) == before
    assert "s-new" not in {o.student for o in load_outcomes(root)}


def test_kernels_on_dask_workers_get_the_pools_thread_caps(graded_both_ways):
    """With 2 workers on 2 cores the pool's cap is 1, as the nanny's: see the next test for a cap of 2."""
    expected = str(max(1, default_workers() // 2))
    assert printed(graded_both_ways["pool"][0], "s-threads", "threads") == expected
    assert printed(graded_both_ways["dask"][0], "s-threads", "threads") == expected


def test_identical_bytes_are_executed_again_and_a_lone_workers_kernel_gets_every_core(tmp_path_factory):
    """One worker: its kernel's thread cap is all the cores (the pool's rule), not the nanny's 1."""
    root = released_course(tmp_path_factory, "again")
    code = STAMP + THREADS + "def add(a, b):\n    return a + b"
    notebook = learner_notebook(release_path(root), code, "answer = 42")
    submit(root, "s-again", notebook, "2026-11-01 10:00:00 UTC")
    curriculum = load_curriculum(root)
    [first] = grade_lab(curriculum, LAB, workers=1, cell_timeout=30, notebook_budget=60, **quiet(cluster="local"))
    stamp = printed(root, "s-again", "stamp")
    assert printed(root, "s-again", "threads") == str(default_workers())
    submit(root, "s-again", notebook, "2026-11-01 11:00:00 UTC")  # same notebook bytes, new fingerprint
    [second] = grade_lab(curriculum, LAB, workers=1, cell_timeout=30, notebook_budget=60, **quiet(cluster="local"))
    assert first.fingerprint != second.fingerprint and second.status == GRADED
    assert printed(root, "s-again", "stamp") != stamp
    # Within one cluster session too: the very same task twice is run twice, not answered once.
    task = Task("s-again", LAB, Path(NOTEBOOK).stem, str(root / "submitted" / "s-again" / LAB),
                str(root / "release" / LAB), f"sqlite:///{root / 'gradebook.db'}", 30, 60)
    results = []
    scratch = tmp_path_factory.mktemp("scratch")
    with DaskCluster("local", 1, root, scratch, SANDBOX) as cluster:
        cluster.run([[task], [task]], lambda t, result: results.append(result))
    stamps = {json.dumps(nbformat.reads(r["executed"], as_version=4).cells[2].outputs) for r in results}
    assert len(results) == 2 and len(stamps) == 2


def test_a_dask_worker_that_dies_twice_fails_only_its_submission(tmp_path_factory):
    """Unsandboxed here, so that the learner's code can kill the Dask worker process itself (its
    kernel's parent): the submission is retried once on a fresh worker, then FAILED; the rest is graded."""
    root = released_course(tmp_path_factory, "killer")
    killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    submit(root, "s-killer", learner_notebook(release_path(root), killer, "answer = 42"))
    for student in ("s-one", "s-two", "s-three"):
        submit_answers(root, student, "solution")
    options = {**quiet(cluster="local"), "sandbox": None}
    outcomes = {o.student: o for o in grade_lab(load_curriculum(root), LAB, workers=2, cell_timeout=30,
                                                notebook_budget=60, **options)}
    assert outcomes["s-killer"].status == FAILED and "died twice" in outcomes["s-killer"].reason
    assert {s: (o.status, o.score) for s, o in outcomes.items() if s != "s-killer"} == {
        s: (GRADED, 5) for s in ("s-one", "s-two", "s-three")}
