"""outcomes.json's single writer saves in O(1) per submission and stays crash safe (issue 17).

Each outcome is one fsynced line appended to ``outcomes.journal``; the journal is folded into
``outcomes.json`` when the store closes. These tests use the real store on real files, and a real
SIGKILL for the crash; the graded-course kill tests are in test_grade.py and test_grader_hardening.py.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from autograder.grading import outcomes
from autograder.grading.outcomes import GRADED, Outcome, OutcomesError, OutcomeStore, load_outcomes

LAB = "00-lab"


def outcome(student: str, score: float = 1.0) -> Outcome:
    return Outcome(student=student, lab=LAB, status=GRADED, score=score, max_score=2.0)


def test_recording_does_not_rewrite_outcomes_json_per_submission(tmp_path, monkeypatch):
    writes = []
    real_write = outcomes.write_json
    monkeypatch.setattr(outcomes, "write_json", lambda *args, **kw: (writes.append(args[0]), real_write(*args, **kw)))
    with OutcomeStore(tmp_path) as store:
        for i in range(50):
            store.put(outcome(f"s{i:02d}"))
        assert writes == []  # 50 records, no whole-file rewrite yet
        assert len(load_outcomes(tmp_path)) == 50  # yet every one is already durable and readable
    assert writes == [tmp_path / "outcomes.json"]  # one fold when the run ends
    assert not (tmp_path / "outcomes.journal").exists()
    data = json.loads((tmp_path / "outcomes.json").read_text(encoding="utf-8"))
    assert data["version"] == 1 and [o["student"] for o in data["outcomes"]] == [f"s{i:02d}" for i in range(50)]


def test_a_store_left_by_an_error_is_still_folded(tmp_path):
    with pytest.raises(RuntimeError), OutcomeStore(tmp_path) as store:
        store.put(outcome("ann"))
        raise RuntimeError("the run failed")
    assert not (tmp_path / "outcomes.journal").exists()
    assert [o.student for o in load_outcomes(tmp_path)] == ["ann"]


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from autograder.grading.outcomes import GRADED, Outcome, OutcomeStore
store = OutcomeStore(Path(sys.argv[1]))
for student, score in [("ann", 1.0), ("bob", 2.0), ("ann", 0.5)]:
    store.put(Outcome(student=student, lab="00-lab", status=GRADED, score=score, max_score=2.0))
with open(store.journal, "ab") as journal:  # killed halfway through writing one more line
    journal.write(b'{"lab": "00-lab", "status": "graded", "student": "cu')
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_run_loses_nothing_recorded_and_counts_nothing_twice(tmp_path):
    OutcomeStore(tmp_path).put(outcome("zed"))  # an earlier run's outcome, already in the journal
    OutcomeStore(tmp_path).close()
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "outcomes.journal").exists()
    # Readers see every whole line over the file, the latest per learner, and not the cut one.
    assert {o.student: o.score for o in load_outcomes(tmp_path)} == {"zed": 1.0, "ann": 0.5, "bob": 2.0}
    # The next run folds the killed run's journal before appending, so its lines never follow a cut one.
    with OutcomeStore(tmp_path) as store:
        store.put(outcome("cy", 2.0))
        assert {o.student for o in load_outcomes(tmp_path)} == {"zed", "ann", "bob", "cy"}
    assert not (tmp_path / "outcomes.journal").exists()
    data = json.loads((tmp_path / "outcomes.json").read_text(encoding="utf-8"))
    assert sorted(o["student"] for o in data["outcomes"]) == ["ann", "bob", "cy", "zed"]


def test_a_damaged_journal_line_is_reported_with_the_file_and_the_fix(tmp_path):
    with OutcomeStore(tmp_path) as store:
        store.put(outcome("ann"))
    (tmp_path / "outcomes.journal").write_text('{"student": "bob", "lab": "00-lab"}\n', encoding="utf-8")
    with pytest.raises(OutcomesError) as raised:
        load_outcomes(tmp_path)
    message = str(raised.value)
    assert "outcomes.journal" in message and "entry 1 has no 'status'" in message and "move it away" in message
