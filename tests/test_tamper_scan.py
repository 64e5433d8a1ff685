"""The static scan flags tampering and only tampering: no honest answer of any lab is a finding.

Every answer a lab's answer bank holds (alternatives and wrong answers alike: wrong is not
dishonest) and every instructor solution is scanned as learner code; each must give no finding. The
evasions below were written against the scan's own lists (aliases, a module passed to a helper,
code hidden in a magic) and each must be named.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder.demo.samples import load_answer_bank, solution_code
from autograder.grading.tamper import scan_source
from lab_harness import CURRICULUM


def honest_answers(lab):
    source = nbformat.read(CURRICULUM.source_notebook(lab), as_version=4)
    yield from ((f"{grade_id} solution", code) for grade_id, code in solution_code(source).items())
    for grade_id, entry in load_answer_bank(CURRICULUM, lab).items():
        for kind in ("alternative", "wrong"):
            for number, option in enumerate(entry.get(kind, []), start=1):
                yield f"{grade_id} {kind}-{number}", option["code"]


def test_no_honest_answer_is_a_finding(lab):
    findings = {name: scan_source(code) for name, code in honest_answers(lab)}
    flagged = {name: found for name, found in findings.items() if found}
    assert findings and not flagged, f"{lab.id}: honest answers sent to review: {flagged}"


HONEST = [
    "%matplotlib inline\nimport numpy as np\nvalues = np.arange(3)",
    "%time total = sum(range(10))",
    "%timeit -n 1 sorted([3, 1, 2])",
    "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\nframe = df\nframe.columns = ['b']",
    "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression()\nmodel.max_iter = 500",
]
EVASIONS = [
    ("import numpy as np\nx = np\nx.allclose = lambda *a, **k: True", "changes `x.allclose`"),
    ("import pandas as pd\nS = pd.Series\nS.equals = lambda self, other: True", "changes `S.equals`"),
    ("operator = __import__\nb = operator('builtins')", "refers to `__import__`"),
    ("import numpy as np\ndef tune(m):\n    m.allclose = lambda *a, **k: True\ntune(np)", "passes the module `np`"),
    ("%time np.allclose = lambda *a, **k: True", "in %time: changes `np.allclose`"),
    ("%load_ext something", "runs the IPython magic %load_ext"),
]


@pytest.mark.parametrize("code", HONEST)
def test_honest_magics_and_aliases_are_not_findings(code):
    assert scan_source(code) == []


@pytest.mark.parametrize("code, named", EVASIONS)
def test_evasions_are_named(code, named):
    assert any(named in finding for finding in scan_source(code)), scan_source(code)
