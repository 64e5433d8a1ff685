"""Where the notebooks run: a local process pool (the default) or a Dask distributed cluster.

Both back ends share one small interface, so grade.py's Recorder stays the single trusted writer
of the gradebook and ``outcomes.json`` whichever runs the kernels:

    with backend:                      # start the pool's context or the cluster, connect
        backend.run(groups, record)    # groups: each submission's notebook Tasks

``record(task, result)`` is called once per Task with a plain dict (from ``run_submission``, or a
FAILED result when the worker itself died), possibly from another thread: the caller serialises.
Each back end builds one :class:`autograder.grading.execute.Worker` per worker process, so a submission
is graded the same way on both.
"""

from __future__ import annotations

import logging
import os
import uuid
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from autograder.grading.execute import Task, Worker, grade_in_worker, init_worker
from autograder.grading.outcomes import FAILED
from autograder.grading.sandbox import Limits

Record = Callable[[Task, dict], None]


class ClusterUnavailable(RuntimeError):
    """The Dask cluster could not be started or reached; nothing has been graded or written."""


def failure(task: Task, reason: str) -> dict:
    """A FAILED result for a notebook whose worker could not return one."""
    return {"student": task.student, "lab": task.lab, "notebook": task.notebook, "status": FAILED,
            "reason": reason, "executed": None, "execution_seconds": 0.0}


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# --------------------------------------------------------------------------- local process pool

def threads_per_kernel(workers: int) -> int:
    """Math-library threads for each kernel: this machine's cores shared by the workers."""
    return max(1, default_workers() // workers)


# Imported once by the server that worker processes fork from.
POOL_PRELOAD = ["autograder.grading.execute", "autograder.grading.gradebook"]


def _pool_context():
    """Workers fork from a small server that imported the grading code once ("forkserver"),
    which starts them in a fraction of a second instead of re-importing nbgrader in each."""
    context = get_context("forkserver")
    context.set_forkserver_preload(POOL_PRELOAD)
    return context


class LocalPool:
    """N worker processes on this machine; no server to start (the default back end).

    A crashed worker breaks the whole pool and fails every task queued in it. So a task is
    charged for a crash only when it crashed a pool of its own: tasks caught in two broken shared
    pools are run once more, each alone (in parallel), and only a task that breaks its own pool
    is marked FAILED.
    """

    def __init__(self, workers: int, course_root: Path, scratch: Path, sandbox: Limits | None):
        self.workers = workers
        self.course_root = course_root
        self.scratch = scratch
        self.sandbox = sandbox

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def describe(self) -> str:
        return f"{self.workers} workers"

    def _new_pool(self, size: int) -> ProcessPoolExecutor:
        worker = Worker(str(self.course_root), str(self.scratch), threads_per_kernel(self.workers), self.sandbox)
        return ProcessPoolExecutor(size, mp_context=_pool_context(), initializer=init_worker,
                                   initargs=(worker, os.getpid()))

    def run(self, groups: list[list[Task]], record: Record) -> None:
        queue = [task for group in groups for task in group]
        breaks: dict[int, int] = {}
        while queue:
            broken = _run_in_pool(self._new_pool(self.workers), queue, record)
            for task in broken:
                breaks[id(task)] = breaks.get(id(task), 0) + 1
            queue = [t for t in broken if breaks[id(t)] < 2]
            alone = [t for t in broken if breaks[id(t)] >= 2]
            if alone:
                self._run_alone(alone, record)

    def _run_alone(self, tasks: list[Task], record: Record) -> None:
        with ThreadPoolExecutor(self.workers) as threads:
            for task, crashed in zip(tasks, threads.map(
                    lambda t: _run_in_pool(self._new_pool(1), [t], record), tasks)):
                if crashed:
                    record(task, failure(task, "the grading worker process crashed while running "
                                               "this notebook alone (it was retried on its own)"))


def _run_in_pool(executor: ProcessPoolExecutor, queue: list[Task], record: Record) -> list[Task]:
    """Run ``queue`` in ``executor`` and record each result; return the tasks a crash cut short."""
    broken: list[Task] = []
    try:
        futures = {executor.submit(grade_in_worker, task): task for task in queue}
        remaining = set(futures)
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in finished:
                task = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(task)
                    continue
                except Exception as error:  # noqa: BLE001
                    result = failure(task, f"grading worker error: {error}")
                record(task, result)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return broken


# --------------------------------------------------------------------------- Dask distributed

# A worker that dies running a submission gets it once more (it may have been a neighbour's
# fault); a second death ends it as KilledWorker, which fails only that submission. One task per
# worker thread at a time: a queued task would be blamed for a death it did not cause.
DASK_SETTINGS = {"distributed.scheduler.allowed-failures": 1,
                 "distributed.scheduler.worker-saturation": 1.0,
                 "distributed.worker.multiprocessing-method": "forkserver"}
FORKSERVER_PRELOAD = ["distributed", *POOL_PRELOAD, "autograder.grading.dask_worker"]
CONNECT_TIMEOUT = "10s"


def _load_distributed():
    try:
        import distributed
    except ImportError as error:  # the pinned dependency is missing from this environment
        raise ClusterUnavailable(f"--cluster needs the `distributed` package ({error}); "
                                 "install the project's pinned dependencies.") from error
    return distributed


class DaskCluster:
    """Grade on Dask: a LocalCluster started for the run (``address="local"``) or an existing
    scheduler (``tcp://host:8786``, e.g. started by dask-jobqueue or dask-kubernetes).

    One Dask task per submission: its notebooks share a worker, and a worker's death is charged to
    that one submission. Every task has a unique key (and ``pure=False``), so resubmitted bytes are
    always executed again, never answered from Dask's cache.
    """

    def __init__(self, address: str, workers: int, course_root: Path, scratch: Path, sandbox: Limits | None):
        self.address = address
        self.scratch = scratch
        self.workers = workers
        self.course_root = course_root
        self.sandbox = sandbox
        self.cluster = None
        self.client = None
        self.settings = None

    def describe(self) -> str:
        where = "a local Dask cluster" if self.address == "local" else f"the Dask scheduler at {self.address}"
        return f"{len(self.client.scheduler_info()['workers'])} workers of {where}"

    def __enter__(self) -> "DaskCluster":
        distributed = _load_distributed()
        import dask

        # Held for the whole run: the nanny reads these when it (re)starts a worker process.
        self.settings = dask.config.set(DASK_SETTINGS)
        try:
            self._connect(distributed)
        except Exception as error:  # noqa: BLE001 - any failure here means: nothing can be graded
            self.__exit__()
            raise ClusterUnavailable(self._why(error)) from error
        return self

    def _connect(self, distributed) -> None:
        from autograder.grading.dask_worker import PLUGIN_NAME, GradingPlugin

        if self.address == "local":
            # Worker processes fork from a server that imported the grading code once, as the
            # local pool's do: a spawned worker re-imports nbgrader and Dask (~20 s on 2 busy cores).
            distributed.utils.get_mp_context().set_forkserver_preload(FORKSERVER_PRELOAD)
            self.cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR)
            threads, scratch = threads_per_kernel(self.workers), str(self.scratch)
        else:  # a remote machine's cores and folders are unknown here: one math thread, its own /tmp
            threads, scratch = 1, None
        self.client = distributed.Client(self.cluster or self.address, timeout=CONNECT_TIMEOUT)
        plugin = GradingPlugin(str(self.course_root), threads, self.sandbox, scratch)
        self.client.register_plugin(plugin, name=PLUGIN_NAME)

    def _why(self, error: Exception) -> str:
        where = "start a local Dask cluster" if self.address == "local" else f"use the Dask scheduler at {self.address}"
        return (f"Could not {where}: {type(error).__name__}: {error}. Check that the scheduler runs and "
                "that every worker has this package and a working sandbox; nothing was graded.")

    def __exit__(self, *exc) -> None:
        for part in (self.client, self.cluster):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - shutting down; the grades are saved
                    pass
        if self.settings is not None:
            self.settings.__exit__(None, None, None)

    def run(self, groups: list[list[Task]], record: Record) -> None:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        from autograder.grading.dask_worker import grade_on_dask_worker

        futures = {}
        for group in groups:
            key = f"grade-{group[0].lab}-{group[0].student}-{uuid.uuid4().hex}"
            futures[self.client.submit(grade_on_dask_worker, group, key=key, pure=False)] = group
        for future in as_completed(futures):
            group = futures.pop(future)
            try:
                results = future.result()
            except KilledWorker:
                results = [failure(t, "the Dask worker running this submission died twice (retried once on "
                                      "another worker); grades left for review") for t in group]
            except Exception as error:  # noqa: BLE001 - one submission's problem must not stop the batch
                results = [failure(t, f"grading worker error: {type(error).__name__}: {error}") for t in group]
            for task, result in zip(group, results):
                record(task, result)
