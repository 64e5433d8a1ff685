"""Real nbgrader grades every lab's sample submissions, and the grades must be fair.

The solution earns every autograded point and the untouched release earns none; every alternative
correct answer earns its exercise's full points and every plausible wrong answer loses some. Each
exercise is judged on its own test cells, so a wrong answer elsewhere cannot hide an unfair test.
The solution also keeps every point when each of its functions writes to stderr and warns (issue 9,
item 4: nbgrader scores a test cell 0 for any stderr).
"""

from __future__ import annotations


def _unfair(lab_run, variant_prefix: str) -> list[str]:
    """Every exercise a variant judged, whose score does not match what the variant expects."""
    problems = []
    for variant in lab_run.variants:
        if not variant.name.startswith(variant_prefix):
            continue
        for answer_id, expected in variant.expect.items():
            score, maximum = lab_run.exercise_score(variant.name, answer_id)
            fair = score == maximum if expected == "full" else score < maximum
            if not fair:
                why = variant.why.get(answer_id) or "the instructor's answer"
                problems.append(f"{variant.name} {answer_id}: {score:g}/{maximum:g} points — {why}")
    return problems


def test_every_submission_was_scored(lab_run):
    missing = [name for name, cells in lab_run.scores.items() if not cells]
    assert not missing, f"nbgrader scored nothing for {missing}:\n{lab_run.autograde_log[-3000:]}"


def test_solution_earns_every_autograded_point(lab_run):
    problems = _unfair(lab_run, "solution")
    assert not problems, "The solution lost points:\n" + "\n".join(problems)


def test_noisy_solution_earns_every_autograded_point(lab_run):
    """A correct answer that writes to stderr (tqdm) and warns keeps its marks under stock nbgrader."""
    problems = _unfair(lab_run, "noisy-solution")
    assert not problems, ("The solution lost points once its functions write to stderr and warn (a test "
                          "cell does not start with answered(...)?):\n" + "\n".join(problems))


def test_untouched_release_earns_nothing(lab_run):
    earned = {grade_id: score for grade_id, (score, _) in lab_run.scores["blank"].items() if score}
    assert not earned, f"The blank release earned points (a test passes without an answer): {earned}"


def test_alternative_answers_earn_full_points(lab_run):
    assert any(v.name.startswith("alternative") for v in lab_run.variants), "No alternative answers to grade."
    problems = _unfair(lab_run, "alternative")
    assert not problems, "Correct alternative answers lost points (a hidden test is too strict):\n" + "\n".join(problems)


def test_wrong_answers_lose_points(lab_run):
    assert sum(v.name.startswith("wrong") for v in lab_run.variants) >= 2, "Needs two wrong-answer submissions."
    problems = _unfair(lab_run, "wrong")
    assert not problems, "Plausible wrong answers earned full points (a test is too lenient):\n" + "\n".join(problems)
