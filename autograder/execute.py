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

The kernel is started in exactly one place, :data:`KERNEL_LAUNCHER`, so a sandboxed launcher
(kernel inside bubblewrap, this client outside, over ZeroMQ ipc) can replace it later. Each worker
keeps one kernel booting ahead of time (:class:`KernelPrestarter`) in an empty folder that becomes
the next submission's working copy, so kernel start overlaps the previous notebook's run; a kernel
is never reused across learners.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
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

from autograder.outcomes import CORRUPT, FAILED, GRADED, TIMEOUT
from autograder import tamper
from autograder.sandbox import KERNEL_RUNTIME_FOLDER, Limits, Sandbox

DEFAULT_CELL_TIMEOUT = 600        # seconds: a model-training cell may legitimately take minutes
DEFAULT_NOTEBOOK_BUDGET = 1800    # seconds of wall clock for one notebook, kernel start included
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
IGNORED_FILES = {".ipynb_checkpoints", "__pycache__", "timestamp.txt", KERNEL_RUNTIME_FOLDER}


# --------------------------------------------------------------------------- kernel launch (pluggable)

def launch_local_kernel(kernel_name: str, workdir: Path, env: dict[str, str]) -> AsyncKernelManager:
    """Start a kernel as a plain child process whose working directory is ``workdir``.

    This is the only place a learner's kernel is started. Replace :data:`KERNEL_LAUNCHER` to run
    it elsewhere (e.g. in a sandbox); the function must return a started kernel manager that
    nbclient can connect to. The kernel talks over ZeroMQ's ``ipc`` transport (Unix sockets in a
    folder beside, not inside, the working copy): no TCP port is opened, and the same transport
    crosses a sandbox boundary. The kernel's own log goes to ``kernel.log`` there, not to the console.
    """
    sockets = Path(tempfile.mkdtemp(prefix="ipc-", dir=workdir.parent))
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
    """A kernel launcher that starts each kernel inside ``sandbox`` (see autograder/sandbox.py).

    The kernel's connection file and ipc sockets live in the working copy's ``.kernel`` folder,
    because the working copy is the only folder the sandbox shares with the grader.
    """
    def launch(kernel_name: str, workdir: Path, env: dict[str, str]) -> AsyncKernelManager:
        passed = {name: env[name] for name in SANDBOX_PASSED_ENV if name in env}
        manager = sandbox.kernel_manager(workdir, kernel_name, env=passed)
        run_sync(manager.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS))
        manager.autograder_sockets = workdir / KERNEL_RUNTIME_FOLDER
        return manager
    return launch


KERNEL_LAUNCHER: Callable[[str, Path, dict[str, str]], AsyncKernelManager] = launch_local_kernel


def kernel_environment(threads_per_kernel: int | None = None) -> dict[str, str]:
    """The kernel's environment: nbgrader's autograde marker, and numeric libraries held to a
    fair share of the cores so that parallel kernels do not oversubscribe the machine."""
    env = dict(os.environ)
    env["NBGRADER_EXECUTION"] = "autograde"
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if threads_per_kernel:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env.setdefault(name, str(threads_per_kernel))
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


class KernelPrestarter:
    """One fresh kernel always booting ahead, in an empty folder that becomes the next working copy."""

    def __init__(self, scratch: Path, env: dict[str, str], kernel_name: str = "python3"):
        self.scratch = Path(scratch)
        self.env = env
        self.kernel_name = kernel_name
        self.ready: tuple[AsyncKernelManager, Path] | None = None

    def _start(self, kernel_name: str) -> tuple[AsyncKernelManager, Path]:
        workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=self.scratch))
        return KERNEL_LAUNCHER(kernel_name, workdir, self.env), workdir

    def take(self, kernel_name: str, workdir_filler: Callable[[Path], None]) -> tuple[AsyncKernelManager, Path]:
        """A started kernel for ``kernel_name`` whose folder ``workdir_filler`` has filled;
        starts the next one before returning, so it boots while this one runs."""
        if self.ready is not None and self.ready[0].kernel_name == kernel_name:
            manager, workdir = self.ready
            self.ready = None
            workdir_filler(workdir)
        else:
            workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=self.scratch))
            workdir_filler(workdir)
            manager = KERNEL_LAUNCHER(kernel_name, workdir, self.env)
        if self.ready is None:
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


SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)
TIDIERS = (IgnorePattern, DropLibraryWarnings, LimitOutput)


# --------------------------------------------------------------------------- one submission

@dataclass
class Task:
    """What a worker needs to grade one notebook of one submission (all plain, picklable data)."""

    student: str
    lab: str
    notebook: str                 # notebook name without .ipynb
    submitted_dir: str            # submitted/<student>/<lab>
    source_dir: str               # source/<lab>
    db_url: str                   # a read-only snapshot of the gradebook
    cell_timeout: int = DEFAULT_CELL_TIMEOUT
    notebook_budget: int = DEFAULT_NOTEBOOK_BUDGET


def fill_working_copy(task: Task) -> Callable[[Path], None]:
    """Copy the submission's extra files, then the lab's own files over them (as nbgrader does)."""
    def fill(workdir: Path) -> None:
        for folder in (Path(task.submitted_dir), Path(task.source_dir)):
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                relative = path.relative_to(folder)
                if path.is_symlink() or path.suffix == ".ipynb" or IGNORED_FILES & set(relative.parts):
                    continue
                target = workdir / relative
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)
    return fill


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


def run_submission(task: Task, config: Config, kernels: KernelPrestarter) -> dict:
    """Sanitize, execute and tidy one notebook; return its status, reason and executed notebook.

    Never raises for anything a learner's file or code can cause: that becomes a status.
    """
    started = time.monotonic()
    path = Path(task.submitted_dir) / f"{task.notebook}.ipynb"
    result = {"student": task.student, "lab": task.lab, "notebook": task.notebook,
              "status": GRADED, "reason": "", "executed": None, "execution_seconds": 0.0}
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any parse failure means the file is not a notebook
        result.update(status=CORRUPT, reason=f"{path} is not a readable notebook ({type(error).__name__}: "
                      f"{str(error).splitlines()[0][:120]}). Ask the learner to download it again from Jupyter and resubmit.")
        return result
    resources = {
        "nbgrader": {"student": task.student, "assignment": task.lab, "notebook": task.notebook,
                     "db_url": task.db_url},
        "metadata": {"path": None},
        "unique_key": task.notebook,
    }
    try:
        for preprocessor in SANITIZERS:
            notebook, resources = preprocessor(config=config)(notebook, resources)
    except Exception as error:  # noqa: BLE001
        result.update(status=CORRUPT, reason=f"{path}: nbgrader could not read its graded cells "
                      f"({type(error).__name__}: {str(error)[:200]}). The grading metadata was damaged; "
                      "ask the learner to copy their answers into a fresh copy of the released lab.")
        return result

    # Tamper detection (tamper.py): scan learner-written code, insert canaries and probes. The scan's
    # findings stand even if the notebook then fails to run.
    resources["tamper_release_sources"] = tamper.release_code_sources(
        Path(task.source_dir).parent.parent / "release" / task.lab / f"{task.notebook}.ipynb")
    try:
        for preprocessor in tamper.BEFORE_EXECUTE:
            notebook, resources = preprocessor(config=config)(notebook, resources)
    except Exception as error:  # noqa: BLE001 - never credit a submission the checks could not prepare
        resources.setdefault("tamper", {}).setdefault("reasons", []).append(
            f"the integrity checks could not be prepared ({type(error).__name__}: {str(error)[:200]})")
    result["tamper"] = resources.get("tamper", {}).get("reasons", [])

    kernel_name = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    manager = workdir = None
    executor = Execute(config=config)
    executor.timeout = task.cell_timeout
    current = {"index": None, "first_start": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index
        if current["first_start"] is None:
            current["first_start"] = time.monotonic()

    executor.on_cell_start = on_cell_start
    try:
        manager, workdir = kernels.take(kernel_name, fill_working_copy(task))
        resources["metadata"]["path"] = str(workdir)
        remaining = max(1.0, task.notebook_budget - (time.monotonic() - started))
        with _Watchdog(manager, remaining) as watchdog:
            try:
                notebook, resources = executor.preprocess(notebook, resources, km=manager)
            except DeadKernelError:
                cell = current["index"]
                if watchdog.fired:
                    result.update(status=TIMEOUT, reason=f"the notebook ran past its {task.notebook_budget} s "
                                  f"budget (stopped in cell {cell}); grades left for review. Raise it with "
                                  "--notebook-budget if the lab needs longer.")
                else:
                    result.update(status=FAILED, reason=f"the kernel died in cell {cell} (a crash, os._exit, "
                                  "or running out of memory); grades left for review.")
                return result
        for preprocessor in TIDIERS + tamper.AFTER_EXECUTE:
            notebook, resources = preprocessor(config=config)(notebook, resources)
        timed_out = [
            cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"
            and any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs)
        ]
        if timed_out:
            result.update(status=TIMEOUT, reason=f"{', '.join(timed_out)} ran past the {task.cell_timeout} s "
                          "per-cell timeout and scored 0 there; raise it with --cell-timeout if the lab "
                          "needs longer.")
        result["executed"] = nbformat.writes(notebook)
    except Exception as error:  # noqa: BLE001 - a learner's notebook must never stop the batch
        result.update(status=FAILED, reason=f"could not run the notebook: {type(error).__name__}: "
                      f"{str(error)[:300]}")
    finally:
        if executor.kc is not None:
            try:
                executor.kc.stop_channels()
            except Exception:
                pass
        stop_kernel(manager)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if current["first_start"] is not None:
            result["execution_seconds"] = time.monotonic() - current["first_start"]
    return result


# --------------------------------------------------------------------------- worker process

_worker: dict = {}


def _exit_with_parent(parent_pid: int, kernels: KernelPrestarter) -> None:
    """If the grading process is killed (even with SIGKILL), stop this worker and its kernels too.

    A worker's own parent is multiprocessing's fork server, so it watches the grader's pid itself.
    """
    def watch():
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                if kernels.ready is not None:
                    kill_kernel(kernels.ready[0])
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def init_worker(course_root: str, scratch: str, threads_per_kernel: int, parent_pid: int | None = None,
                sandbox_limits: Limits | None = None) -> None:
    """Run once in each worker process: load nbgrader's config and boot the first kernel.

    With ``sandbox_limits`` every kernel this worker starts runs in a bubblewrap sandbox with
    those limits; ``None`` means the instructor chose --unsafe-no-sandbox.
    """
    global KERNEL_LAUNCHER
    from autograder.gradebook import load_nbgrader_config

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if sandbox_limits is not None:
        KERNEL_LAUNCHER = sandboxed_launcher(Sandbox(sandbox_limits))
    _worker["config"] = load_nbgrader_config(Path(course_root))
    _worker["kernels"] = KernelPrestarter(Path(scratch), kernel_environment(threads_per_kernel))
    try:
        _worker["kernels"].ready = _worker["kernels"]._start("python3")
    except Exception:
        _worker["kernels"].ready = None
    if parent_pid:
        _exit_with_parent(parent_pid, _worker["kernels"])
    # Worker processes end with os._exit, which skips atexit; multiprocessing's finalizers still run.
    from multiprocessing.util import Finalize
    Finalize(_worker["kernels"], _worker["kernels"].close, exitpriority=10)


def grade_in_worker(task: Task) -> dict:
    return run_submission(task, _worker["config"], _worker["kernels"])
