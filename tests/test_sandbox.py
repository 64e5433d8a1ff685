"""The sandbox really isolates a learner's kernel: probes run inside a real bubblewrap sandbox.

One notebook of probes runs in one sandboxed kernel (kernels are slow to start); each test then
reads the probe's own output. Needs bubblewrap (`apt-get install bubblewrap`): without it these
tests fail with that message rather than skip, because grading without a sandbox is not safe.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

import autograder.sandbox as sandbox_module
from autograder.sandbox import Limits, Sandbox, SandboxUnavailable
from lab_harness import ROOT

PROBES = {
    "identity": "import os, json; print(json.dumps([os.getuid(), os.getcwd()]))",
    "course_hidden": (
        "print(json.dumps([os.path.exists(p) for p in "
        f"{[str(ROOT / 'source'), str(ROOT / 'curriculum.yml'), str(Path.home() / '.bashrc'), '/etc/shadow']!r}"
        " + [{outside!r}]]))"
    ),
    # Only this machine's loopback is a target; no route elsewhere is shown by the interfaces alone.
    "network": (
        "import socket\nresult = []\nfor host in ('127.0.0.1', 'localhost'):\n"
        "    try:\n        socket.create_connection((host, {port}), timeout=2); result.append('connected')\n"
        "    except OSError as e: result.append(type(e).__name__)\n"
        "result.append([name for _, name in socket.if_nameindex()])\nprint(json.dumps(result))"
    ),
    "writes": (
        "result = []\nfor path in ['/usr/x', '/tmp/../etc/x', {labs!r} + '/x', 'mine.txt']:\n"
        "    try:\n        open(path, 'w').write('x'); result.append('written')\n"
        "    except OSError as e: result.append(type(e).__name__)\nprint(json.dumps(result))"
    ),
    "environment": "print(json.dumps(sorted(k for k in os.environ if 'SECRET' in k or k == 'JPY_PARENT_PID')))",
    "fork_bomb": (
        "import time\nn = 0\ntry:\n    for _ in range(400):\n        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n"
        "        n += 1\nexcept OSError:\n    pass\nprint(json.dumps(n))"
    ),
    "big_file": (
        "try:\n    with open('big.bin', 'wb') as f:\n        f.write(b'0' * (40 << 20))\n    print(json.dumps('written'))\n"
        "except OSError as e:\n    print(json.dumps(type(e).__name__))"
    ),
    "labs_import": "from labs import datasets\nprint(json.dumps(list(datasets.credit_data().shape)))",
}


@pytest.fixture(scope="module")
def listener():
    """A real TCP server on this machine that the sandbox must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.fixture(scope="module")
def probe_results(tmp_path_factory, listener):
    port, _ = listener
    import labs
    outside = tmp_path_factory.mktemp("another-learner") / "answers.ipynb"
    outside.write_text("{}")
    sandbox = Sandbox(Limits(memory_mb=1024, processes=48, file_size_mb=16))
    work = tmp_path_factory.mktemp("submission")
    os.environ["AICL_TEST_SECRET"] = "do-not-leak"
    cells = [
        nbformat.v4.new_code_cell(code.format(port=port, labs=str(Path(labs.__file__).parent), outside=str(outside)))
        for code in PROBES.values()
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    manager = sandbox.kernel_manager(work)
    try:
        NotebookClient(notebook, km=manager, timeout=60, allow_errors=True).execute()
    finally:  # nbclient shuts down only the kernels it started itself
        run_sync(manager.shutdown_kernel)(now=True)
        del os.environ["AICL_TEST_SECRET"]
    results = {}
    for name, cell in zip(PROBES, notebook.cells):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        results[name] = json.loads(text.strip().splitlines()[-1]) if text.strip() else cell.outputs
    return results, work


def test_kernel_runs_as_nobody_in_its_own_folder(probe_results):
    results, work = probe_results
    assert results["identity"] == [65534, str(work.resolve())]


def test_course_files_and_home_are_invisible(probe_results):
    assert probe_results[0]["course_hidden"] == [False, False, False, False, False]


def test_no_network_even_to_this_machine(probe_results, listener):
    by_address, by_name, interfaces = probe_results[0]["network"]
    assert by_address == "ConnectionRefusedError"          # this machine's loopback is another one
    assert by_name in ("ConnectionRefusedError", "gaierror")  # no /etc/hosts inside: not even resolved
    assert interfaces == ["lo"], "the sandbox must have no network interface but its own loopback"
    assert not listener[1], "the sandboxed kernel reached a server on this machine"


def test_only_the_submission_folder_is_writable(probe_results):
    results, work = probe_results
    assert results["writes"] == ["OSError", "OSError", "OSError", "written"]
    assert (work / "mine.txt").read_text() == "x"


def test_environment_is_clean(probe_results):
    assert probe_results[0]["environment"] == []


def test_process_count_is_limited(probe_results):
    assert 0 < probe_results[0]["fork_bomb"] < 48


def test_file_size_is_limited(probe_results):
    results, work = probe_results
    assert results["big_file"] == "OSError"
    assert (work / "big.bin").stat().st_size <= 16 << 20


def test_learner_facing_datasets_still_load(probe_results):
    assert probe_results[0]["labs_import"] == [4454, 14]


def test_memory_hog_kills_only_its_own_kernel(tmp_path):
    sandbox = Sandbox(Limits(memory_mb=384))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = bytearray(2 << 30)\nx[::4096] = b'1' * len(x[::4096])")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with pytest.raises(DeadKernelError):
        NotebookClient(notebook, km=sandbox.kernel_manager(tmp_path), timeout=60).execute()


def test_missing_bubblewrap_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap.*--unsafe-no-sandbox"):
        Sandbox()


def test_private_tmp_is_mounted_before_the_code_it_must_not_hide(tmp_path):
    """A course cloned under /tmp keeps its virtual environment visible inside the sandbox."""
    args = Sandbox(Limits()).bwrap_arguments(tmp_path)
    tmpfs = args.index("--tmpfs")
    binds = [i for i, arg in enumerate(args) if arg in ("--ro-bind", "--bind", "--ro-bind-try")]
    assert args[tmpfs + 1] == "/tmp" and tmpfs < min(binds)
