"""The benchmarks' pure helpers: round order, score agreement, the throughput simulation, cell phases,
and the per-worker memory attribution. (The benchmarks themselves are run by hand, never timed here.)"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_common import subtree_rss, tamper, worker_of  # noqa: E402
from grading import agreement, round_order  # noqa: E402
from throughput_model import paper_throughput, simulate  # noqa: E402
from where_time_goes import cell_phases  # noqa: E402

MARK = tamper.MARK


def test_round_order_puts_each_grader_first_once_over_as_many_rounds():
    graders = ["stock", "pool", "cluster"]
    orders = [round_order(graders, r) for r in range(3)]
    assert orders[0] == graders
    assert [order[0] for order in orders] == ["stock", "pool", "cluster"]
    assert all(sorted(order) == sorted(graders) for order in orders)


def test_round_order_alternates_two_graders():
    assert [round_order(["stock", "pool"], r) for r in range(3)] == [
        ["stock", "pool"], ["pool", "stock"], ["stock", "pool"]]


def test_agreement_counts_a_cell_missing_from_one_gradebook_as_a_difference():
    stock = {("ada", "lab", "q1"): 1.0, ("ada", "lab", "q2"): 0.0}
    ours = {("ada", "lab", "q1"): 1.0, ("ada", "lab", "q3"): 2.0}
    agree, total, differ = agreement(stock, ours)
    assert (agree, total) == (1, 3)
    assert differ == [("ada", "lab", "q2"), ("ada", "lab", "q3")]


def test_simulation_with_one_worker_takes_the_sum_of_the_tasks():
    assert simulate([1.0, 2.0, 3.0], lambda n: 0.0, 1) == pytest.approx(6.0)


def test_simulation_scales_with_workers_while_recording_is_cheap():
    tasks = [4.0] * 64
    assert simulate(tasks, lambda n: 0.001, 1) / simulate(tasks, lambda n: 0.001, 8) == pytest.approx(8, rel=0.01)


def test_simulation_is_bound_by_the_single_writer():
    tasks = [1.0] * 100
    makespan = simulate(tasks, lambda n: 0.5, 64)   # 64 workers finish in 2 s; recording takes 50 s
    assert len(tasks) / makespan == pytest.approx(2.0, rel=0.05)
    assert paper_throughput(1.0, 0.5, 64) == 2.0
    assert paper_throughput(1.0, 0.5, 1) == 1.0


def _cell(kind: str | None, start: datetime, seconds: float):
    cell = nbformat.v4.new_code_cell("pass")
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731 - nbclient's format
    cell.metadata["execution"] = {"iopub.execute_input": iso(start),
                                  "shell.execute_reply": iso(start + timedelta(seconds=seconds))}
    if kind:
        cell.metadata[MARK] = {"kind": kind}
    return cell


def test_cell_phases_split_learner_canary_probe_and_client_time():
    t0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [_cell(None, t0 + timedelta(seconds=1), 2.0),         # waited 1 s for the kernel
                      _cell("canary", t0 + timedelta(seconds=3.5), 0.5),   # 0.5 s gap before it
                      _cell("probe", t0 + timedelta(seconds=4), 0.25),
                      _cell(None, t0 + timedelta(seconds=4.25), 1.0)]
    phases = cell_phases(notebook, t0, t0 + timedelta(seconds=6))
    assert phases["  execute: learner cells"] == pytest.approx(3.0)
    assert phases["  execute: canary cells"] == pytest.approx(0.5)
    assert phases["  execute: probe cells"] == pytest.approx(0.25)
    assert phases["  execute: wait for the kernel, client set-up"] == pytest.approx(1.0)
    assert phases["  execute: client, between cells"] == pytest.approx(0.5)
    assert phases["  execute: client shutdown"] == pytest.approx(0.75)


def test_a_kernels_worker_is_its_nearest_python_ancestor_and_owns_its_subtree():
    # grader 1 -> forkserver 2 -> worker 3 -> sh 4 -> launcher 5 -> kernel 6; worker 7 -> kernel 8
    parents = {1: None, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 2, 8: 7}
    names = {1: "python", 2: "python", 3: "python3", 4: "sh", 5: "python", 6: "python", 7: "python", 8: "python"}
    kernels = {4, 5, 6, 8}   # the shell and a Python launcher carry the kernel's command line too
    assert worker_of(6, parents, names, kernels) == 3
    assert worker_of(8, parents, names, kernels) == 7
    rss = {1: 100, 2: 10, 3: 50, 4: 1, 5: 2, 6: 300, 7: 40, 8: 200}
    assert subtree_rss(3, parents, rss) == 353
    assert subtree_rss(1, parents, rss) == sum(rss.values())


def test_record_growth_follows_the_medians_of_the_first_and_last_thirds():
    from throughput_model import record_growth

    a, b = record_growth([0.1 + 0.01 * n for n in range(30)])
    assert (a, b) == (pytest.approx(0.1), pytest.approx(0.01))


def test_record_growth_never_falls_and_ignores_one_slow_first_record():
    from throughput_model import record_growth

    a, b = record_growth([5.0] + [0.2] * 29)
    assert b == 0.0 and a == pytest.approx(0.2)
