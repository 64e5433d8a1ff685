"""The instructor's side of AI Certification Labs: release, import, grade, feedback, export, certify.

Built on nbgrader's own converters and gradebook; the course is described once, in curriculum.yml
(``curriculum``). The modules follow a submission's journey:

1. ``release``: each lab's student version, built from ``source/`` by nbgrader (``solutions`` publishes
   the worked solutions after the due date);
2. ``collect`` (``autograder collect``): an LMS download placed in ``submitted/``, matched to the class list
   (``roster``);
3. ``grading/``: every pending submission run in a sandboxed kernel, its grades recorded in nbgrader's
   gradebook by one trusted writer;
4. ``results/``: the one read model of the cohort, used by ``feedback``, ``export``, ``status`` and
   ``report``;
5. ``credentials/``: signed Open Badges certificates (``certify``), checked with ``verify``.

``demo/`` is the README's sample cohort, not product code. ``nbcells`` (nbgrader's cell vocabulary)
and ``files`` (atomic writes) are shared by all steps; ``cli`` wires the sub-commands together.
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
