"""Static and structural checks of every ready lab: metadata, frame, release sync, answer bank.

These read the notebooks nbgrader will read, and fail with a message that names the cell and the
fix, so a lab author learns what to change without reading nbgrader's source.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from autograder.nbcells import is_autograded_answer, is_test_cell, nbgrader_meta
from autograder.demo.samples import SOLUTION_MARKERS, exercises, load_answer_bank
from lab_harness import CURRICULUM, READY_LABS, ROOT

MIN_AUTOGRADED_EXERCISES = 4


def source(lab):
    return nbformat.read(CURRICULUM.source_notebook(lab), as_version=4)


def release(lab):
    return nbformat.read(CURRICULUM.release_notebook(lab), as_version=4)


def graded_cells(notebook):
    return [cell for cell in notebook.cells if nbgrader_meta(cell).get("grade")]


def test_every_lab_folder_is_in_the_curriculum():
    ready = {lab.id for lab in READY_LABS}
    for folder in ("source", "release"):
        found = {path.name for path in (ROOT / folder).iterdir() if path.is_dir()}
        assert found == ready, (
            f"{folder}/ holds {sorted(found)} but curriculum.yml lists {sorted(ready)} as ready: "
            "add the lab to curriculum.yml or remove the folder."
        )


def test_notebook_is_valid_nbformat(lab):
    nbformat.validate(source(lab))
    nbformat.validate(release(lab))


def test_kernelspec_is_python3(lab):
    kernelspec = source(lab).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{lab.id}: set the notebook's kernelspec name to python3."


def test_no_stored_outputs_in_source(lab):
    for index, cell in enumerate(source(lab).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{lab.id} cell {index} has stored outputs: clear them (source notebooks are kept stripped)."
            )


def test_grade_ids_are_unique_and_prefixed(lab):
    ids = [nbgrader_meta(cell)["grade_id"] for cell in source(lab).cells if nbgrader_meta(cell)]
    duplicates = sorted({grade_id for grade_id in ids if ids.count(grade_id) > 1})
    assert not duplicates, f"{lab.id}: grade_ids used twice: {duplicates}"
    strays = [grade_id for grade_id in ids if not grade_id.startswith(f"{lab.grade_prefix}-")]
    assert not strays, f"{lab.id}: grade_ids must start with '{lab.grade_prefix}-': {strays}"


def test_graded_cells_have_points(lab):
    for cell in graded_cells(source(lab)):
        points = nbgrader_meta(cell).get("points")
        assert points and 0 < points <= 5, (
            f"{lab.id} {nbgrader_meta(cell)['grade_id']}: a graded cell needs 1-5 points, has {points}."
        )


def test_solution_cells_have_markers(lab):
    for cell in source(lab).cells:
        if nbgrader_meta(cell).get("solution"):
            lines = [line.strip() for line in cell.source.splitlines()]
            assert all(marker in lines for marker in SOLUTION_MARKERS), (
                f"{lab.id} {nbgrader_meta(cell)['grade_id']}: wrap the answer in "
                "'### BEGIN SOLUTION' / '### END SOLUTION' lines so the release keeps the rest of the cell."
            )


def test_points_match_the_curriculum(lab):
    total = sum(nbgrader_meta(cell)["points"] for cell in graded_cells(source(lab)))
    assert total == lab.points, f"{lab.id}: the notebook's graded cells total {total}, curriculum.yml says {lab.points}."


def test_lab_follows_the_frame(lab):
    notebook = source(lab)
    first = next(cell for cell in notebook.cells if cell.cell_type == "markdown").source
    number = lab.id.split("-")[0]
    assert re.match(rf"# Lab {number} — {re.escape(lab.title)}\s*$", first.splitlines()[0]), (
        f"{lab.id}: the first line must read '# Lab {number} — {lab.title}'."
    )
    assert f"**Time:** about {lab.minutes} minutes." in first, (
        f"{lab.id}: the first cell must state '**Time:** about {lab.minutes} minutes.' as curriculum.yml does."
    )
    for objective in lab.objectives:
        assert objective in first, f"{lab.id}: learning objective missing from the first cell: {objective!r}"
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "**What can go wrong**" in text, f"{lab.id}: add a '> **What can go wrong**' box."
    assert "## Recap" in text, f"{lab.id}: end with a '## Recap' of the take-aways."
    answers = exercises(notebook)
    assert len(answers) >= MIN_AUTOGRADED_EXERCISES, f"{lab.id}: needs at least {MIN_AUTOGRADED_EXERCISES} exercises."
    untested = [answer for answer, tests in answers.items() if not tests]
    assert not untested, f"{lab.id}: these answer cells have no test cell after them: {untested}"
    written = [cell for cell in graded_cells(notebook) if cell.cell_type == "markdown"]
    assert written, f"{lab.id}: add a written reflection (a manually graded markdown answer with a mark scheme)."


def test_release_is_what_nbgrader_generates(lab, lab_run):
    """release/ must be byte for byte what nbgrader generates from source/ now."""
    committed = CURRICULUM.root / "release" / lab.id
    ours = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    theirs = {p.relative_to(lab_run.release_dir) for p in lab_run.release_dir.rglob("*") if p.is_file()}
    assert ours == theirs, f"release/{lab.id} files differ from nbgrader's: regenerate with `autograder release {lab.id}`."
    for relative in sorted(ours):
        assert (committed / relative).read_bytes() == (lab_run.release_dir / relative).read_bytes(), (
            f"release/{lab.id}/{relative} is not what nbgrader generates from source/: "
            f"regenerate it with `autograder release {lab.id}` (never edit release/ by hand)."
        )


def test_release_hides_solutions_and_hidden_tests(lab):
    text = "\n".join(cell.source for cell in release(lab).cells)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Mark scheme"):
        assert marker not in text, f"release/{lab.id} still contains {marker!r}."


def test_release_code_compiles(lab):
    transform = TransformerManager().transform_cell
    for index, cell in enumerate(release(lab).cells):
        if cell.cell_type == "code":
            try:
                compile(transform(cell.source), f"release/{lab.id} cell {index}", "exec")
            except SyntaxError as error:
                pytest.fail(f"release/{lab.id} cell {index} does not compile: {error}")


def test_release_runs_up_to_the_first_exercise(lab, lab_run):
    """Read from the harness's own run of the untouched release (the "blank" submission nbgrader
    autograded): no second kernel is started for it."""
    notebook = lab_run.autograded_notebook("blank")
    first_answer = next(i for i, cell in enumerate(notebook.cells) if is_autograded_answer(cell))
    code = [(i, cell) for i, cell in enumerate(notebook.cells[:first_answer]) if cell.cell_type == "code"]
    assert code, f"release/{lab.id} has no code before its first exercise"
    for index, cell in code:
        assert cell.execution_count is not None, f"release/{lab.id} cell {index} was not run by nbgrader"
        if "raises-exception" in cell.metadata.get("tags", []):
            continue  # a cell meant to fail, e.g. a traceback to read (nbclient allows it too)
        for output in cell.outputs:
            assert output.output_type != "error", (
                f"release/{lab.id} cell {index} fails before the first exercise: "
                f"{output.ename}: {output.evalue}")


def test_answer_bank_covers_every_exercise(lab):
    bank = load_answer_bank(CURRICULUM, lab)
    answers = exercises(source(lab))
    unknown = sorted(set(bank) - set(answers))
    assert not unknown, f"tests/answers/{lab.id}.yml names answer cells the lab does not have: {unknown}"
    for answer_id in answers:
        entry = bank.get(answer_id, {})
        assert len(entry.get("alternative", [])) >= 1, f"tests/answers/{lab.id}.yml: add an alternative correct answer for {answer_id}."
        assert len(entry.get("wrong", [])) >= 2, f"tests/answers/{lab.id}.yml: add two plausible wrong answers for {answer_id}."


def test_every_test_cell_belongs_to_an_exercise(lab):
    notebook = source(lab)
    owned = {test_id for tests in exercises(notebook).values() for test_id in tests}
    orphans = [nbgrader_meta(c)["grade_id"] for c in notebook.cells if is_test_cell(c) and nbgrader_meta(c)["grade_id"] not in owned]
    assert not orphans, f"{lab.id}: test cells before any answer cell: {orphans}"
