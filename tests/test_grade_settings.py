"""`autograder grade`'s settings from the course's nbgrader_config.py (c.AutograderGrade.*), with the
command line overriding them; the real parser and nbgrader's real config loader, no grading."""

from __future__ import annotations

import pytest

from pipeline_fixtures import LAB, make_course

from autograder.cli import build_parser
from autograder.curriculum import CurriculumError
from autograder.grading.settings import with_course_settings
from autograder.grading.sandbox import Limits


def parsed(root, *options):
    return with_course_settings(build_parser().parse_args(["--course", str(root), "grade", LAB, *options]), root)


def course(tmp_path, *lines):
    root = make_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write("\n" + "\n".join(lines) + "\n")
    return root


def test_settings_come_from_nbgrader_config_and_the_command_line_overrides_them(tmp_path):
    root = course(tmp_path, "c.AutograderGrade.cell_timeout = 7", "c.AutograderGrade.memory_mb = 999",
                  "c.AutograderGrade.cluster = 'local'")
    args = parsed(root)
    assert (args.cell_timeout, args.memory_mb, args.cluster) == (7, 999, "local")
    assert (args.notebook_budget, args.workers, args.max_processes) == (None, None, Limits().processes)
    args = parsed(root, "--cell-timeout", "9", "--memory-mb", "500", "--cluster", "tcp://h:8786")
    assert (args.cell_timeout, args.memory_mb, args.cluster) == (9, 500, "tcp://h:8786")


def test_without_settings_in_the_config_the_defaults_apply(tmp_path):
    args = parsed(course(tmp_path))
    assert (args.cell_timeout, args.notebook_budget, args.workers, args.cluster) == (None, None, None, None)
    assert (args.memory_mb, args.max_processes) == (Limits().memory_mb, Limits().processes)


def test_a_setting_of_the_wrong_kind_names_the_file(tmp_path):
    root = course(tmp_path, "c.AutograderGrade.workers = 'many'")
    with pytest.raises(CurriculumError, match=r"nbgrader_config\.py: a c\.AutograderGrade setting is not valid"):
        parsed(root)
