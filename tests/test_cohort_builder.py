"""The test cohort's gradebook is the gradebook nbgrader itself makes, so the certificate, report and
results tests run on nbgrader's real schema (cohort_builder.py creates it without nbgrader's slow
``alembic heads`` subprocess)."""

from __future__ import annotations

import sqlite3

from nbgrader.api import Gradebook

from cohort_builder import gradebook


def _schema(path) -> tuple[dict[str, list[str]], list[tuple]]:
    """Each table's column names, and the schema revision the file is stamped with."""
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info('{table}')")] for table in tables}
        return columns, db.execute("SELECT version_num FROM alembic_version").fetchall()


def test_the_builders_gradebook_has_nbgraders_tables_and_revision(tmp_path):
    (tmp_path / "ours").mkdir()
    gradebook(tmp_path / "ours").close()
    Gradebook(f"sqlite:///{tmp_path / 'stock.db'}", course_id="ai-certification-labs").close()
    ours, stock = _schema(tmp_path / "ours" / "gradebook.db"), _schema(tmp_path / "stock.db")
    assert ours == stock and len(stock[0]) > 5 and len(stock[1]) == 1
