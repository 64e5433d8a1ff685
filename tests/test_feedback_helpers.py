"""labs.feedback gives the three outcomes a learner should see: not attempted, incorrect, correct."""

from __future__ import annotations

import pytest

from labs.feedback import NotAttempted, answered, passed


def stub(df):
    """Return the share of missing values per column."""
    # YOUR CODE HERE
    raise NotImplementedError()


def real(df):
    """Return the share of missing values per column."""
    return df.isna().mean()


def raises_on_bad_input(x):
    if x is None:
        raise NotImplementedError("not for None")
    return x


def test_undefined_name_is_not_attempted():
    with pytest.raises(NotAttempted, match="Not attempted yet: `nothing_here`"):
        answered("nothing_here")


def test_nbgrader_stub_function_is_not_attempted():
    with pytest.raises(NotAttempted, match="`stub`"):
        answered("stub")


def test_real_answers_pass(capsys):
    answered("real", "raises_on_bad_input")
    passed("exercise 1")
    assert "visible checks for exercise 1 pass" in capsys.readouterr().out


def test_not_attempted_is_an_assertion_so_the_grader_scores_zero():
    assert issubclass(NotAttempted, AssertionError)
