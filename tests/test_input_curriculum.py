"""A malformed curriculum.yml gives one message naming the file, the entry and the fix, through the CLI.

Every command reads curriculum.yml first, so each case runs the real `autograder status` on a folder
holding only the broken file: it must exit 2 without a traceback and leave the folder as it was.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from pipeline_fixtures import CURRICULUM

from autograder.cli import main
from autograder.curriculum import CurriculumError, load_curriculum


def _broken(old: str, new: str) -> str:
    assert old in CURRICULUM
    return CURRICULUM.replace(old, new)


@pytest.mark.parametrize("text, expected", [
    (_broken("course: {id: tiny-course", "course: {identifier: tiny-course"), "course has no 'id'"),
    (_broken("pass_mark: 0.7", "pass_mark: seventy"), "pass_mark must be a number, not 'seventy'"),
    (_broken("pass_mark: 0.7", "pass_mark: 70"), "pass_mark is a share of points, between 0 and 1"),
    (_broken("points: 5", "points: [5]"), "points must be a number"),
    (_broken("objectives: [Add numbers.]", "objectives: Add numbers."), "objectives must be a list"),
    (_broken("min_share_per_lab: 0.7", "min_share_per_lab: most"), "min_share_per_lab must be a number"),
    (_broken("status: ready", "status: done"), "status must be one of 'ready', 'planned'"),
    (_broken("labs: [01-tiny]", "labs: 01-tiny"), "labs must be a list"),
    (_broken("    minutes: 5", "    minuets: 5"), "has no 'minutes'"),
    ("course: {id: c, title: C}\nlabs: [just-a-name]\n", "Lab #1 must be a mapping"),
    ("- a\n- b\n", "must be a mapping with 'course', 'tracks' and 'labs'"),
], ids=["course-id-renamed", "pass-mark-text", "pass-mark-percent", "points-list", "objectives-text",
        "rule-text", "status-unknown", "track-labs-text", "key-misspelt", "lab-not-mapping", "not-mapping"])
def test_a_broken_curriculum_gives_one_clear_message_and_exit_2(tmp_path, capsys, text, expected):
    path = tmp_path / "curriculum.yml"
    path.write_text(text, encoding="utf-8")
    code = main(["--course", str(tmp_path), "status"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("autograder: ") and str(path) in captured.err
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["curriculum.yml"]  # nothing left behind


def test_unknown_keys_are_named_with_the_known_ones(tmp_path):
    (tmp_path / "curriculum.yml").write_text(_broken("    minutes: 5", "    minutes: 5\n    pass_mrak: 0.7"))
    with pytest.raises(CurriculumError, match=r"unknown key 'pass_mrak'.*pass_mark"):
        load_curriculum(tmp_path)


def test_every_problem_is_listed_in_the_one_message(tmp_path):
    text = _broken("pass_mark: 0.7", "pass_mark: high").replace("points: 5", "points: five")
    (tmp_path / "curriculum.yml").write_text(text)
    with pytest.raises(CurriculumError) as error:
        load_curriculum(tmp_path)
    message = str(error.value)
    assert "pass_mark must be a number, not 'high'" in message and "points must be a number, not 'five'" in message
    assert message.count(str(tmp_path / "curriculum.yml")) == 1


def test_the_real_curriculum_and_the_tiny_one_are_valid(tmp_path):
    from lab_harness import CURRICULUM as REAL
    assert len(REAL.ready_labs) >= 5
    (tmp_path / "curriculum.yml").write_text(CURRICULUM)
    assert load_curriculum(tmp_path).course_id == "tiny-course"


def test_the_installed_command_prints_no_traceback(tmp_path):
    (tmp_path / "curriculum.yml").write_text(_broken("pass_mark: 0.7", "pass_mark: seventy"))
    done = subprocess.run([sys.executable, "-m", "autograder", "--course", str(tmp_path), "export"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "pass_mark must be a number" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["curriculum.yml"]
