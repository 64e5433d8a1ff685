"""Run a learner's kernel inside an OS sandbox (bubblewrap), while the grader stays outside it.

The grader's trusted side (the notebook client and the gradebook writer) runs as usual; only the
kernel, which executes the learner's code, is started inside ``bwrap``. Inside, the kernel sees:

- a read-only system made of a short list of folders (``/usr``, the Python installation, the
  virtual environment, the ``labs`` package and a few files of ``/etc``), never ``/``: the course
  folder, the gradebook, ``source/``, other learners' work and the home folder are simply absent;
- one writable folder, the submission's own working copy, at the same path as outside (so the
  kernel's ZeroMQ ``ipc`` sockets, files in that folder, connect the two sides);
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
import uuid
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import AsyncKernelManager

CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_UID = 65534  # "nobody" inside the sandbox's own user namespace
# The kernel's connection file and ipc sockets: inside the working copy, the one folder both sides see.
KERNEL_RUNTIME_FOLDER = ".kernel"
ETC_FILES = ("passwd", "group", "nsswitch.conf", "localtime", "ld.so.cache", "fonts", "alternatives")


class SandboxUnavailable(RuntimeError):
    """No usable sandbox on this machine; the message says why and how to install one."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's kernel and everything it starts."""

    memory_mb: int = 3072
    processes: int = 128
    file_size_mb: int = 200
    cpu_seconds: int = 900
    tmp_mb: int = 256


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
    """A pids + memory cgroup (v1 or v2) for one sandbox, when this process may create one."""

    def __init__(self, limits: Limits):
        self.name = f"aicl-{uuid.uuid4().hex[:12]}"
        self.folders: list[Path] = []
        v2 = CGROUP_ROOT / "cgroup.controllers"
        if v2.exists():
            self._make(CGROUP_ROOT / self.name, {"pids.max": limits.processes,
                                                  "memory.max": limits.memory_mb << 20,
                                                  "memory.swap.max": 0})
        else:
            self._make(CGROUP_ROOT / "pids" / self.name, {"pids.max": limits.processes})
            self._make(CGROUP_ROOT / "memory" / self.name, {"memory.limit_in_bytes": limits.memory_mb << 20})

    def _make(self, folder: Path, settings: dict[str, int]) -> None:
        folder.mkdir()
        self.folders.append(folder)
        for key, value in settings.items():
            if (folder / key).exists():
                (folder / key).write_text(str(value))

    def join_command(self) -> str:
        """Shell words that move the shell into the cgroups before it execs bwrap (no race)."""
        return "; ".join(f"echo $$ > {shlex.quote(str(f / 'cgroup.procs'))}" for f in self.folders)

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
                        break  # left for the next run's sweep: `sweep_stale_cgroups`
                    time.sleep(0.05)

    @staticmethod
    def sweep_stale() -> None:
        """Remove empty cgroups that an earlier, killed grading run left behind."""
        for folder in CGROUP_ROOT.glob("**/aicl-*"):
            try:
                folder.rmdir()
            except OSError:
                pass

    @staticmethod
    def possible() -> bool:
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return os.access(CGROUP_ROOT, os.W_OK)
        return all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("pids", "memory"))


class Sandbox:
    """Builds sandboxed kernel managers. Create once per grading run; it checks bwrap works."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (`bwrap`) is not installed, so learners' code cannot be isolated. Install it "
                "(Debian/Ubuntu: `sudo apt-get install bubblewrap`), or pass --unsafe-no-sandbox to grade "
                "without isolation (only for submissions you trust)."
            )
        self.uses_cgroups = _CgroupLimits.possible()
        if self.uses_cgroups:
            _CgroupLimits.sweep_stale()
        self._probe()

    def describe(self) -> str:
        memory = "cgroup" if self.uses_cgroups else "rlimit"
        return (f"bubblewrap sandbox: no network, read-only system, own folder only; "
                f"{self.limits.memory_mb} MB memory ({memory}), {self.limits.processes} processes, "
                f"{self.limits.cpu_seconds} s CPU, {self.limits.file_size_mb} MB per file")

    def bwrap_arguments(self, workdir: Path, env: dict[str, str] | None = None) -> list[str]:
        """bwrap's options for a kernel whose only writable folder is ``workdir``.

        The environment starts empty; ``env`` adds the few variables the grader chooses to pass
        (e.g. nbgrader's NBGRADER_EXECUTION marker and thread counts), never the grader's own.
        """
        workdir = str(Path(workdir).resolve())
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
        args += ["--bind", workdir, workdir,
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
        if not self.uses_cgroups:  # rlimits stand in for cgroups: weaker, but never nothing
            prefix += [f"--as={limits.memory_mb << 20}", f"--nproc={limits.processes}"]
        return prefix + ["--"]

    def command(self, argv: list[str], workdir: Path, env: dict[str, str] | None = None
                ) -> tuple[list[str], _CgroupLimits | None]:
        """The full command running ``argv`` sandboxed, and the cgroup to remove afterwards."""
        inner = self._rlimit_prefix() + self.bwrap_arguments(workdir, env) + ["--"] + list(argv)
        if not self.uses_cgroups:
            return inner, None
        cgroup = _CgroupLimits(self.limits)
        script = f"{cgroup.join_command()}; exec {shlex.join(inner)}"
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

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    cleanup_resources = _async_cleanup_resources
