"""The attack corpus, graded in ONE batch by the real `autograder grade` (sandboxed) in a throwaway course.

Every attack of ``tests/attacks`` and six honest controls (solution, two alternatives, two wrong
answers, blank) are submissions of lab 01. Per attack this proves: no autograded points above what
the honest answers underneath earn, unless the submission is flagged "needs review" with a reason;
nothing read, written or reached outside its own copy (course files hashed before and after, the
gradebook's stored tests compared, a real TCP listener that must see no connection); the batch
completed (every learner has an outcome). Honest controls are never flagged. Archive attacks go
through `autograder import`. No mocks: real kernels, real bubblewrap, real nbgrader gradebook.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import attacks as corpus
from autograder.grading.outcomes import load_outcomes

# The duplicated-cells attack makes nbformat warn while it repairs the ids: expected, not noise.
pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")

CELL_TIMEOUT = 8          # seconds: lab 01's slowest graded cell takes about 1 s here
NOTEBOOK_BUDGET = 60      # seconds: an honest trimmed lab 01 runs in about 5 s
HOST_FILES = [Path("/tmp/pwned.txt"), Path.home() / "pwned.txt"]


def autograder(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, listener):
    """Release lab 01, grade one honest learner, then grade the whole corpus in one batch."""
    for path in HOST_FILES:
        assert not path.exists(), f"remove {path} before running the attack corpus"
    course = corpus.make_course(tmp_path_factory.mktemp("attacks") / "course")
    curriculum = __import__("autograder.curriculum", fromlist=["load_curriculum"]).load_curriculum(course)
    bases = corpus.build_cohort(course, curriculum, corpus.attack_context(course, listener[0]))
    # A learner graded before the attackers arrive: their grades must survive the batch untouched.
    first = autograder(course, "grade", corpus.LAB, "--student", "ctrl-solution", "--no-progress",
                       "--cell-timeout", str(CELL_TIMEOUT), "--notebook-budget", str(NOTEBOOK_BUDGET))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    gradebook = course / "gradebook.db"
    before = {
        "scores": corpus.auto_scores(gradebook),
        "tests": corpus.stored_tests(gradebook),
        "source": corpus.tree_digest(course / "source"),
        "release": corpus.tree_digest(course / "release"),
        "submitted": corpus.tree_digest(course / "submitted"),
        "config": corpus.tree_digest(course / "tests"),
    }
    started = time.monotonic()
    result = autograder(course, "grade", corpus.LAB, "--workers", "2", "--no-progress",
                        "--cell-timeout", str(CELL_TIMEOUT), "--notebook-budget", str(NOTEBOOK_BUDGET))
    seconds = time.monotonic() - started
    outcomes = {o.student: o for o in load_outcomes(course)}
    print(f"\nattack corpus: {len(bases)} submissions graded in {seconds:.0f} s")
    for student, outcome in sorted(outcomes.items()):
        print(f"  {student:34} {outcome.status:13} {outcome.score!s:>5} review={outcome.needs_review} "
              f"{outcome.reason[:150]}")
    return {"course": course, "bases": bases, "before": before, "result": result, "outcomes": outcomes,
            "after_scores": corpus.auto_scores(gradebook), "seconds": seconds}


def honest_points(batch, base: str) -> float:
    return corpus.autograded_points(batch["after_scores"].get(f"ctrl-{base if base != 'wrong' else 'wrong-1'}", {}))


def test_the_batch_completed(batch):
    assert batch["result"].returncode == 0, batch["result"].stderr[-3000:]
    assert set(batch["outcomes"]) == set(batch["bases"])


def test_honest_controls_are_graded_fairly_and_never_flagged(batch):
    scores = batch["after_scores"]
    full = corpus.autograded_points(scores["ctrl-solution"])
    assert full == 16
    for name in corpus.CONTROLS:
        outcome = batch["outcomes"][f"ctrl-{name}"]
        assert outcome.status == "graded" and not outcome.needs_review, (name, outcome.reason)
        points = corpus.autograded_points(scores[f"ctrl-{name}"])
        if name.startswith(("solution", "alternative")):
            assert points == full, name
        else:
            assert points < full, name


@pytest.mark.parametrize("name", list(corpus.ATTACKS))
def test_attack_gains_nothing_unflagged(batch, name):
    attack = corpus.ATTACKS[name]
    student = f"atk-{name}"
    outcome = batch["outcomes"][student]
    points = corpus.autograded_points(batch["after_scores"].get(student, {}))
    honest = honest_points(batch, attack.base)
    if points > honest:
        assert outcome.needs_review and outcome.reason, f"{name} gained {points - honest} points unflagged"
    if attack.category == "points":
        # Tampering with tests needs code that the scan, canaries or probes recognise: always flagged.
        assert outcome.needs_review and outcome.reason, f"{name} was not flagged"
    if outcome.needs_review:
        assert outcome.status != "graded" or "review" in outcome.status
    autograded = batch["course"] / "autograded" / student / corpus.LAB / corpus.NOTEBOOK
    if autograded.exists():
        outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(autograded, as_version=4).cells])
        assert corpus.LEAK not in outputs, f"{name} read or reached something"


def test_other_learners_grades_and_the_stored_tests_are_intact(batch):
    before = batch["before"]
    after_scores = batch["after_scores"]
    assert after_scores["ctrl-solution"] == before["scores"]["ctrl-solution"]
    assert corpus.stored_tests(batch["course"] / "gradebook.db") == before["tests"]
    max_points = {k: v for scores in after_scores.values() for k, v in scores.items()}
    assert all(v is None or v <= 4 for v in max_points.values()), "a score above any cell's maximum"


def test_no_file_outside_a_submission_copy_was_touched(batch, listener):
    course, before = batch["course"], batch["before"]
    assert corpus.tree_digest(course / "source") == before["source"]
    assert corpus.tree_digest(course / "release") == before["release"]
    assert corpus.tree_digest(course / "submitted") == before["submitted"]
    assert corpus.tree_digest(course / "tests") == before["config"]
    assert not (course.parent / "pwned.txt").exists() and not (course / "pwned.txt").exists()
    for path in HOST_FILES:
        assert not path.exists(), f"{path} was written by learner code"
    assert not listener[1], "learner code reached a server on this machine"


def test_outcomes_show_the_review_reason(batch):
    flagged = [o for o in batch["outcomes"].values() if o.needs_review]
    assert flagged and all(o.reason for o in flagged)
    status = autograder(batch["course"], "status")
    assert status.returncode == 0, status.stderr[-2000:]
    assert "review" in status.stdout


@pytest.mark.parametrize("name", corpus.ARCHIVE_ATTACKS)
def test_archive_attacks_are_refused_by_import(tmp_path, name):
    from autograder.collect import ImportFailed, UnsafeArchive, import_submissions
    from autograder.curriculum import load_curriculum

    course = tmp_path / "course"
    course.mkdir()
    for file in ("curriculum.yml", "nbgrader_config.py"):
        (course / file).write_bytes((corpus.REPO / file).read_bytes())
    (course / "source" / corpus.LAB).mkdir(parents=True)
    (course / "source" / corpus.LAB / corpus.NOTEBOOK).write_bytes(
        (corpus.REPO / "source" / corpus.LAB / corpus.NOTEBOOK).read_bytes())
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nalice,Alice,alice@example.org\n", encoding="utf-8")
    notebook = (corpus.REPO / "release" / corpus.LAB / corpus.NOTEBOOK).read_bytes()
    secret = tmp_path / "other-learner.ipynb"
    secret.write_bytes(notebook)
    if name == "folder-symlink":
        download = corpus.folder_with_symlink(tmp_path / "download", secret)
    else:
        download = tmp_path / "download.zip"
        download.write_bytes(corpus.archive_attacks(notebook)[name])
    before = corpus.tree_digest(tmp_path)
    try:
        report = import_submissions(load_curriculum(course), download, roster,
                                    max_bytes=64 << 20)
        imported = report.imported
    except (UnsafeArchive, ImportFailed) as refusal:
        imported = []
        assert str(refusal)
    assert not imported, f"{name} was imported"
    assert not (course / "submitted").exists() or not any((course / "submitted").rglob("*.ipynb"))
    assert not (tmp_path.parent / "evil").exists() and not Path("/tmp/evil").exists()
    after = corpus.tree_digest(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
