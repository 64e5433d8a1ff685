"""Tamper detection: what the OS sandbox cannot stop, because learner code and tests share one kernel.

The sandbox (``sandbox.py``) keeps a submission away from files, the gradebook, other learners and
the network. It cannot keep learner code away from the *test cells*: nbgrader runs the learner's
cells and the instructor's tests one after another in the same Python process, so code in an
answer cell can rewrite later cells (IPython input transformers), patch the functions tests call
(``np.allclose``, ``pd.testing``, ``isinstance``), answer with objects that equal everything, or
hide the errors a failing test raises. None of that can be prevented from inside that process; it
can be *noticed*. Three independent layers, each an nbgrader-style preprocessor:

1. :class:`ScanLearnerCode` (before execution) reads learner-written code with :mod:`ast` (never
   regexes) and names every test-tampering API it finds. It runs on answer cells and on every
   code cell the release does not have, after nbgrader's ``OverwriteCells`` restored the tests.
2. :class:`InsertCanaries` (before execution) adds negative controls: for each real test cell, a
   copy of its visible checks followed by a "hidden" check that is false for every possible
   answer. It sits just before or just after the real test (random per submission), carries a
   fresh id like every other cell (all cell ids are replaced by random ones while the kernel runs,
   so ids give nothing away) and uses the same checking functions the real test uses. An honest
   kernel makes every canary raise. Two integrity probes are added too (one at a random point among
   the tests, one at the end): they report hooks, tracers and patched library functions.
3. :class:`CheckCanaries` (after execution and nbgrader's output tidying, so canaries are judged
   by exactly the rules that score real tests) fails the submission's integrity if a canary ran
   without an error or a probe did not report "clean"; then it removes canaries and probes and
   restores the original cell ids, so scoring sees only the learner's notebook.

Every finding is a human-readable reason in ``resources["tamper"]["reasons"]``; any reason makes
the submission "needs review" (it is never silently credited). Honest answers, correct or wrong,
alternative or blank, produce no reason: a wrong answer makes the canary raise *earlier*, which is
still a raise. Known limits are in SECURITY.md.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import secrets
import uuid
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.nbcells import HIDDEN_BEGIN, HIDDEN_END, hidden_test_delimiters, is_test_cell, nbgrader_meta

RNG = secrets.SystemRandom()
MARK = "autograder_integrity"          # metadata key of inserted cells (never sent to the kernel)


def _is_test(cell) -> bool:
    return cell.cell_type == "code" and is_test_cell(cell)


def _state(resources) -> dict:
    return resources.setdefault("tamper", {"reasons": [], "inserted": {}, "ids": []})


def tamper_reasons(resources) -> list[str]:
    """The reasons found so far for one notebook (empty: nothing suspicious)."""
    return list(resources.get("tamper", {}).get("reasons", []))


# =========================================================================== 1. static scan

# Attributes whose use (read or write) is a way to reach into the test machinery.
HOOK_ATTRIBUTES = {
    "input_transformers_cleanup": "registers an IPython input transformer (can rewrite later test cells)",
    "input_transformers_post": "registers an IPython input transformer (can rewrite later test cells)",
    "input_transformer_manager": "reaches IPython's input transformers (can rewrite later test cells)",
    "input_splitter": "reaches IPython's input transformers (can rewrite later test cells)",
    "ast_transformers": "registers an IPython AST transformer (can rewrite later test cells)",
    "events": "registers an IPython event callback (runs code around every later cell)",
    "register_magic_function": "registers an IPython magic",
    "run_cell": "replaces or drives the IPython cell runner",
    "run_cell_async": "replaces or drives the IPython cell runner",
    "run_ast_nodes": "replaces or drives the IPython cell runner",
    "run_code": "replaces or drives the IPython cell runner",
    "showtraceback": "replaces IPython's error display (can hide failing tests)",
    "_showtraceback": "replaces IPython's error display (can hide failing tests)",
    "showsyntaxerror": "replaces IPython's error display (can hide failing tests)",
    "set_custom_exc": "installs a custom exception handler (can hide failing tests)",
    "CustomTB": "installs a custom exception handler (can hide failing tests)",
    "excepthook": "replaces the exception hook (can hide failing tests)",
    "displayhook": "replaces the display hook",
    "display_pub": "replaces IPython's output publisher",
    "settrace": "installs a tracer (sys.settrace can change what later code does)",
    "setprofile": "installs a profiler hook (sys.setprofile)",
    "addaudithook": "installs an audit hook",
    "_getframe": "reads interpreter frames (can reach the test code's variables)",
    "currentframe": "reads interpreter frames (can reach the test code's variables)",
    "f_back": "reads interpreter frames (can reach the test code's variables)",
    "f_locals": "reads interpreter frames (can reach the test code's variables)",
    "f_globals": "reads interpreter frames (can reach the test code's variables)",
    "f_code": "reads interpreter frames (can reach the test code's variables)",
    "f_trace": "installs a frame tracer",
    "get_referrers": "walks the garbage collector's object graph (gc) to reach test objects",
    "get_referents": "walks the garbage collector's object graph (gc) to reach test objects",
    "get_objects": "walks the garbage collector's object graph (gc) to reach test objects",
    "_exit": "ends the kernel abruptly (os._exit)",
    "kill": "sends signals to processes",
    "killpg": "sends signals to processes",
    "fork": "starts new processes (fork)",
    "forkpty": "starts new processes (fork)",
    "meta_path": "installs an import hook (sys.meta_path)",
    "path_hooks": "installs an import hook (sys.path_hooks)",
    "__code__": "rewrites a function's code object",
    "__globals__": "reaches a function's globals",
    "__builtins__": "changes Python's built-in functions",
    "__class__": "changes an object's class",
    "__subclasses__": "walks the class hierarchy to reach library internals",
}
# Modules whose import alone is a test-tampering or escape tool in a learner's answer.
SUSPICIOUS_MODULES = {
    "ctypes": "loads ctypes (raw memory access inside the kernel)",
    "sqlite3": "opens SQLite databases (the gradebook is one)",
    "sqlalchemy": "opens databases (the gradebook is one)",
    "gc": "uses the garbage collector's object graph",
    "signal": "installs signal handlers",
    "builtins": "imports the builtins module (to change built-in functions)",
    "__builtin__": "imports the builtins module (to change built-in functions)",
    "importlib": "imports modules dynamically",
    "ipykernel": "reaches the kernel's internals",
    "IPython": "reaches IPython's internals",
    "nbgrader": "imports the grader",
    "nbformat": "reads or writes notebooks",
    "nbclient": "drives notebooks",
    "jupyter_client": "drives kernels",
    "subprocess": "starts other programs",
    "multiprocessing": "starts other processes",
    "threading": "starts background threads that can act while the tests run",
    "_thread": "starts background threads that can act while the tests run",
    "socket": "opens network connections",
    "inspect": "inspects interpreter frames and source",
    "dis": "inspects bytecode",
    "atexit": "registers exit handlers",
    "pty": "starts other programs",
    "marshal": "loads code objects",
    "pickle": "unpickles arbitrary objects",
    "shelve": "unpickles arbitrary objects",
    "code": "runs an interactive interpreter",
    "codeop": "compiles code dynamically",
    "types": "builds functions and code objects by hand",
}
DYNAMIC_CALLS = {
    "exec": "runs dynamically built code (exec)",
    "eval": "runs dynamically built code (eval)",
    "compile": "compiles dynamically built code",
    "__import__": "imports modules dynamically",
    "get_ipython": "reaches the IPython shell object",
    "setattr": "sets attributes by name (setattr)",
    "delattr": "deletes attributes by name (delattr)",
    "globals": "reaches the notebook's global namespace by hand",
    "vars": "reaches a namespace by hand (vars)",
    "breakpoint": "starts a debugger",
}
# Built-ins that are flagged when called; naming one without calling it makes an alias that would
# hide the call (``operator = __import__``).
ALIASED_BUILTINS = set(DYNAMIC_CALLS)
OS_CALLS = {"_exit", "kill", "killpg", "fork", "forkpty", "system", "popen", "execv", "execve", "execl",
            "execlp", "execvp", "execvpe", "spawnv", "spawnl", "spawnve", "posix_spawn", "setsid", "abort",
            "unlink", "remove", "rmdir", "rename", "replace", "chmod", "symlink", "link", "truncate"}
# Built-in names that test cells use: a learner's global of that name changes every later test.
TEST_BUILTINS = {
    "isinstance", "issubclass", "len", "set", "frozenset", "all", "any", "abs", "sum", "min", "max",
    "round", "float", "int", "str", "bool", "type", "list", "dict", "tuple", "sorted", "repr", "range",
    "zip", "enumerate", "map", "filter", "callable", "object", "super", "getattr", "hasattr", "print",
    "AssertionError", "Exception", "BaseException", "NotImplementedError", "ValueError", "TypeError",
    "KeyError", "NameError", "AttributeError", "StopIteration", "__import__", "__builtins__",
    "exec", "eval", "compile", "open", "iter", "next", "id", "hash", "format",
}
# Names the tests rely on being the real modules / helpers.
TEST_NAMES = {"np", "pd", "numpy", "pandas", "plt", "math", "answered", "passed", "labs", "feedback"}
STRING_TELLS = ("gradebook", "nbgrader", "/source", "../", "autograded", "submitted/", "release/",
                "input_transformers", "ast_transformers", "settrace", "setprofile", "__builtins__",
                "showtraceback", "sqlite", "os._exit", "_exit", "excepthook")
CONSTANT_DUNDERS = {"__eq__", "__ne__", "__bool__", "__contains__", "__lt__", "__le__", "__gt__", "__ge__",
                    "__len__", "__hash__", "__array_ufunc__", "__array_function__", "__getattr__",
                    "__getattribute__"}
ALWAYS_FLAGGED_DUNDERS = {"__instancecheck__", "__subclasscheck__", "__init_subclass__", "__del__",
                          "__array_ufunc__", "__array_function__", "__array_priority__", "__set_name__"}
ALLOWED_MAGICS = {"time", "timeit", "matplotlib", "pinfo", "pinfo2", "psearch", "who", "whos", "precision",
                  "pip", "conda", "pwd", "ls", "history", "lsmagic", "magic", "page"}


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _constant_body(function) -> bool:
    """True if a function (or lambda) ignores its input and returns one constant."""
    if isinstance(function, ast.Lambda):
        return isinstance(function.body, ast.Constant)
    body = [n for n in function.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return (len(body) == 1 and isinstance(body[0], ast.Return)
            and (body[0].value is None or isinstance(body[0].value, ast.Constant)))


class _Scanner(ast.NodeVisitor):
    def __init__(self):
        self.found: list[str] = []
        self.modules: set[str] = set()          # names bound to imported modules, their members or aliases
        self.values: set[str] = set()           # names the learner assigned a computed value
        self.called: set[int] = set()           # Name nodes that are the function of a call
        self.depth = 0                          # > 0 inside a function or class body

    def flag(self, node, what: str) -> None:
        line = getattr(node, "lineno", 0)
        text = f"line {line}: {what}"
        if text not in self.found:
            self.found.append(text)

    # imports -----------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in SUSPICIOUS_MODULES:
                self.flag(node, f"`import {alias.name}` {SUSPICIOUS_MODULES[top]}")
            self.modules.add(alias.asname or top)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        top = (node.module or "").split(".")[0]
        if top in SUSPICIOUS_MODULES:
            self.flag(node, f"`from {node.module} import ...` {SUSPICIOUS_MODULES[top]}")
        for alias in node.names:
            if alias.name in HOOK_ATTRIBUTES or (top == "os" and alias.name in OS_CALLS):
                self.flag(node, f"imports `{alias.name}`: {HOOK_ATTRIBUTES.get(alias.name, 'a process/file tool')}")
            self.modules.add(alias.asname or alias.name)
        self.generic_visit(node)

    # attribute access --------------------------------------------------------------------
    def visit_Attribute(self, node):
        if node.attr in HOOK_ATTRIBUTES:
            self.flag(node, f"`{_dotted(node) or node.attr}` {HOOK_ATTRIBUTES[node.attr]}")
        root = _root_name(node)
        if root == "os" and node.attr in OS_CALLS:
            self.flag(node, f"`os.{node.attr}` (process or file operation)")
        if root == "sys" and node.attr == "modules":
            self.flag(node, "`sys.modules` (can swap the modules tests import)")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and root is not None and (root in self.modules or root in TEST_NAMES):
            self.flag(node, f"changes `{_dotted(node)}`: monkeypatches a library the tests use")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            target = _dotted(node.value)
            if target in ("sys.modules", "__builtins__") or target.endswith("__dict__") or _root_name(node) in ("sys",):
                self.flag(node, f"writes into `{target}[...]`")
        self.generic_visit(node)

    # calls -------------------------------------------------------------------------------
    def _allowed_magic(self, node) -> bool:
        """``get_ipython().run_line_magic('time', 'code')`` and the like, for an allowed magic:
        what IPython writes for ``%time code``. The shell call itself is IPython's, not the
        learner's; the code the magic runs is scanned like any other."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic", "run_cell_magic")
                and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "get_ipython" and not func.value.args and node.args
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
            return False
        magic = node.args[0].value
        if magic not in ALLOWED_MAGICS:
            return False
        if magic in ("time", "timeit"):
            for code in (a.value for a in node.args[1:]):
                for finding in scan_source(code):
                    self.flag(node, f"in %{magic}: {finding.split(': ', 1)[-1]}")
        return True

    def visit_Call(self, node):
        if self._allowed_magic(node):
            return
        func = node.func
        if isinstance(func, ast.Name):
            self.called.add(id(func))
        name = func.id if isinstance(func, ast.Name) else None
        if name in DYNAMIC_CALLS:
            if name in ("getattr",):
                pass
            self.flag(node, f"`{name}(...)` {DYNAMIC_CALLS[name]}")
        if name in ("getattr", "hasattr") and len(node.args) >= 2:
            attribute = node.args[1]
            if not isinstance(attribute, ast.Constant):
                self.flag(node, f"`{name}` with a computed attribute name (hides which attribute is used)")
            elif isinstance(attribute.value, str) and attribute.value in HOOK_ATTRIBUTES:
                self.flag(node, f"`{name}(..., {attribute.value!r})` {HOOK_ATTRIBUTES[attribute.value]}")
        if isinstance(func, ast.Attribute):
            dotted = _dotted(func)
            if dotted.endswith(("run_line_magic", "run_cell_magic", "magic")) and node.args:
                magic = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
                if magic not in ALLOWED_MAGICS:
                    self.flag(node, f"runs the IPython magic %{magic}")
            elif dotted.endswith(("modules.pop", "modules.update", "modules.setdefault", "modules.clear")):
                self.flag(node, f"`{dotted}(...)` swaps modules the tests import")
            elif func.attr in ("register", "unregister") and "events" in dotted:
                pass  # reported by visit_Attribute on `events`
            if func.attr in ("__setattr__", "__delattr__", "__setitem__") and _root_name(func) in (self.modules | TEST_NAMES | {"sys"}):
                self.flag(node, f"`{dotted}(...)` monkeypatches a library the tests use")
        for argument in node.args:
            if isinstance(argument, ast.Name) and argument.id in (self.modules | TEST_NAMES) and argument.id not in self.values:
                self.flag(node, f"passes the module `{argument.id}` to a function (where it can be patched unseen)")
        self.generic_visit(node)

    # definitions and assignments ---------------------------------------------------------
    def _bind(self, node, name: str) -> None:
        if self.depth:
            return
        if name in TEST_BUILTINS:
            self.flag(node, f"defines a global `{name}`, replacing the built-in that later tests use")
        elif name in TEST_NAMES and not isinstance(node, (ast.Import, ast.ImportFrom)):
            self.flag(node, f"rebinds `{name}`, which later tests use")

    def visit_Assign(self, node):
        """An alias of a library (``x = np``, ``S = pd.Series``) is watched like the library itself."""
        root = _root_name(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        for target in node.targets:
            if not isinstance(target, ast.Name):
                continue
            if root is not None and (root in self.modules or root in TEST_NAMES) and root not in self.values:
                self.modules.add(target.id)
            else:
                self.values.add(target.id)  # a value the learner computed, even if named like an import
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node, node.id)
        elif isinstance(node.ctx, ast.Load) and node.id in ALIASED_BUILTINS and id(node) not in self.called:
            self.flag(node, f"refers to `{node.id}` without calling it (an alias would hide the call)")
        if node.id == "__builtins__":
            self.flag(node, "`__builtins__` changes Python's built-in functions")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in TEST_BUILTINS or name in TEST_NAMES:
                self.flag(node, f"`global {name}`: replaces a name later tests use")
        self.generic_visit(node)

    def _function(self, node):
        self._bind(node, node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node):
        self._bind(node, node.name)
        for item in node.body:
            names, value = [], None
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names, value = [item.name], item
            elif isinstance(item, ast.Assign):
                names = [t.id for t in item.targets if isinstance(t, ast.Name)]
                value = item.value
            for name in names:
                if name in ALWAYS_FLAGGED_DUNDERS:
                    self.flag(item, f"class `{node.name}` defines `{name}` (changes how checks see its objects)")
                elif name in CONSTANT_DUNDERS and isinstance(value, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
                        and _constant_body(value):
                    self.flag(item, f"class `{node.name}`'s `{name}` returns a constant whatever it is compared "
                                    "with (an answer that equals everything)")
                elif name in CONSTANT_DUNDERS and isinstance(value, ast.Constant):
                    self.flag(item, f"class `{node.name}` sets `{name}` to a constant")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            lowered = node.value.lower()
            for tell in STRING_TELLS:
                if tell in lowered:
                    self.flag(node, f"the text {node.value[:60]!r} names grading internals ({tell!r})")
                    break
        self.generic_visit(node)


def python_source(cell_source: str) -> str:
    """A cell's source as Python: IPython syntax (%magics, !commands, ?help) turned into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def scan_source(cell_source: str) -> list[str]:
    """Every test-tampering API used in one cell of learner code, as short human-readable findings.

    Code that does not parse is not a finding (honest learners make syntax errors; the cell then
    simply fails when run).
    """
    try:
        tree = ast.parse(python_source(cell_source))
    except (SyntaxError, ValueError):
        return []
    scanner = _Scanner()
    scanner.visit(tree)
    return scanner.found


def release_code_sources(release_notebook_path: Path) -> set[str]:
    """The code cells of the released notebook (what a learner did not write), stripped."""
    try:
        notebook = nbformat.read(release_notebook_path, as_version=4)
    except Exception:  # noqa: BLE001 - without a release, every non-test cell is scanned
        return set()
    return {cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"}


class ScanLearnerCode(NbGraderPreprocessor):
    """Static scan of learner-written code for APIs that can tamper with tests (see module doc).

    Why static: a tampered kernel can lie about itself, but it cannot change the source it was
    given. Why only learner-written cells: instructor cells (tests, and unchanged release cells)
    are trusted; scanning them would only produce noise. Runs after ``OverwriteCells``, so the code
    scanned is the code that will run. Set ``resources["tamper_release_sources"]`` to the release's
    code cells; without it every non-test code cell is scanned.
    """

    def preprocess(self, nb, resources):
        state = _state(resources)
        release = resources.get("tamper_release_sources") or set()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or _is_test(cell):
                continue
            meta = nbgrader_meta(cell)
            if not meta.get("solution") and cell.source.strip() in release:
                continue
            where = meta.get("grade_id") if meta.get("solution") else f"cell {index + 1} (not in the release)"
            for finding in scan_source(cell.source):
                state["reasons"].append(f"learner code in {where}, {finding}")
        return nb, resources


# =========================================================================== 2. canaries and probes

def _first(lines: list[str], delimiter: str) -> int | None:
    """The index of the first line holding ``delimiter`` (nbgrader's test: the delimiter is in the line)."""
    return next((number for number, line in enumerate(lines) if delimiter in line), None)


def _visible_part(source: str, delimiters: tuple[str, str] = (HIDDEN_BEGIN, HIDDEN_END)) -> tuple[list[str], list[str]]:
    """A test cell's lines before its hidden tests, and its closing ``passed(...)`` lines."""
    lines = source.splitlines()
    cut = _first(lines, delimiters[0])
    if cut is not None:
        head, tail = lines[:cut], lines[cut:]
        close = _first(tail, delimiters[1])
        closing = tail[close + 1:] if close is not None else []
        closing = [line for line in closing if line.strip().startswith("passed(")]
    else:
        head = [line for line in lines if not line.strip().startswith("passed(")]
        closing = [line for line in lines if line.strip().startswith("passed(")]
    return head, closing


def _subject(head: list[str]) -> str | None:
    """The value a test checks: ``result`` if its visible part computes one, else the answered name."""
    text = "\n".join(head)
    if re.search(r"^result\s*=", text, re.M):
        return "result"
    found = re.search(r"answered\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]", text)
    return found.group(1) if found else None


MESSAGES = ("the value does not match the expected result on a second input",
            "check the result again on another sample", "not the value the checks expect",
            "the result differs from the reference on unseen data", "wrong value for at least one case")


def _false_check(test_source: str, subject: str | None, kind: str | None = None) -> str:
    """One check that no answer can pass, written with a checking function the real test uses."""
    a = round(RNG.uniform(0.05, 0.95), 4)
    b = round(a + RNG.choice([-1, 1]) * RNG.uniform(0.11, 0.4), 4)
    message = RNG.choice(MESSAGES)
    kinds = ["plain"]
    if subject:
        kinds.append("subject")
    if "np.allclose" in test_source or "np.isclose" in test_source:
        kinds.append("allclose")
    if "np.testing" in test_source:
        kinds.append("np_testing")
    if "pd.testing" in test_source:
        kinds.append("pd_testing")
    if "isinstance(" in test_source:
        kinds.append("isinstance")
    if ".equals(" in test_source:
        kinds.append("equals")
    kind = kind or RNG.choice(kinds)
    if kind == "subject":
        nonce = f"{secrets.token_hex(3)}" if RNG.random() < 0.5 else repr(b)
        return f"assert {subject} == {nonce!r}, {message!r}" if not nonce[0].isdigit() or "." not in nonce \
            else f"assert {subject} == {nonce}, {message!r}"
    if kind == "allclose":
        return f"assert np.allclose([{a}], [{b}]), {message!r}"
    if kind == "np_testing":
        return f"np.testing.assert_allclose([{a}], [{b}], err_msg={message!r})"
    if kind == "pd_testing":
        return f"pd.testing.assert_series_equal(pd.Series([{a}]), pd.Series([{b}]), obj={message!r})"
    if kind == "isinstance":
        return f"assert isinstance({a}, str), {message!r}"
    if kind == "equals":
        return f"assert pd.Series([{a}]).equals(pd.Series([{b}])), {message!r}"
    return f"assert round({a}, 3) == {b}, {message!r}"


def canary_source(test_source: str, kind: str | None = None,
                  delimiters: tuple[str, str] = (HIDDEN_BEGIN, HIDDEN_END)) -> str:
    """A negative control shaped like ``test_source``: its visible checks, then a false hidden check.

    ``kind`` "subject" compares the learner's value with a random one (catches answers that equal
    everything); None picks at random among the checking functions the real test uses. The false
    check sits between the course's hidden-test ``delimiters``, as a real test's hidden part does.
    """
    head, closing = _visible_part(test_source, delimiters)
    subject = _subject(head)
    check = _false_check(test_source, subject, kind if subject else None)
    begin, end = delimiters
    return "\n".join(head + [f"### {begin}", check, f"### {end}"] + closing)


PROBE = r'''
def _integrity_probe(token):
    import builtins as _b, sys as _s, types as _t, json as _j
    trusted = tuple(p for p in {_s.prefix, _s.base_prefix, __LABS__} if p)
    problems = []
    def origin(obj, depth=0):
        if depth > 3:
            return None
        code = getattr(obj, "__code__", None)
        if isinstance(code, _t.CodeType) and code.co_filename.startswith(("/", "<")):
            return code.co_filename  # (compiled Cython functions carry a relative .pyx name instead)
        for attr in ("__func__", "func", "__wrapped__"):
            inner = getattr(obj, attr, None) if not isinstance(obj, type) else None
            if inner is not None and inner is not obj:
                return origin(inner, depth + 1)
        if isinstance(obj, (_t.BuiltinFunctionType, _t.BuiltinMethodType, _t.MethodWrapperType,
                            _t.WrapperDescriptorType, _t.MethodDescriptorType)):
            return "<builtin>"
        def of_module(name):
            if name == "__main__":
                return "<notebook>"
            module = _s.modules.get(name or "")
            if module is None or name == "builtins":
                return "<builtin>"
            return getattr(module, "__file__", None) or "<builtin>"
        if not isinstance(obj, type) and isinstance(getattr(obj, "__module__", None), str) \
                and type(obj).__module__ != "__main__":
            return of_module(obj.__module__)
        cls = obj if isinstance(obj, type) else type(obj)
        return of_module(getattr(cls, "__module__", None))
    def untrusted(obj):
        where = origin(obj)
        return (where is not None and where != "<builtin>" and not str(where).startswith("<frozen ")
                and not str(where).startswith(trusted))
    def check(label, obj):
        if untrusted(obj):
            problems.append(label)
    if _s.gettrace() is not None:
        problems.append("sys.settrace tracer active")
    if _s.getprofile() is not None:
        problems.append("sys.setprofile hook active")
    for hook in ("excepthook", "displayhook", "breakpointhook"):
        check(f"sys.{hook}", getattr(_s, hook))
    for name, value in vars(_b).items():
        if callable(value) or isinstance(value, type):
            check(f"builtins.{name}", value)
    ip = get_ipython()
    for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        for item in getattr(ip, attr, []):
            check(f"IPython {attr}", item)
    manager = getattr(ip, "input_transformer_manager", None)
    for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
        for item in getattr(manager, attr, []):
            check(f"IPython input_transformer_manager.{attr}", item)
    for event, callbacks in getattr(ip.events, "callbacks", {}).items():
        for item in callbacks:
            check(f"IPython event {event}", item)
    for obj, label in ((ip, "shell"), (getattr(ip, "kernel", None), "kernel"), (getattr(ip, "display_pub", None), "display_pub"),
                       (getattr(ip, "displayhook", None), "displayhook"), (_s.stdout, "stdout"), (_s.stderr, "stderr")):
        if obj is None:
            continue
        check(f"{label} class", type(obj))
        for name, value in list(vars(obj).items()):
            if callable(value) and not isinstance(value, type):
                check(f"{label}.{name}", value)
        for klass in type(obj).__mro__:
            for name, value in list(vars(klass).items()):
                if isinstance(value, (_t.FunctionType, staticmethod, classmethod)):
                    check(f"{label} class {klass.__name__}.{name}", getattr(value, "__func__", value))
    for name, module in list(_s.modules.items()):
        if not isinstance(module, _t.ModuleType):
            if untrusted(module):
                problems.append(f"sys.modules[{name!r}] is not a module")
            continue
        path = getattr(module, "__file__", None)
        if path and not str(path).startswith(trusted) and name != "__main__":
            problems.append(f"module {name} loaded from {path}")
    watched = [m for m in ("numpy", "numpy.testing", "pandas", "pandas.testing", "pandas.api.types", "math",
                           "labs.feedback", "operator", "functools", "inspect", "sys", "os") if m in _s.modules]
    for name in watched:
        for attr, value in list(vars(_s.modules[name]).items()):
            if callable(value):
                check(f"{name}.{attr}", value)
    pandas = _s.modules.get("pandas")
    if pandas is not None:
        for klass in (pandas.Series, pandas.DataFrame, pandas.Index, pandas.core.generic.NDFrame,
                      pandas.core.base.IndexOpsMixin, pandas.core.arraylike.OpsMixin):
            for attr, value in list(vars(klass).items()):
                if callable(value) or isinstance(value, (property, staticmethod, classmethod)):
                    check(f"pandas {klass.__name__}.{attr}", getattr(value, "fget", None) or getattr(value, "__func__", value))
    print(token + " " + _j.dumps(sorted(set(problems))[:20]))
_integrity_probe(__TOKEN__)
del _integrity_probe
'''


def probe_source(token: str) -> str:
    import labs

    labs_dir = str(Path(labs.__file__).resolve().parent)
    return PROBE.replace("__TOKEN__", repr(token)).replace("__LABS__", repr(labs_dir)).strip()


def _new_id() -> str:
    return str(uuid.uuid4())


class InsertCanaries(NbGraderPreprocessor):
    """Insert negative controls (canaries) and integrity probes, and hide every cell's id.

    Why canaries: the one thing every test-tampering trick must do to gain points is make a test
    that should fail *not* fail. A canary is a test that must fail for every answer; if it does not,
    the kernel was tampered with. To be useful it must be indistinguishable from real tests to code
    running in the kernel, which sees only cell sources, execution order and cell ids (nbclient sends
    them; notebook metadata never reaches the kernel). So a canary reuses the real test's visible
    code and its checking functions, sits just before or after it at random, and all cell ids are
    replaced by random ones while the kernel runs.

    Why probes: some tampering leaves traces a later cell can see (a tracer, a registered input
    transformer, a patched ``np.allclose``). A probe prints a per-submission token and the list of
    such traces; a missing token means its output was suppressed or its code rewritten.
    """

    def preprocess(self, nb, resources):
        state = _state(resources)
        tests = [index for index, cell in enumerate(nb.cells)
                 if _is_test(cell) and float(nbgrader_meta(cell).get("points", 0) or 0) > 0]
        plan: dict[int, list[tuple[str, nbformat.NotebookNode]]] = {}   # index -> cells to put before it
        end: list[nbformat.NotebookNode] = []

        def add(position: int, kind: str, cell) -> None:
            cell.metadata.setdefault(MARK, {"kind": kind})
            if position >= len(nb.cells):
                end.append(cell)
            else:
                plan.setdefault(position, []).append(cell)

        state["canaries"] = 0
        delimiters = hidden_test_delimiters(self.config)
        for index in tests:
            real = nb.cells[index]
            for kind in ("subject", None):   # one on the learner's value, one with the test's own tools
                canary = nbformat.v4.new_code_cell(canary_source(real.source, kind, delimiters))
                canary.metadata = copy.deepcopy(real.metadata)
                canary.metadata["nbgrader"]["grade_id"] = f"{nbgrader_meta(real)['grade_id']}-{secrets.token_hex(4)}"
                canary.metadata[MARK] = {"kind": "canary", "after": nbgrader_meta(real)["grade_id"]}
                add(index if RNG.random() < 0.5 else index + 1, "canary", canary)
                state["canaries"] += 1
        tokens = []
        spots = [RNG.choice(tests) + 1] if tests else []
        for position in spots + [len(nb.cells)]:
            token = secrets.token_hex(8)
            tokens.append(token)
            add(position, "probe", nbformat.v4.new_code_cell(probe_source(token)))
        state["tokens"] = tokens

        cells = []
        for index, cell in enumerate(nb.cells):
            for _, extra in [(None, c) for c in plan.get(index, [])]:
                cells.append(extra)
            cells.append(cell)
        cells += end
        nb.cells = cells
        # Hide ids: the kernel receives each cell's id; random ids for all make inserted cells unremarkable.
        state["ids"] = []
        for cell in nb.cells:
            state["ids"].append(cell.get("id"))
            cell["id"] = _new_id()
        return nb, resources


def _has_error(cell) -> bool:
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def _stdout(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")


class CheckCanaries(NbGraderPreprocessor):
    """After execution: judge canaries and probes, then remove them and restore the cell ids.

    Runs after nbgrader's own output tidying so a canary is judged on the very outputs a real test
    would be scored on. A canary "passes" (and so reveals tampering) if it has no error output:
    an honest kernel always raises in it, whatever the answer. A probe must print its token and an
    empty list. Inserted cells are removed before scoring: they never change points.
    """

    def preprocess(self, nb, resources):
        state = _state(resources)
        ids = state.get("ids") or []
        if len(ids) == len(nb.cells):
            for cell, original in zip(nb.cells, ids):
                if original is None:
                    cell.pop("id", None)
                else:
                    cell["id"] = original
        kept, passed_canaries, probe_reports = [], [], []
        for cell in nb.cells:
            mark = cell.get("metadata", {}).get(MARK)
            if not mark:
                kept.append(cell)
                continue
            if mark.get("kind") == "canary":
                if not _has_error(cell):
                    passed_canaries.append(mark.get("after", "?"))
            elif mark.get("kind") == "probe":
                probe_reports.append(_stdout(cell))
        nb.cells = kept
        if passed_canaries:
            state["reasons"].append(
                f"{len(passed_canaries)} of {state.get('canaries', 0)} negative-control checks did not fail "
                f"(next to {', '.join(sorted(set(passed_canaries)))}): checks that no answer can pass were "
                "passed, so the kernel's test machinery was altered"
            )
        for token, report in zip(state.get("tokens", []), probe_reports):
            line = next((line for line in report.splitlines() if line.startswith(token + " ")), None)
            if line is None:
                state["reasons"].append("an integrity probe printed no report (its output was suppressed or "
                                        "its code was rewritten)")
                continue
            try:
                problems = json.loads(line[len(token) + 1:])
            except ValueError:
                problems = ["unreadable report"]
            if problems:
                state["reasons"].append("integrity probe found: " + "; ".join(map(str, problems)))
        return nb, resources


BEFORE_EXECUTE = (ScanLearnerCode, InsertCanaries)
AFTER_EXECUTE = (CheckCanaries,)
