"""Step 2, import: place an LMS download's notebooks where nbgrader expects them.

Takes a zip or a folder (Canvas-style flat names, Moodle-style names, or one folder per learner)
and a roster CSV, and writes ``submitted/<learner>/<lab>/<notebook>.ipynb`` with ``timestamp.txt``
when the submission time is known. It is the first code to touch files from outside, so:

* an unsafe archive is refused whole, before anything is written: absolute paths, ``..`` in a
  path, links, too many entries, or more bytes than the limit once expanded (sizes are checked
  while reading, not trusted from the zip's headers);
* an earlier submission is never overwritten silently: identical files are skipped, a different
  one is kept and reported unless ``--replace`` is given, and then the earlier one is moved to
  ``archive/`` first;
* every file gets a line in the report: imported, or skipped and why.

Submission times: nbgrader's ``zip_collect`` only knows a time when the file name carries one, and
Canvas names do not. Here the time comes from ``timestamp.txt`` next to the file (folder layout),
else from the archive entry's modification time, read as UTC (LMS downloads stamp each entry
with its submission time); a plain folder without ``timestamp.txt`` gives no time.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from nbgrader import utils
from rich.console import Console
from rich.table import Table

from autograder.curriculum import Curriculum, Lab, load_curriculum
from autograder.files import atomic_write_bytes
from autograder.gradebook import GradebookWriter
from autograder.roster import RosterError, RosterIndex, read_roster

MAX_TOTAL_BYTES = 2 * 1024**3      # a cohort's notebooks, expanded
MAX_FILE_BYTES = 200 * 1024**2     # one notebook with plots can be large, not this large
MAX_ENTRIES = 50_000
CANVAS = re.compile(r"^(?P<login>[A-Za-z0-9.\-]+?)(?P<late>_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$", re.I)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?:file|onlinetext)_?(?P<file>.*)$")
COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\)|_\d+)$")
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints")


class UnsafeArchive(ValueError):
    """The archive could escape the import folder or exhaust the disk; nothing was imported."""


class ImportFailed(ValueError):
    """The download or roster cannot be read at all; the message names the file and the fix."""


@dataclass
class Entry:
    """One file of the download, read safely into memory."""

    path: str                      # as named in the download (POSIX separators)
    data: bytes
    mtime: datetime | None
    timestamp_text: str | None = None


@dataclass
class Row:
    file: str
    action: str                    # "imported", "replaced", "skipped"
    learner: str = ""
    lab: str = ""
    reason: str = ""
    destination: str = ""


@dataclass
class ImportReport:
    rows: list[Row] = field(default_factory=list)

    @property
    def imported(self) -> list[Row]:
        return [r for r in self.rows if r.action in ("imported", "replaced")]

    @property
    def skipped(self) -> list[Row]:
        return [r for r in self.rows if r.action == "skipped"]


# --------------------------------------------------------------------------- reading the download safely

def _check_name(name: str, archive: Path) -> PurePosixPath:
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeArchive(f"{archive} is refused: entry '{name}' has an absolute path. Nothing was imported; "
                            "ask for a fresh download from the LMS (or re-zip the folder without absolute paths).")
    if ".." in path.parts:
        raise UnsafeArchive(f"{archive} is refused: entry '{name}' climbs out of the folder with '..'. "
                            "Nothing was imported; do not use this archive.")
    return path


def read_zip(archive: Path, max_total: int = MAX_TOTAL_BYTES, max_file: int = MAX_FILE_BYTES) -> list[Entry]:
    """Every file of a zip, after refusing the archive if any entry is unsafe."""
    try:
        handle = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise ImportFailed(f"{archive} is not a zip file (or it is damaged). Download it again from the LMS.") from None
    with handle:
        infos = handle.infolist()
        if len(infos) > MAX_ENTRIES:
            raise UnsafeArchive(f"{archive} is refused: {len(infos)} entries (limit {MAX_ENTRIES}). Nothing was imported.")
        declared = 0
        for info in infos:
            _check_name(info.filename, archive)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"{archive} is refused: entry '{info.filename}' is a symbolic link. "
                                    "Nothing was imported; links are never followed.")
            declared += info.file_size
            if declared > max_total:
                raise UnsafeArchive(f"{archive} is refused: it expands past {max_total:,} bytes. Nothing was "
                                    "imported; split the download, or raise --max-bytes if it is genuine.")
        entries, total = [], 0
        for info in infos:
            if info.is_dir():
                continue
            data = bytearray()
            with handle.open(info) as stream:  # sizes are enforced while reading, not trusted
                while chunk := stream.read(1 << 20):
                    data += chunk
                    total += len(chunk)
                    if len(data) > max_file or total > max_total:
                        raise UnsafeArchive(
                            f"{archive} is refused: entry '{info.filename}' expands past the size limit "
                            f"({max_file:,} bytes per file, {max_total:,} in all). Nothing was imported."
                        )
            mtime = datetime(*info.date_time, tzinfo=timezone.utc) if info.date_time[0] > 1980 else None
            entries.append(Entry(info.filename.replace("\\", "/"), bytes(data), mtime))
    return _attach_timestamps(entries)


def read_folder(folder: Path, max_total: int = MAX_TOTAL_BYTES, max_file: int = MAX_FILE_BYTES,
                report: ImportReport | None = None) -> list[Entry]:
    """Every regular file under ``folder``; links are reported and never followed."""
    entries, total = [], 0
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                if report is not None:
                    report.rows.append(Row(relative, "skipped", reason="a symbolic link: links are never followed"))
                continue
            if not path.is_file():
                continue
            size = path.stat().st_size
            total += size
            if size > max_file or total > max_total:
                raise UnsafeArchive(f"{folder} is refused: {relative} takes it past the size limit "
                                    f"({max_file:,} bytes per file, {max_total:,} in all). Nothing was imported.")
            entries.append(Entry(relative, path.read_bytes(), None))
    return _attach_timestamps(entries)


def _attach_timestamps(entries: list[Entry]) -> list[Entry]:
    """Give each notebook the ``timestamp.txt`` of its folder, if it has one."""
    stamps = {str(PurePosixPath(e.path).parent): e.data.decode("utf-8", "replace").strip()
              for e in entries if PurePosixPath(e.path).name == "timestamp.txt"}
    for entry in entries:
        entry.timestamp_text = stamps.get(str(PurePosixPath(entry.path).parent))
    return [e for e in entries if PurePosixPath(e.path).name != "timestamp.txt"]


# --------------------------------------------------------------------------- who and which lab

def identify(entry_path: str, roster: RosterIndex):
    """(learner, notebook file name, layout) for a file, or (None, reason, layout)."""
    path = PurePosixPath(entry_path)
    name = path.name
    canvas = CANVAS.match(name)
    if canvas and len(path.parts) <= 2:
        learner, why = roster.find(canvas["login"], canvas["uid"])
        return learner, canvas["file"] if learner else why, "canvas"
    for part in path.parts:
        moodle = MOODLE.match(part)
        if moodle:
            learner, why = roster.find(moodle["name"], moodle["pid"])
            filename = moodle["file"] if part == name else name
            return learner, filename if learner else why, "moodle"
    if len(path.parts) >= 2:
        # One folder per learner: the first folder that names a learner (a wrapper folder is allowed).
        for part in path.parts[:-1]:
            learner, _ = roster.find(part)
            if learner:
                return learner, name, "folders"
        return None, roster.find(path.parts[0])[1], "folders"
    return None, "the file name says nothing about the learner: use Canvas/Moodle names or one folder per learner", "flat"


def match_lab(filename: str, curriculum: Curriculum, forced: Lab | None) -> tuple[Lab | None, str]:
    stem = COPY_SUFFIX.sub("", Path(filename).stem)
    labs = [forced] if forced else list(curriculum.ready_labs)
    for lab in labs:
        if stem == lab.notebook_stem or stem.lower() == lab.notebook_stem.lower():
            return lab, ""
    if forced:
        return forced, f"renamed from {filename}"
    names = ", ".join(lab.notebook for lab in curriculum.ready_labs)
    return None, f"'{filename}' is not a lab notebook (expected one of: {names}); pass --lab LAB to import it as that lab"


def parse_time(entry: Entry) -> tuple[datetime | None, str]:
    if entry.timestamp_text:
        try:
            return utils.parse_utc(entry.timestamp_text), ""
        except ValueError:
            return None, f"its timestamp.txt ('{entry.timestamp_text[:40]}') is not a date; imported without a time"
    return entry.mtime, ""


# --------------------------------------------------------------------------- placing files

def _format_timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def place(course_root: Path, learner: str, lab: Lab, data: bytes, moment: datetime | None,
          replace: bool) -> tuple[str, str, Path]:
    """Write one submission; returns (action, reason, destination). Never overwrites silently."""
    folder = course_root / "submitted" / learner / lab.id
    target = folder / lab.notebook
    stamp = folder / "timestamp.txt"
    new_stamp = _format_timestamp(moment) if moment else None
    if target.exists():
        old_stamp = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else None
        if target.read_bytes() == data and old_stamp == new_stamp:
            return "skipped", "already imported (identical file)", target
        if not replace:
            return "skipped", (f"a different submission is already at {target}; it was kept. Pass --replace to "
                               "replace it (the earlier one is then moved to archive/)"), target
        keep = course_root / "archive" / learner / lab.id / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, keep)
        action, reason = "replaced", f"the earlier submission was moved to {keep}"
    else:
        action, reason = "imported", ""
    atomic_write_bytes(target, data)
    if new_stamp:
        atomic_write_bytes(stamp, new_stamp.encode())
    elif stamp.exists():
        stamp.unlink()
    return action, reason, target


def import_submissions(curriculum: Curriculum, download: Path, roster_file: Path, lab_id: str | None = None,
                       replace: bool = False, max_bytes: int = MAX_TOTAL_BYTES) -> ImportReport:
    """Import an LMS download (zip or folder) for the learners in ``roster_file``."""
    download = Path(download)
    forced = curriculum.lab(lab_id) if lab_id else None
    try:
        learners = read_roster(roster_file)
    except RosterError as error:
        raise ImportFailed(str(error)) from None
    roster = RosterIndex(learners)
    report = ImportReport()
    if download.is_dir():
        entries = read_folder(download, max_bytes, report=report)
    elif download.is_file():
        entries = read_zip(download, max_bytes)
    else:
        raise ImportFailed(f"{download} does not exist. Pass the zip (or folder) downloaded from the LMS.")

    # Decide what each file is; keep only the latest file per learner and lab.
    chosen: dict[tuple[str, str], tuple] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        if any(part in JUNK or part.startswith("._") for part in PurePosixPath(entry.path).parts):
            continue
        if not entry.path.lower().endswith(".ipynb"):
            report.rows.append(Row(entry.path, "skipped", reason="not a notebook (.ipynb)"))
            continue
        learner, filename_or_why, _ = identify(entry.path, roster)
        if learner is None:
            report.rows.append(Row(entry.path, "skipped", reason=filename_or_why))
            continue
        lab, lab_note = match_lab(filename_or_why, curriculum, forced)
        if lab is None:
            report.rows.append(Row(entry.path, "skipped", learner.id, reason=lab_note))
            continue
        moment, time_note = parse_time(entry)
        note = "; ".join(n for n in (lab_note, time_note) if n)
        key = (learner.id, lab.id)
        candidate = (moment or datetime.min.replace(tzinfo=timezone.utc), entry.path, entry, lab, note, moment)
        if key in chosen:
            older, newer = sorted([chosen[key], candidate], key=lambda c: (c[0], c[1]))
            report.rows.append(Row(older[1], "skipped", learner.id, lab.id,
                                   f"an older submission: {newer[1]} is newer and was used"))
            chosen[key] = newer
        else:
            chosen[key] = candidate

    root = curriculum.root
    by_id = {learner.id: learner for learner in learners}
    with GradebookWriter(root) as writer:
        for learner in learners:
            writer.ensure_student(learner.id, first_name=learner.first_name, last_name=learner.last_name,
                                  email=learner.email)
    for (learner_id, _), (_, path, entry, lab, note, moment) in sorted(chosen.items()):
        action, reason, target = place(root, by_id[learner_id].id, lab, entry.data, moment, replace)
        reason = "; ".join(r for r in (note, reason) if r)
        report.rows.append(Row(path, action, learner_id, lab.id, reason, str(target.relative_to(root))))
    return report


def print_report(report: ImportReport, console: Console) -> None:
    table = Table(title="Import")
    for column in ("file", "action", "learner", "lab", "reason"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        style = "green" if row.action in ("imported", "replaced") else "yellow"
        table.add_row(row.file, f"[{style}]{row.action}[/]", row.learner, row.lab, row.reason)
    console.print(table)
    console.print(f"{len(report.imported)} imported, {len(report.skipped)} skipped")


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", help="place an LMS download's notebooks in submitted/<learner>/<lab>/ (zip or folder)"
    )
    parser.add_argument("download", type=Path, help="the LMS download: a .zip or a folder")
    parser.add_argument("roster", type=Path, nargs="?", default=None, help="roster CSV with the columns id,name,email")
    parser.add_argument("--roster", dest="roster_option", type=Path, default=None, help="the roster, as an option")
    parser.add_argument("--lab", default=None, help="import every notebook as this lab (default: by file name)")
    parser.add_argument("--replace", action="store_true",
                        help="replace earlier submissions that differ (they are moved to archive/)")
    parser.add_argument("--max-bytes", type=int, default=MAX_TOTAL_BYTES,
                        help=f"refuse downloads that expand past this many bytes (default {MAX_TOTAL_BYTES:,})")
    parser.set_defaults(run=run)


def run(args) -> int:
    console = Console()
    curriculum = load_curriculum(args.course)
    roster = args.roster or args.roster_option
    if roster is None:
        print("autograder import: give the roster CSV (id,name,email): autograder import DOWNLOAD ROSTER",
              file=sys.stderr)
        return 2
    try:
        report = import_submissions(curriculum, args.download, roster, args.lab, args.replace, args.max_bytes)
    except (UnsafeArchive, ImportFailed) as error:
        print(f"autograder import: {error}", file=sys.stderr)
        return 2
    print_report(report, console)
    return 0
