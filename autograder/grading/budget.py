"""Time limits for a lab's submissions, derived from how long the lab's own solution runs.

A fixed limit is wrong both ways: 600 s per cell and 1,800 s per notebook let one runaway learner
hold a worker for half an hour, and a tight fixed limit fails an honest learner on a slow lab. So
each lab's limits follow its solution: the solution notebook is run once, sandboxed like any
submission, and its run time (cached per source notebook content in
``.autograder/solution-times.json``) sets the notebook's budget at :data:`FACTOR` times that, never
under :data:`FLOOR` seconds; the per-cell timeout is the same figure, since no honest cell takes
longer than the whole solution. Limits the instructor gives on the command line win.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from autograder.files import write_json

FACTOR = 10     # generous: a loaded machine, a slower learner's approach, a cold disk cache
FLOOR = 60      # seconds: kernel start and imports alone can take several on a busy machine
CACHE = Path(".autograder") / "solution-times.json"


def derive(solution_seconds: float) -> tuple[int, int]:
    """(cell timeout, notebook budget) in seconds for a lab whose solution runs in ``solution_seconds``."""
    budget = max(FLOOR, math.ceil(FACTOR * solution_seconds))
    return budget, budget


class SolutionTimes:
    """The cache of solution run times, keyed by lab and the source notebook's content."""

    def __init__(self, course_root: Path):
        self.path = Path(course_root) / CACHE

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # absent or damaged: measure again (it is only a cache)

    @staticmethod
    def digest(source_notebook: Path) -> str:
        return hashlib.sha256(Path(source_notebook).read_bytes()).hexdigest()[:20]

    def get(self, lab_id: str, source_notebook: Path) -> float | None:
        entry = self._read().get(lab_id, {})
        return entry.get("seconds") if entry.get("source") == self.digest(source_notebook) else None

    def put(self, lab_id: str, source_notebook: Path, seconds: float) -> None:
        data = self._read()
        data[lab_id] = {"source": self.digest(source_notebook), "seconds": round(seconds, 2)}
        write_json(self.path, data, indent=1, sort_keys=True)
