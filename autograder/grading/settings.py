"""`autograder grade`'s settings in the course's ``nbgrader_config.py``, nbgrader's own way (traitlets).

A course may keep its timeouts, sandbox limits and back end with the rest of its nbgrader
configuration, for example::

    c.AutograderGrade.cell_timeout = 120
    c.AutograderGrade.workers = 4
    c.AutograderGrade.memory_mb = 2048

An option given on the command line overrides the file; what neither sets keeps the defaults below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from traitlets import Int, TraitError, Unicode
from traitlets.config import Configurable

from autograder.curriculum import CurriculumError
from autograder.course import CONFIG_FILE, load_nbgrader_config
from autograder.grading.sandbox import Limits

# argparse destination -> trait name (the same words, so a reader finds one from the other)
SETTINGS = ("workers", "cluster", "cell_timeout", "notebook_budget", "memory_mb", "max_processes")


class AutograderGrade(Configurable):
    """The settings of one grading run; None means "derive it" (see ``autograder grade --help``)."""

    workers = Int(None, allow_none=True, help="parallel kernels (None: one per CPU core)").tag(config=True)
    cluster = Unicode(None, allow_none=True,
                      help="None: a local process pool; 'local': a Dask LocalCluster; or a scheduler "
                           "address such as tcp://host:8786").tag(config=True)
    cell_timeout = Int(None, allow_none=True,
                       help="seconds per cell (None: from the lab's solution run time)").tag(config=True)
    notebook_budget = Int(None, allow_none=True,
                          help="seconds per notebook (None: from the lab's solution run time)").tag(config=True)
    memory_mb = Int(Limits().memory_mb, help="memory for one learner's kernel").tag(config=True)
    max_processes = Int(Limits().processes, help="processes and threads for one learner's kernel").tag(config=True)


def with_course_settings(args: argparse.Namespace, course_root: Path) -> argparse.Namespace:
    """``args`` with every setting the command line left out (None) taken from the course's
    nbgrader_config.py, else from the defaults of :class:`AutograderGrade`."""
    try:
        settings = AutograderGrade(config=load_nbgrader_config(course_root))
    except TraitError as error:
        raise CurriculumError(f"{Path(course_root) / CONFIG_FILE}: a c.AutograderGrade setting is not valid "
                              f"({error}); fix or remove it.") from error
    merged = vars(args).copy()
    for name in SETTINGS:
        if merged.get(name) is None:
            merged[name] = getattr(settings, name)
    return argparse.Namespace(**merged)
