"""The Dask side of grading: a WorkerPlugin that gives each Dask worker its own grading Worker.

Imported only when ``--cluster`` is used (and by Dask workers when they unpickle the plugin), so
the default local pool never imports Dask.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from pathlib import Path

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from autograder.grading.execute import Task, Worker, short_scratch_root
from autograder.grading.sandbox import Limits, Sandbox

PLUGIN_NAME = "autograder-grading"


class GradingPlugin(WorkerPlugin):
    """Each Dask worker's own :class:`Worker` (nbgrader config, sandboxed launcher, kernel prestarter).

    The sandbox is probed in ``setup``, so a worker where it cannot run makes ``register_plugin``
    fail before anything is graded. The Worker itself starts in the task thread on first use, so
    its kernels live in the thread that runs the notebooks; its working copies go to a scratch
    folder of this worker's own machine: inside the run's folder for a LocalCluster (removed with it,
    even after a worker was killed), else in that machine's /tmp.
    """

    idempotent = False

    def __init__(self, course_root: str, threads_per_kernel: int, sandbox: Limits | None,
                 scratch_parent: str | None = None):
        self.course_root = course_root
        self.threads_per_kernel = threads_per_kernel
        self.sandbox = sandbox
        self.scratch_parent = scratch_parent

    async def setup(self, worker) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="dask-", dir=self.scratch_parent or short_scratch_root()))
        self.worker = Worker(self.course_root, str(self.scratch), self.threads_per_kernel, self.sandbox)
        self.started = False
        self.one_at_a_time = threading.Lock()
        # Raises SandboxUnavailable, with the fix; the Worker uses this probed sandbox as it is.
        self.probed = None if self.sandbox is None else await asyncio.to_thread(Sandbox.start, self.sandbox)

    def grade(self, tasks: list[Task]) -> list[dict]:
        with self.one_at_a_time:  # one submission at a time, even on a worker started with more threads
            if not self.started:
                self.worker.start(self.probed)
                self.started = True
            return [self.worker.grade(task) for task in tasks]

    def teardown(self, worker) -> None:
        self.worker.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def grade_on_dask_worker(tasks: list[Task]) -> list[dict]:
    """One Dask task: grade one submission's notebooks in this worker's :class:`Worker`."""
    return get_worker().plugins[PLUGIN_NAME].grade(tasks)
