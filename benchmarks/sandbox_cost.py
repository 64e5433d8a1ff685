"""What the bubblewrap sandbox costs: kernel start, and grading time of the same cohort with and without it.

1. Kernel start: starts N plain kernels and N sandboxed kernels (``autograder.grading.sandbox``) one after
   another and prints the median time until each answers ``kernel_info``.
2. Grading: builds one cohort of honest lab-01 submissions (solution, alternatives, wrong, blank,
   repeated to --learners), copies it into two identical courses, and times `autograder grade`
   (sandboxed, the default) and `autograder grade --unsafe-no-sandbox` on them, one after the other.
   Tamper detection runs in both; only the sandbox differs. Scores must agree.

Run: .venv/bin/python benchmarks/sandbox_cost.py [--learners 12] [--workers 2] [--kernels 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import attacks as corpus  # noqa: E402
from autograder.curriculum import load_curriculum  # noqa: E402


def kernel_start_times(count: int) -> tuple[list[float], list[float]]:
    from jupyter_client import KernelManager
    from jupyter_core.utils import run_sync

    from autograder.grading.sandbox import Sandbox

    plain, boxed = [], []
    sandbox = Sandbox.start()
    for _ in range(count):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            manager = KernelManager(kernel_name="python3", transport="ipc", ip=f"{folder}/k")
            manager.start_kernel(cwd=folder)
            client = manager.blocking_client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            plain.append(time.perf_counter() - started)
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            manager = sandbox.kernel_manager(Path(folder))
            run_sync(manager.start_kernel)()
            client = manager.client()
            client.start_channels()
            run_sync(client.wait_for_ready)(timeout=60)
            boxed.append(time.perf_counter() - started)
            client.stop_channels()
            run_sync(manager.shutdown_kernel)(now=True)
    return plain, boxed


def grade(course: Path, workers: int, *extra: str) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "grade", corpus.LAB,
                             "--workers", str(workers), "--no-progress", *extra],
                            env=env, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kernels", type=int, default=5)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()

    plain, boxed = kernel_start_times(args.kernels)
    print(f"kernel start (median of {args.kernels}): plain {statistics.median(plain):.2f} s, "
          f"sandboxed {statistics.median(boxed):.2f} s")

    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="sandbox-cost-"))
    boxed_course = corpus.make_course(workspace / "sandboxed")
    curriculum = load_curriculum(boxed_course)
    import nbformat

    honest = corpus.base_notebooks(curriculum, nbformat.read(boxed_course / "release" / corpus.LAB / corpus.NOTEBOOK,
                                                             as_version=4))
    names = list(corpus.CONTROLS)
    for i in range(args.learners):
        corpus.write_submission(boxed_course, f"learner-{i:03d}", honest[names[i % len(names)]])
    plain_course = workspace / "unsandboxed"
    shutil.copytree(boxed_course, plain_course)

    help_text = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], capture_output=True,
                               text=True).stdout
    if "--unsafe-no-sandbox" not in help_text:
        print("`autograder grade` has no --unsafe-no-sandbox option yet: only the kernel start was measured.")
        return 0
    boxed_seconds, boxed_run = grade(boxed_course, args.workers)
    plain_seconds, plain_run = grade(plain_course, args.workers, "--unsafe-no-sandbox")
    for label, run in (("sandboxed", boxed_run), ("unsandboxed", plain_run)):
        if run.returncode != 0:
            print(f"{label} run failed:\n{run.stderr[-2000:]}")
            return 1
    same = corpus.auto_scores(boxed_course / "gradebook.db") == corpus.auto_scores(plain_course / "gradebook.db")
    print(f"grading {args.learners} lab-01 submissions with {args.workers} workers: sandboxed {boxed_seconds:.1f} s, "
          f"unsandboxed {plain_seconds:.1f} s, cost {boxed_seconds - plain_seconds:+.1f} s "
          f"({(boxed_seconds / plain_seconds - 1) * 100:+.0f} %); scores identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
