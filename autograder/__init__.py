"""The instructor's side of AI Certification Labs: release, import, grade, feedback, export, certify.

Built on nbgrader's own converters and gradebook; the course is described once, in curriculum.yml.
"""

import os
import sys

__version__ = "0.1.0"

# nbgrader's Gradebook runs the `alembic` command it finds on PATH. When the virtual environment is
# not activated (`.venv/bin/autograder ...`, or `make`), that command would be missing and every
# gradebook open would fail; so put this interpreter's own bin folder first on PATH.
_interpreter_bin = os.path.dirname(sys.executable)
if _interpreter_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _interpreter_bin + os.pathsep + os.environ.get("PATH", "")
