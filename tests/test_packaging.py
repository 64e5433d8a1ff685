"""pyproject.toml and environment.yml must describe the same pinned dependency set."""

from __future__ import annotations

import re
import tomllib

import yaml

from lab_harness import ROOT


def _normalise(requirement: str) -> str:
    requirement, _, marker = requirement.partition(";")
    name, _, version = requirement.partition("==")
    assert version, f"'{requirement}' is not pinned with ==: pin what the suite was tested with."
    pinned = f"{re.sub(r'[-_.]+', '-', name.strip().lower())}=={version.strip()}"
    return pinned + (f"; {' '.join(marker.split())}" if marker.strip() else "")


def test_pip_and_conda_dependency_sets_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = {_normalise(r) for r in project["dependencies"]}
    pip_side |= {_normalise(r) for extra in project["optional-dependencies"].values() for r in extra}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    conda_side = {_normalise(r) for section in pip_sections for r in section}
    assert pip_side == conda_side, (
        f"Only in pyproject.toml: {sorted(pip_side - conda_side)}; "
        f"only in environment.yml: {sorted(conda_side - pip_side)}. Make them the same."
    )


def test_python_version_floor_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.11"
    assert "python=3.11" in environment["dependencies"]
