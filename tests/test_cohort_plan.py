"""The demo's sample cohort looks like a real one: both tracks, most labs submitted, a few things off."""

from __future__ import annotations

from collections import defaultdict

from lab_harness import CURRICULUM, READY_LABS

from autograder.demo.cohort import TWISTS, plan_cohort

CORRECT = {"solution", "alternative-1"}


def _plan(learners=10, completers=2):
    submissions = plan_cohort(CURRICULUM, list(READY_LABS), learners, completers)
    by_learner = defaultdict(dict)
    for s in submissions:
        by_learner[s.learner.id][s.lab.id] = s.variant
    return submissions, by_learner


def _own_labs(n):
    tracks = [[lab.id for lab in READY_LABS if lab.id in track.labs] for track in CURRICULUM.tracks]
    tracks = [track for track in tracks if track]
    listed = {lab_id for track in tracks for lab_id in track}
    tracks[0] += [lab.id for lab in READY_LABS if lab.id not in listed]  # a lab no track lists
    return tracks[n % len(tracks)]


def test_learners_take_the_tracks_in_turn_and_submit_only_their_tracks_labs():
    submissions, by_learner = _plan()
    learners = list(dict.fromkeys(s.learner.id for s in submissions))
    for n, learner in enumerate(learners):
        assert set(by_learner[learner]) <= set(_own_labs(n)), learner


def test_completers_submit_every_lab_of_their_track_correctly():
    _, by_learner = _plan()
    for n, learner in enumerate(list(by_learner)[:2]):
        assert set(by_learner[learner]) == set(_own_labs(n))
        assert set(by_learner[learner].values()) <= CORRECT


def test_every_other_learner_has_exactly_one_thing_off():
    _, by_learner = _plan(learners=2 + len(TWISTS))
    seen = []
    for n, learner in list(enumerate(by_learner))[2:]:
        variants = by_learner[learner]
        off = [v for v in variants.values() if v not in CORRECT]
        missing = len(_own_labs(n)) - len(variants)
        assert len(off) + missing == 1, (learner, variants)
        seen.append(off[0] if off else "missing")
    assert sorted(seen) == sorted(TWISTS)


def test_most_learners_submit_most_of_their_labs():
    submissions, by_learner = _plan(learners=12)
    expected = sum(len(_own_labs(n)) for n in range(12))
    assert len(submissions) >= 0.8 * expected
    on_time_and_correct = sum(s.variant in CORRECT for s in submissions)
    assert on_time_and_correct >= 0.7 * len(submissions)
