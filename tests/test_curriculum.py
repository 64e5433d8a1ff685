"""curriculum.yml is the one list of labs: it loads, it is consistent, and mistakes are explained."""

from __future__ import annotations

import pytest

from autograder.curriculum import CurriculumError, load_curriculum
from lab_harness import CURRICULUM


def test_tracks_reference_known_labs_and_have_rules():
    ids = {lab.id for lab in CURRICULUM.labs}
    assert {track.id for track in CURRICULUM.tracks} >= {"practitioner", "leader"}
    for track in CURRICULUM.tracks:
        assert set(track.labs) <= ids
        assert 0 < track.min_share_per_lab <= 1


def test_ready_labs_have_their_notebooks():
    for lab in CURRICULUM.ready_labs:
        assert CURRICULUM.source_notebook(lab).is_file(), f"{lab.id}: source notebook missing"
        assert CURRICULUM.release_notebook(lab).is_file(), f"{lab.id}: run `autograder release {lab.id}`"


@pytest.mark.parametrize(
    "text, message",
    [
        ("course: {id: c, title: C}\nlabs:\n  - {id: a, title: A, status: planned}\n  - {id: a, title: B, status: planned}\n", "twice"),
        ("course: {id: c, title: C}\nlabs:\n  - {id: a, title: A, status: ready}\n", "has no 'notebook'"),
        ("course: {id: c, title: C}\nlabs: []\ntracks:\n  - {id: t, title: T, labs: [zz], rule: {}}\n", "zz"),
        ("labs: [\n", "not valid YAML"),
    ],
)
def test_mistakes_name_the_entry_and_the_fix(tmp_path, text, message):
    (tmp_path / "curriculum.yml").write_text(text)
    with pytest.raises(CurriculumError, match=message):
        load_curriculum(tmp_path)


def test_missing_file_says_where_to_run(tmp_path):
    with pytest.raises(CurriculumError, match="curriculum.yml"):
        load_curriculum(tmp_path)
