"""The one read model of the cohort, for feedback, export, status, report and certify.

``load_cohort`` reads nbgrader's gradebook and ``outcomes.json`` once into a :class:`Cohort`: typed
rows (:class:`LabResult`, one per learner and released lab) for the views that walk learners and
labs, and pandas tables made from the same rows for the views that count and group. Late, status,
score, share and pass are defined once, in ``results/read.py`` and ``results/model.py``.
"""

from autograder.results.model import (
    NOT_GRADED, NOT_SUBMITTED, SHARE_NOTE, Cohort, LabResult, NothingGraded,
)
from autograder.results.read import load_cohort

__all__ = ["NOT_GRADED", "NOT_SUBMITTED", "SHARE_NOTE", "Cohort", "LabResult", "NothingGraded", "load_cohort"]
