"""`make lab` opens a learner-only JupyterLab; an instructor's plain `jupyter lab` keeps nbgrader (issue 9, item 8).

Installing nbgrader enables its server extensions (formgrader, validate, assignment and course lists)
and its lab extension (the Nbgrader menu, "Validate", the "Create Assignment" and formgrader panels)
for every Jupyter server in the environment. `make lab` points JUPYTER_CONFIG_DIR at
labs/jupyter-learner/, which turns them off and answers the news question with no.

These tests start real servers: the learner's with the very command `make -n lab` prints (so a
Makefile that drops the config folder fails here), and an instructor's `jupyter lab` for contrast.
Each is headless on 127.0.0.1 with a token, and is stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
NBGRADER_LAB_EXTENSION = "@jupyter/nbgrader"  # package name in nbgrader/labextension/package.json
NOTIFICATION_SETTINGS = "@jupyterlab/apputils-extension:notification"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_env(home: Path) -> dict[str, str]:
    """The caller's environment without Jupyter overrides, with a throwaway home (settings, runtime)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "JPY_"))}
    env["HOME"] = str(home)
    return env


def learner_command(lab_dir: Path, server_args: str) -> str:
    """The `jupyter lab` line of `make lab`, as make would run it (dry run: nothing is copied or opened)."""
    shown = subprocess.run(["make", "-n", "-s", "lab", f"LAB_DIR={lab_dir}", f"LAB_ARGS={server_args}"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    lines = [line for line in shown.replace("\\\n", " ").splitlines() if " lab --notebook-dir" in line]
    assert len(lines) == 1, f"`make -n lab` shows no single `jupyter lab` command:\n{shown}"
    return lines[0]


class Server:
    def __init__(self, url: str, token: str, log: Path):
        self.url, self.token, self.log = url, token, log

    def get(self, path: str) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def page_config(self) -> dict:
        status, html = self.get("/lab")
        assert status == 200, f"/lab answered {status}"
        found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
        return json.loads(found.group(1))


@contextmanager
def jupyter_server(command: str, env: dict[str, str], log: Path, token: str, port: int):
    """Start a Jupyter server from a shell command line, wait until it answers, stop it afterwards."""
    with log.open("w") as out:
        process = subprocess.Popen(command, shell=True, cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if server.get("/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Jupyter did not start ({command}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the server's own process group (start_new_session), gently first."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _args(token: str, port: int) -> str:
    return ("--no-browser --ServerApp.ip=127.0.0.1 "
            f"--ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}")


@pytest.fixture
def learner(tmp_path):
    (tmp_path / "labs").mkdir()
    token, port = secrets.token_hex(16), _free_port()
    command = learner_command(tmp_path / "labs", _args(token, port))
    with jupyter_server(command, _clean_env(tmp_path), tmp_path / "learner.log", token, port) as server:
        yield server


@pytest.fixture
def instructor(tmp_path):
    (tmp_path / "labs").mkdir()
    token, port = secrets.token_hex(16), _free_port()
    command = (f"{shlex.quote(str(JUPYTER))} lab --allow-root --notebook-dir={tmp_path / 'labs'} "
               f"{_args(token, port)}")
    with jupyter_server(command, _clean_env(tmp_path), tmp_path / "instructor.log", token, port) as server:
        yield server


def test_learner_lab_has_no_nbgrader_and_no_news(learner):
    config = learner.page_config()
    installed = [extension["name"] for extension in config.get("federated_extensions", [])]
    assert NBGRADER_LAB_EXTENSION in installed, "nbgrader's lab extension is not installed: wrong name?"
    assert NBGRADER_LAB_EXTENSION in config.get("disabledExtensions", []), (
        "The learner's JupyterLab still loads nbgrader's menu, Validate button and panels.")
    assert learner.get("/formgrader")[0] == 404, "formgrader is served to learners"
    assert learner.get("/assignments")[0] == 404, "nbgrader's assignment list is served to learners"
    assert "nbgrader" not in learner.log.read_text().lower(), "the server loaded an nbgrader extension"
    assert config["news"] == {"disabled": True}, "JupyterLab fetches the Jupyter news feed"
    status, body = learner.get(f"/lab/api/settings/{NOTIFICATION_SETTINGS}")
    defaults = json.loads(body)["schema"]["properties"]  # overrides.json applies to the schema's defaults
    assert (status, defaults["fetchNews"]["default"], defaults["checkForUpdates"]["default"]) == (
        200, "false", False), "JupyterLab would ask the learner about Jupyter news"
    assert json.loads(learner.get("/lab/api/news")[1]) == {"news": []}


def test_instructor_lab_keeps_formgrader(instructor):
    config = instructor.page_config()
    assert NBGRADER_LAB_EXTENSION not in config.get("disabledExtensions", [])
    assert instructor.get("/formgrader")[0] == 200, "an instructor's jupyter lab lost formgrader"
    assert "nbgrader.server_extensions.formgrader" in instructor.log.read_text()


def test_learner_config_writes_nothing_into_the_repository(learner):
    learner.get(f"/lab/api/settings/{NOTIFICATION_SETTINGS}")
    status, _ = learner.get("/lab/api/workspaces/default")
    assert status == 200
    untracked = subprocess.run(["git", "status", "--porcelain", "--ignored", "labs/jupyter-learner"], cwd=REPO,
                               capture_output=True, text=True).stdout
    written = [line for line in untracked.splitlines() if line.startswith("!!")]
    assert not written, f"Jupyter wrote into the learner config folder: {written}"
