"""The untrusted side of grading: run one learner's notebook in a fresh kernel, in its own folder.

Everything here runs in a grading worker process, never in the process that writes the gradebook.
A submission goes through nbgrader's own preprocessors in nbgrader's order, so the executed
notebook is the one stock ``nbgrader autograde`` would score:

  sanitize: ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata
  execute:  nbgrader's Execute (nbclient), with a per-cell timeout
  tidy:     IgnorePattern (if configured), DropLibraryWarnings (ours), LimitOutput

Differences from stock, each on purpose: a wall-clock budget for the whole notebook (stock has
none), a per-cell timeout sized for ML training (stock: 30 s, then the cell silently fails),
library warnings removed from stderr (stock zeroes a correct answer for them), and a dead kernel or
corrupt file reported as a status and reason instead of a traceback in a log.

A kernel is started by the launcher given to :class:`KernelPrestarter` (a plain local kernel, or
one inside a bubblewrap sandbox with this client outside, over ZeroMQ ipc); each worker process
holds its own :class:`Worker` (config, launcher, prestarter), in the local pool and on Dask. It
keeps one kernel booting ahead of time (:class:`KernelPrestarter`) in an empty folder that becomes
the next submission's working copy, so kernel start overlaps the previous notebook's run; a kernel
is never reused across learners.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import secrets
import signal
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import (
    CheckCellMetadata, ClearOutput, DeduplicateIds, Execute, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec,
)
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from autograder.grading.outcomes import CORRUPT, FAILED, GRADED, TIMEOUT
from autograder.grading import tamper
from autograder.nbcells import HIDDEN_BEGIN, HIDDEN_END, hidden_test_delimiters
from autograder.grading.sandbox import KERNEL_RUNTIME_FOLDER, Limits, Sandbox, SandboxedKernelManager

DEFAULT_CELL_TIMEOUT = 600        # seconds: a model-training cell may legitimately take minutes
DEFAULT_NOTEBOOK_BUDGET = 1800    # seconds of wall clock for one notebook, kernel start included
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
IGNORED_FILES = {".ipynb_checkpoints", "__pycache__", "timestamp.txt", KERNEL_RUNTIME_FOLDER}


# --------------------------------------------------------------------------- kernel launch (pluggable)

def launch_local_kernel(kernel_name: str, workdir: Path, env: dict[str, str]) -> AsyncKernelManager:
    """Start a kernel as a plain child process whose working directory is ``workdir``.

    The default launcher of :class:`KernelPrestarter`; any other (e.g. :func:`sandboxed_launcher`)
    must also return a started kernel manager that nbclient can connect to. The kernel talks over
    ZeroMQ's ``ipc`` transport (Unix sockets in a folder beside, not inside, the working copy): no
    TCP port is opened, and the same transport
    crosses a sandbox boundary. The kernel's own log goes to ``kernel.log`` there, not to the console.
    """
    sockets = Path(tempfile.mkdtemp(prefix="ipc-", dir=workdir.parent))
    check_socket_folder(sockets)
    manager = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(sockets / "k"))
    log = open(sockets / "kernel.log", "wb")
    try:
        run_sync(manager.start_kernel)(cwd=str(workdir), env=env, extra_arguments=list(KERNEL_ARGUMENTS),
                                       stdout=log, stderr=log)
    finally:
        log.close()
    manager.autograder_sockets = sockets
    return manager


# Variables of the grader's kernel environment that cross into a sandbox (its environment starts empty).
SANDBOX_PASSED_ENV = ("NBGRADER_EXECUTION", "MPLBACKEND", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                      "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def sandboxed_launcher(sandbox: Sandbox) -> Callable[[str, Path, dict[str, str]], AsyncKernelManager]:
    """A kernel launcher that starts each kernel inside ``sandbox`` (see autograder/grading/sandbox.py).

    The kernel's connection file and ipc sockets live in the working copy's ``.kernel`` folder,
    because the working copy is the only folder the sandbox shares with the grader.
    """
    def launch(kernel_name: str, workdir: Path, env: dict[str, str]) -> AsyncKernelManager:
        passed = {name: env[name] for name in SANDBOX_PASSED_ENV if name in env}
        check_socket_folder(workdir / KERNEL_RUNTIME_FOLDER)
        manager = sandbox.kernel_manager(workdir, kernel_name, env=passed)
        run_sync(manager.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS))
        manager.autograder_sockets = workdir / KERNEL_RUNTIME_FOLDER
        return manager
    return launch


def kernel_environment(threads_per_kernel: int | None = None) -> dict[str, str]:
    """The kernel's environment: nbgrader's autograde marker, and numeric libraries held to a
    fair share of the cores so that parallel kernels do not oversubscribe the machine.

    The caps are set, not defaulted: a Dask nanny puts OMP_NUM_THREADS=1 into its worker's own
    environment, and kernels must get the same caps on every back end."""
    env = dict(os.environ)
    env["NBGRADER_EXECUTION"] = "autograde"
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if threads_per_kernel:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env[name] = str(threads_per_kernel)
    return env


def stop_kernel(manager: AsyncKernelManager | None) -> None:
    """Kill a kernel at once: its learner is done, and nothing in it is worth a polite shutdown."""
    if manager is None:
        return
    try:
        run_sync(manager.shutdown_kernel)(now=True)
    except Exception:
        kill_kernel(manager)
    sockets = getattr(manager, "autograder_sockets", None)
    if sockets is not None:
        shutil.rmtree(sockets, ignore_errors=True)


def kill_kernel(manager: AsyncKernelManager) -> None:
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    if process is not None and process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class KernelStartError(RuntimeError):
    """A kernel could not be started for a submission; the message says why."""


# Unix socket paths are limited to about 107 bytes; the kernel's longest is "<folder>/ipc-<port>".
MAX_SOCKET_FOLDER = 90


def short_scratch_root() -> Path:
    """A folder for working copies whose paths stay short whatever TMPDIR is: /tmp when it can be
    written, else the temp folder (checked at each kernel start)."""
    tmp = Path("/tmp")
    return tmp if tmp.is_dir() and os.access(tmp, os.W_OK) else Path(tempfile.gettempdir())


def check_socket_folder(folder: Path) -> None:
    if len(str(folder)) > MAX_SOCKET_FOLDER:
        raise KernelStartError(f"the kernel's socket folder {folder} is longer than {MAX_SOCKET_FOLDER} "
                               "characters (Unix sockets allow about 107): grade from a shorter temp folder.")


class KernelPrestarter:
    """One fresh kernel always booting ahead, in an empty folder that becomes the next working copy.

    When a submission takes it, its folder is filled; a plain kernel sees the files at once, a
    sandboxed one copies them into its own working copy before any cell runs
    (``SandboxedKernelManager.copy_submission_in``). ``prestart=False`` starts each kernel only
    when it is taken (benchmarks use it to time a kernel's start).
    """

    def __init__(self, scratch: Path, env: dict[str, str], kernel_name: str = "python3", prestart: bool = True,
                 launcher: Callable[[str, Path, dict[str, str]], AsyncKernelManager] | None = None):
        self.scratch = Path(scratch)
        self.env = env
        self.kernel_name = kernel_name
        self.prestart = prestart
        self.launcher = launcher or launch_local_kernel
        self.ready: tuple[AsyncKernelManager, Path] | None = None

    def _start(self, kernel_name: str) -> tuple[AsyncKernelManager, Path]:
        workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=self.scratch))
        return self.launcher(kernel_name, workdir, self.env), workdir

    def take(self, kernel_name: str, workdir_filler: Callable[[Path], None]) -> tuple[AsyncKernelManager, Path]:
        """A started kernel for ``kernel_name`` whose folder ``workdir_filler`` has filled;
        starts the next one before returning, so it boots while this one runs."""
        if self.ready is not None and self.ready[0].kernel_name == kernel_name:
            manager, workdir = self.ready
            self.ready = None
        else:
            workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=self.scratch))
            manager = self.launcher(kernel_name, workdir, self.env)
        try:
            workdir_filler(workdir)
            if isinstance(manager, SandboxedKernelManager):
                run_sync(manager.copy_submission_in)()
        except BaseException:
            stop_kernel(manager)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        if self.ready is None and self.prestart:
            try:
                self.ready = self._start(self.kernel_name)
            except Exception:
                self.ready = None
        return manager, workdir

    def close(self) -> None:
        if self.ready is not None:
            stop_kernel(self.ready[0])
            shutil.rmtree(self.ready[1], ignore_errors=True)
            self.ready = None


# --------------------------------------------------------------------------- preprocessors

WARNING_LINE = re.compile(r"^.*?:\d+: [A-Za-z_]*Warning: .*$")


class DropLibraryWarnings(NbGraderPreprocessor):
    """Remove Python warnings from stderr so that a library's warning does not zero a correct answer.

    nbgrader scores a test cell 0 if it wrote anything to stderr. Only lines in Python's warning
    format (``file.py:12: FutureWarning: ...`` and the indented source line after it) are removed;
    any other stderr text stays and still counts, as with stock nbgrader.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                text = strip_warnings(output.text)
                if not text.strip():
                    continue
                output.text = text
            kept.append(output)
        cell.outputs = kept
        return cell, resources


def strip_warnings(text: str) -> str:
    lines, kept, skip_source = text.splitlines(keepends=True), [], False
    for line in lines:
        if WARNING_LINE.match(line.rstrip("\n")):
            skip_source = True
            continue
        if skip_source and line.startswith(("  ", "\t")):
            skip_source = False
            continue
        skip_source = False
        kept.append(line)
    return "".join(kept)


class MarkHiddenTests(NbGraderPreprocessor):
    """Make a test cell print a secret marker as its hidden tests start, and another as they end.

    The feedback page shows a learner what a check printed, but nothing printed while hidden tests
    ran (a learner who prints inside their function would otherwise see the hidden tests' inputs).
    The markers, random per submission and kept in the cell's metadata, are where the feedback
    cuts; a learner cannot forge one they never see.
    """

    def preprocess(self, nb, resources):
        self.delimiters = hidden_test_delimiters(self.config)  # the course's, as nbgrader reads them
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.delimiters[0] not in cell.source:
            return cell, resources
        begin, end = (f"aicl-{kind}-{secrets.token_hex(12)}" for kind in ("hidden", "visible"))
        cell.source = announce_hidden_tests(cell.source, begin, end, self.delimiters)
        cell.metadata.setdefault("autograder", {})["hidden_markers"] = [begin, end]
        return cell, resources


def announce_hidden_tests(source: str, begin: str, end: str | None = None,
                          delimiters: tuple[str, str] = (HIDDEN_BEGIN, HIDDEN_END)) -> str:
    """A test cell's source that prints ``begin`` as its hidden tests start (and ``end`` as they
    end), each print indented like the ``delimiters`` line it follows."""
    lines = []
    for line in source.splitlines():
        lines.append(line)
        indent = line[: len(line) - len(line.lstrip())]
        if delimiters[0] in line:
            lines.append(f"{indent}print({begin!r}, flush=True)")
        elif delimiters[1] in line and end is not None:
            lines.append(f"{indent}print({end!r}, flush=True)")
    return "\n".join(lines)


ACTIVE_MIME_TYPES = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-view+json",
                     "application/vnd.jupyter.widget-state+json", "text/html", "image/svg+xml",
                     "text/markdown", "text/latex")


class NeutraliseActiveContent(NbGraderPreprocessor):
    """Keep what learners wrote inert before anything trusted renders it (formgrader, feedback).

    Outputs that a browser would run or render as markup (HTML, JavaScript, SVG, widgets, and
    Markdown, which may hold HTML) are dropped; their plain-text form stays, or a note if there is
    none. Images (PNG, JPEG) and text are kept, so plots and tables still show. In a learner's
    written (Markdown) answer, every ``<`` becomes ``&lt;``: the text reads the same, but no tag in
    it is a tag any more.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("<", "&lt;")
            return cell, resources
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            dropped = [mime for mime in list(data) if mime in ACTIVE_MIME_TYPES or "javascript" in mime]
            for mime in dropped:
                del data[mime]
            if dropped and not data:
                data["text/plain"] = f"[{', '.join(dropped)} output removed by the grader]"
        return cell, resources


class GradingExecute(Execute):
    """nbgrader's Execute, with two limits stock lacks, both applied while the notebook runs.

    - Output is capped per cell as it arrives (stock's LimitOutput trims only afterwards, so a
      flood could exhaust the worker's memory first): past the cap, outputs are dropped and one
      note says so.
    - After a cell runs past its timeout, the remaining code cells are not run: each gets an
      error output (so a test cell scores 0, as it would had it run and failed), instead of a
      runaway submission holding a worker for one timeout per cell.
    """

    max_output_bytes = 2_000_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[int, int] = {}
        self.capped: set[int] = set()
        self.timed_out_in: int | None = None

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self.output_bytes.get(cell_index, 0) + size
        self.output_bytes[cell_index] = used
        if used > self.max_output_bytes:
            if cell_index not in self.capped:
                self.capped.add(cell_index)
                outs.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"\n[output cut by the grader: more than {self.max_output_bytes:,} characters]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.timed_out_in is not None and cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="NotRun", evalue=f"not run: cell {self.timed_out_in} ran past the time limit",
                traceback=[f"NotRun: not run, because cell {self.timed_out_in} ran past the time limit"])]
            return cell
        cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            self.timed_out_in = cell_index
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbconvert calls the sync form, bound at class creation


SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)
TIDIERS = (IgnorePattern, DropLibraryWarnings, NeutraliseActiveContent, LimitOutput)


# --------------------------------------------------------------------------- one submission

@dataclass
class Task:
    """What a worker needs to grade one notebook of one submission (all plain, picklable data)."""

    student: str
    lab: str
    notebook: str                 # notebook name without .ipynb
    submitted_dir: str            # submitted/<student>/<lab>
    release_dir: str              # release/<lab>: what learners were given (never source/)
    db_url: str                   # a read-only snapshot of the gradebook
    cell_timeout: int = DEFAULT_CELL_TIMEOUT
    notebook_budget: int = DEFAULT_NOTEBOOK_BUDGET


def fill_working_copy(task: Task) -> Callable[[Path], None]:
    """Copy the submission's extra files, then the released lab's files over them (as nbgrader
    does with its source folder; the release is what learners have, and never holds solutions).

    Only regular files and folders are copied, never through a link: a link or a device in a
    submission must not make the trusted side read the instructor's files.
    """
    def fill(workdir: Path) -> None:
        for folder in (Path(task.submitted_dir), Path(task.release_dir)):
            if not folder.is_dir() or folder.is_symlink():
                continue
            for path in folder.rglob("*"):
                relative = path.relative_to(folder)
                if path.suffix == ".ipynb" or IGNORED_FILES & set(relative.parts):
                    continue
                mode = path.lstat().st_mode
                target = workdir / relative
                if stat.S_ISDIR(mode):
                    target.mkdir(parents=True, exist_ok=True)
                elif stat.S_ISREG(mode):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(read_regular_file(path))
    return fill


class NotARegularFile(OSError):
    """A submitted path is a link, a device or a pipe: it is refused, never followed."""


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file, read without following a link at any step
    of the last component (O_NOFOLLOW) and checked on the open file itself (no race)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if path.is_symlink():
            raise NotARegularFile(f"{path} is a symbolic link") from error
        raise
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFile(f"{path} is not a regular file")
        return handle.read()


class _Watchdog:
    """Kill the kernel when the notebook's wall-clock budget runs out."""

    def __init__(self, manager, budget: float):
        self.fired = False
        self._timer = threading.Timer(budget, self._fire, args=(manager,))
        self._timer.daemon = True

    def _fire(self, manager):
        self.fired = True
        kill_kernel(manager)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def with_cell_timeout(config: Config, seconds: int) -> Config:
    """``config`` with the grader's per-cell limit set for :class:`GradingExecute`.

    Set through configuration, not on the instance: nbconvert's ``ExecutePreprocessor.preprocess``
    calls ``NotebookClient.__init__`` again, which re-applies the configuration and would replace
    an instance's ``timeout`` with a course's ``c.Execute.timeout``. Configuration for the subclass
    wins over its parents', so the course cannot loosen (or remove) the grader's limit.
    """
    limited = copy.deepcopy(config)
    limited.GradingExecute.timeout = seconds
    return limited


def read_submission(task: Task) -> tuple[nbformat.NotebookNode | None, str]:
    """The submitted notebook, or why it cannot be graded (refused or unreadable: CORRUPT)."""
    path = Path(task.submitted_dir) / f"{task.notebook}.ipynb"
    try:
        return nbformat.reads(read_regular_file(path).decode("utf-8"), as_version=4), ""
    except NotARegularFile as error:
        return None, (f"refused: {error}; submissions are read only as regular files, never through a link. "
                      "Ask the learner to upload the notebook itself.")
    except Exception as error:  # noqa: BLE001 - any parse failure means the file is not a notebook
        return None, (f"{path} is not a readable notebook ({type(error).__name__}: "
                      f"{str(error).splitlines()[0][:120]}). Ask the learner to download it again from Jupyter "
                      "and resubmit.")


def sanitise(notebook, resources: dict, config: Config, task: Task) -> tuple[nbformat.NotebookNode, str]:
    """nbgrader's sanitising steps (SANITIZERS), or why the graded cells cannot be read (CORRUPT)."""
    try:
        for preprocessor in SANITIZERS:
            notebook, resources = preprocessor(config=config)(notebook, resources)
    except Exception as error:  # noqa: BLE001
        return notebook, (f"{Path(task.submitted_dir) / task.notebook}.ipynb: nbgrader could not read its graded "
                          f"cells ({type(error).__name__}: {str(error)[:200]}). The grading metadata was damaged; "
                          "ask the learner to copy their answers into a fresh copy of the released lab.")
    return notebook, ""


def prepare_integrity_checks(notebook, resources: dict, config: Config, task: Task) -> nbformat.NotebookNode:
    """Tamper detection (tamper.py): scan learner-written code, insert canaries and probes.

    The scan's findings stand even if the notebook then fails to run; a failure to prepare the
    checks is itself a finding, since a submission the checks could not prepare is never credited.
    """
    resources["tamper_release_sources"] = tamper.release_code_sources(
        Path(task.release_dir) / f"{task.notebook}.ipynb")
    try:
        for preprocessor in tamper.BEFORE_EXECUTE:
            notebook, resources = preprocessor(config=config)(notebook, resources)
    except Exception as error:  # noqa: BLE001
        resources.setdefault("tamper", {}).setdefault("reasons", []).append(
            f"the integrity checks could not be prepared ({type(error).__name__}: {str(error)[:200]})")
    return notebook


class CellClock:
    """Which cell runs now, and when the first one started (the executor's ``on_cell_start`` hook)."""

    def __init__(self):
        self.index: int | None = None
        self.first_start: float | None = None

    def __call__(self, cell, cell_index):
        self.index = cell_index
        if self.first_start is None:
            self.first_start = time.monotonic()


def dead_kernel_verdict(task: Task, cell: int | None, budget_ran_out: bool, manager) -> tuple[str, str]:
    """The status and reason of a notebook whose kernel died while it ran."""
    if budget_ran_out:
        return TIMEOUT, (f"the notebook ran past its {task.notebook_budget} s budget (stopped in cell {cell}); "
                         "grades left for review. Raise it with --notebook-budget if the lab needs longer.")
    if getattr(manager, "limit_reason", None):
        return FAILED, f"stopped in cell {cell}: the notebook {manager.limit_reason}; grades left for review."
    return FAILED, (f"the kernel died in cell {cell} (a crash, os._exit, or running out of memory); "
                    "grades left for review.")


def limits_reached(notebook, executor: GradingExecute, task: Task) -> tuple[str | None, list[str]]:
    """After a run: a TIMEOUT status if a cell ran past its limit, and notes on output that was cut."""
    timed_out = [cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
                 for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
                 and any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs)]
    reasons = [f"{', '.join(timed_out)} ran past the {task.cell_timeout} s per-cell timeout and scored 0 there, "
               "and the cells after it were not run; raise it with --cell-timeout if the lab needs longer."
               ] if timed_out else []
    if executor.capped:
        reasons.append(f"output cut in {len(executor.capped)} cell(s): more than {executor.max_output_bytes:,} "
                       "characters")
    return (TIMEOUT if timed_out else None), reasons


def run_in_kernel(notebook, resources: dict, config: Config, task: Task, kernels: KernelPrestarter,
                  started: float, result: dict) -> None:
    """Run the notebook in a sandboxed kernel, tidy it and record the outcome in ``result``.

    The notebook's budget counts from ``started`` (reading and the kernel's start included); the
    kernel and its working copy are removed whatever happens.
    """
    executor = GradingExecute(config=with_cell_timeout(config, task.cell_timeout))
    clock = executor.on_cell_start = CellClock()
    manager = workdir = None
    try:
        manager, workdir = kernels.take(notebook.metadata.get("kernelspec", {}).get("name", "python3"),
                                        fill_working_copy(task))
        resources["metadata"]["path"] = str(workdir)
        with _Watchdog(manager, max(1.0, task.notebook_budget - (time.monotonic() - started))) as watchdog:
            try:
                notebook, resources = executor.preprocess(notebook, resources, km=manager)
            except DeadKernelError:
                status, reason = dead_kernel_verdict(task, clock.index, watchdog.fired, manager)
                result.update(status=status, reason=reason)
                return
        for preprocessor in TIDIERS + tamper.AFTER_EXECUTE:
            notebook, resources = preprocessor(config=config)(notebook, resources)
        status, reasons = limits_reached(notebook, executor, task)
        result.update(status=status or result["status"], reason="; ".join(reasons),
                      executed=nbformat.writes(notebook))
    except Exception as error:  # noqa: BLE001 - a learner's notebook must never stop the batch
        result.update(status=FAILED, reason=f"could not run the notebook: {type(error).__name__}: {str(error)[:300]}")
    finally:
        _stop(executor, manager, workdir)
        if clock.first_start is not None:
            result["execution_seconds"] = time.monotonic() - clock.first_start


def _stop(executor: GradingExecute, manager, workdir: Path | None) -> None:
    if executor.kc is not None:
        try:
            executor.kc.stop_channels()
        except Exception:  # noqa: BLE001 - the kernel is being stopped anyway
            pass
    stop_kernel(manager)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def run_submission(task: Task, config: Config, kernels: KernelPrestarter) -> dict:
    """Grade one notebook: read, sanitise, prepare the integrity checks, execute, tidy.

    Returns its status, reason, integrity findings and executed notebook. Never raises for
    anything a learner's file or code can cause: that becomes a status.
    """
    started = time.monotonic()
    result = {"student": task.student, "lab": task.lab, "notebook": task.notebook,
              "status": GRADED, "reason": "", "executed": None, "execution_seconds": 0.0}
    notebook, problem = read_submission(task)
    if notebook is None:
        return {**result, "status": CORRUPT, "reason": problem}
    resources = {"nbgrader": {"student": task.student, "assignment": task.lab, "notebook": task.notebook,
                              "db_url": task.db_url},
                 "metadata": {"path": None}, "unique_key": task.notebook}
    notebook, problem = sanitise(notebook, resources, config, task)
    if problem:
        return {**result, "status": CORRUPT, "reason": problem}
    notebook = prepare_integrity_checks(notebook, resources, config, task)
    result["tamper"] = resources.get("tamper", {}).get("reasons", [])
    notebook, resources = MarkHiddenTests(config=config)(notebook, resources)
    run_in_kernel(notebook, resources, config, task, kernels, started, result)
    return result


# --------------------------------------------------------------------------- worker process

class Worker:
    """Everything one grading worker process needs, built once per process and passed explicitly.

    The local pool's initializer and the Dask back end's worker plugin both build this object, so
    a submission is graded the same way on both: the course's nbgrader config, a kernel launcher
    (sandboxed unless the instructor chose --unsafe-no-sandbox) and a :class:`KernelPrestarter`.
    The constructor only stores; :meth:`start` loads the config, probes the sandbox and boots the
    first kernel; :meth:`close` stops the kernel booting ahead.
    """

    def __init__(self, course_root: str, scratch: str, threads_per_kernel: int,
                 sandbox_limits: Limits | None = None):
        self.course_root = course_root
        self.scratch = scratch
        self.threads_per_kernel = threads_per_kernel
        self.sandbox_limits = sandbox_limits
        self.config: Config | None = None
        self.kernels: KernelPrestarter | None = None

    def start(self, sandbox: Sandbox | None = None) -> "Worker":
        """``sandbox``: one already started (and so probed) for this process's limits, if any."""
        from autograder.course import load_nbgrader_config

        if self.sandbox_limits is None:
            launcher = launch_local_kernel
        else:
            launcher = sandboxed_launcher(sandbox or Sandbox.start(self.sandbox_limits))
        self.config = load_nbgrader_config(Path(self.course_root))
        self.kernels = KernelPrestarter(Path(self.scratch), kernel_environment(self.threads_per_kernel),
                                        launcher=launcher)
        try:
            self.kernels.ready = self.kernels._start("python3")
        except Exception:  # noqa: BLE001 - the next submission starts its own kernel
            self.kernels.ready = None
        return self

    def grade(self, task: Task) -> dict:
        return run_submission(task, self.config, self.kernels)

    def close(self) -> None:
        if self.kernels is not None:
            self.kernels.close()


def _exit_with_parent(parent_pid: int, worker: Worker) -> None:
    """If the grading process is killed (even with SIGKILL), stop this worker and its kernels too.

    A pool worker's own parent is multiprocessing's fork server, so it watches the grader's pid itself.
    """
    def watch():
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                if worker.kernels is not None and worker.kernels.ready is not None:
                    kill_kernel(worker.kernels.ready[0])
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


# The one Worker of this local-pool process (a process pool calls plain functions, so the
# initializer leaves it here once; Dask workers keep theirs in their plugin instead).
_pool_worker: Worker | None = None


def init_worker(worker: Worker, parent_pid: int | None = None) -> None:
    """The local pool's initializer: start this process's :class:`Worker` once."""
    global _pool_worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _pool_worker = worker.start()
    if parent_pid:
        _exit_with_parent(parent_pid, worker)
    # Worker processes end with os._exit, which skips atexit; multiprocessing's finalizers still run.
    from multiprocessing.util import Finalize
    Finalize(worker, worker.close, exitpriority=10)


def grade_in_worker(task: Task) -> dict:
    """Grade one notebook in this pool process's :class:`Worker` (see :func:`init_worker`)."""
    return _pool_worker.grade(task)
