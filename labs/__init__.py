"""Helpers that the lab notebooks import: offline datasets and friendly feedback.

Learner-facing by design: nothing here holds an answer to an exercise.
"""

__all__ = ["datasets", "feedback"]
