"""Run every ready lab's solution notebook once, one after another, and print its cost.

Prints wall time, the kernel's peak resident memory (Linux VmHWM) and each figure as a share of
the lab budget in the authoring guide (60 s and 2 GB on 2 cores). Rerun with:

    .venv/bin/python benchmarks/lab_runtimes.py [LAB_ID ...]

The figures depend on the machine and on what else it is doing; run it on a quiet machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from autograder.curriculum import load_curriculum

BUDGET_SECONDS = 60
BUDGET_MB = 2048
PEAK_PROBE = (
    "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
)


def measure(path: Path) -> tuple[float, float]:
    """Execute ``path`` in a fresh kernel; return (seconds, peak MB of the kernel process)."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_PROBE))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as sockets:  # ipc sockets: no TCP port, no kernel warning
        manager = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        try:
            NotebookClient(notebook, km=manager, timeout=600,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:  # nbclient shuts down only the kernels it started itself
            run_sync(manager.shutdown_kernel)(now=True)
    seconds = time.perf_counter() - started
    peak_kb = int(notebook.cells[-1].outputs[0]["text"].strip())
    return seconds, peak_kb / 1024


def main(lab_ids: list[str]) -> int:
    curriculum = load_curriculum(Path(__file__).resolve().parents[1])
    labs = [curriculum.lab(i) for i in lab_ids] if lab_ids else list(curriculum.ready_labs)
    print(f"{'lab':<24} {'seconds':>8} {'of 60 s':>8} {'peak MB':>8} {'of 2 GB':>8}")
    for lab in labs:
        seconds, peak = measure(curriculum.source_notebook(lab))
        print(f"{lab.id:<24} {seconds:>8.1f} {seconds / BUDGET_SECONDS:>8.0%} {peak:>8.0f} {peak / BUDGET_MB:>8.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
