"""The `autograder` command: one sub-command per step a submission travels through.

Each step lives in its own module, which registers its sub-command with ``add_command(subparsers)``
and sets ``run`` to a function taking the parsed arguments and returning an exit code. This file
only wires them together, so adding a step means adding its module to ``STEPS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from autograder import __version__
from autograder.curriculum import CurriculumError

# In the order a submission travels: release -> import -> grade -> feedback, export, report -> certify.
STEPS: tuple[str, ...] = ("release", "collect", "grading.grade", "feedback", "export", "status", "demo.run", "report",
                         "solutions", "credentials.keys", "credentials.certify", "credentials.verify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Release, import, grade, give feedback on, export and certify AI Certification Labs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--course", type=Path, default=None,
        help="course folder holding curriculum.yml (default: found from the working directory)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for step in STEPS:
        importlib.import_module(f"autograder.{step}").add_command(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CurriculumError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted; run the same command again to finish the rest.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
