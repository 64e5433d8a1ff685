"""Copy released labs into a learner's own folder, never overwriting work already there.

Learners work on copies so that their answers survive a `git pull` of new or updated labs: a lab
folder is copied only when the learner does not have it yet. Run as
``python -m labs.workspace release my-labs``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def copy_new_labs(release: Path, workspace: Path) -> list[str]:
    """Copy each lab folder of ``release`` that ``workspace`` lacks; return the names copied."""
    if not release.is_dir():
        raise SystemExit(f"No folder {release}: run this from the course folder (the clone of the repository).")
    workspace.mkdir(exist_ok=True)
    copied = []
    for lab in sorted(path for path in release.iterdir() if path.is_dir()):
        if not (workspace / lab.name).exists():
            shutil.copytree(lab, workspace / lab.name)
            copied.append(lab.name)
    return copied


def main(argv: list[str]) -> int:
    release, workspace = (Path(arg) for arg in (argv + ["release", "my-labs"])[:2])
    copied = copy_new_labs(release, workspace)
    kept = sorted(p.name for p in workspace.iterdir() if p.is_dir() and p.name not in copied)
    if copied:
        print(f"New labs copied into {workspace}/: {', '.join(copied)}")
    if kept:
        print(f"Your own work kept as it is in {workspace}/: {', '.join(kept)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
