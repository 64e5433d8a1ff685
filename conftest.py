"""The run-time and peak-memory report for every notebook that nbval executes.

It lives at the repository root because pytest only lets a conftest.py see the items below its own
folder, and nbval's items are the cells of the notebooks in source/. The figures are a report, not
assertions: budgets are judged by people reading them, on a known machine.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)
_NOTEBOOK_PEAK_MB: dict[str, float] = {}


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::")[0]
    return path if path.endswith(".ipynb") else None


def _kernel_peak_mb(notebook_item) -> float | None:
    """The kernel process's peak resident memory (Linux VmHWM), read before nbval stops it."""
    try:
        pid = notebook_item.kernel.km.provisioner.process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (AttributeError, OSError):
        return None
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if _notebook_of(item.nodeid) and (nextitem is None or nextitem.parent is not item.parent):
        peak = _kernel_peak_mb(item.parent)
        if peak is not None:
            item.user_properties.append(("kernel_peak_mb", peak))
    yield


def pytest_runtest_logreport(report):
    notebook = _notebook_of(report.nodeid)
    if notebook:
        _NOTEBOOK_SECONDS[notebook] += report.duration
        for name, value in report.user_properties:
            if name == "kernel_peak_mb":
                _NOTEBOOK_PEAK_MB[notebook] = value


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_SECONDS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("lab notebooks: run time and kernel peak memory (nbval)")
    write(f"{'notebook':<58} {'seconds':>8} {'peak MB':>8}")
    for notebook, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        peak = _NOTEBOOK_PEAK_MB.get(notebook)
        write(f"{notebook:<58} {seconds:>8.1f} {'?' if peak is None else round(peak):>8}")
