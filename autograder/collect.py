"""Step 2, import: place an LMS download's notebooks where nbgrader expects them.

Takes a zip or a folder (Canvas-style flat names, Moodle-style names, or one folder per learner)
and a roster CSV, and writes ``submitted/<learner>/<lab>/<notebook>.ipynb`` with ``timestamp.txt``
when the submission time is known. It is the first code to touch files from outside, so:

* an unsafe archive is refused whole, before anything is written: absolute paths, ``..`` in a
  path, links or special files, too many entries, or more bytes than the limit once expanded
  (sizes are checked while reading, not trusted from the zip's headers);
* no symbolic link or special file is ever followed or opened, in a download folder or under
  ``submitted/`` and ``archive/`` (every component is checked with ``lstat`` and files are opened
  with ``O_NOFOLLOW``): a link there could make the instructor's files pass for a learner's, or
  send a write outside the course. :func:`refuse_links`, :func:`read_no_follow` and
  :func:`links_under` are the checks, for any trusted code that reads ``submitted/``;
* everything in an upload belongs to the uploader the LMS names in the outermost part of its path
  (the Canvas ``login_uid_sid_`` prefix, the Moodle ``Name_pid_assignsubmission_`` prefix, or the
  learner's folder), never to a name found deeper inside it; a folder that wraps the whole
  download is allowed. Two different notebooks that claim one learner's lab are used only when
  their submission times say which is the later; otherwise neither is imported and both are
  reported for review, so the order in which files are read never decides;
* an earlier submission is never overwritten silently: identical files are skipped, a different
  one is kept and reported unless ``--replace`` is given, and then the earlier one is moved to
  ``archive/`` first;
* every file gets a line in the report: imported, skipped and why, or to review. The report shows
  file names and reasons as text, never as rich markup.

Submission times: nbgrader's ``zip_collect`` only knows a time when the file name carries one, and
Canvas names do not. Here the time comes from ``timestamp.txt`` next to the file (folder layout),
else from the archive entry's modification time, read as UTC (LMS downloads stamp each entry
with its submission time); a plain folder without ``timestamp.txt`` gives no time.
"""

from __future__ import annotations

import errno
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
from rich.markup import escape
from rich.table import Table

from autograder.curriculum import Curriculum, Lab, load_curriculum
from autograder.files import atomic_write_bytes
from autograder.grading.gradebook import GradebookWriter
from autograder.roster import RosterError, RosterIndex, load_roster

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


class LinkRefused(ValueError):
    """A path that must be a real file or folder is a symbolic link or a special file; never followed."""


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
    action: str                    # "imported", "replaced", "skipped", "review" (a conflict: nothing imported)
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

    @property
    def conflicts(self) -> list[Row]:
        return [r for r in self.rows if r.action == "review"]


# --------------------------------------------------------------------------- links and special files

_SPECIAL = {stat.S_IFIFO: "FIFO", stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
            stat.S_IFSOCK: "socket"}


def _link_or_special(mode: int) -> str | None:
    """'a symbolic link', 'a special file (FIFO)', ... for such a mode; None for a file or a folder."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"a special file ({_SPECIAL.get(stat.S_IFMT(mode), 'not a regular file')})"


def _refusal(name: str, what: str) -> str:
    if what == "a symbolic link":
        return f"{name} is a symbolic link: links are never followed. Replace it with the real file (or remove it)"
    return f"{name} is {what}: only regular files are read. Remove it"


def refuse_links(path: Path, base: Path) -> str | None:
    """Why ``path`` must not be read or written: the first symbolic link or special file from ``base``
    (exclusive: the trusted course folder) down to ``path``, named as ``<base name>/...``; else None.

    A missing component is no reason (it will be created as a real folder or file).
    """
    path, base = Path(path), Path(base)
    try:
        relative = path.relative_to(base)
    except ValueError:
        raise ValueError(f"{path} is not inside {base}") from None
    current = base
    for part in relative.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None
        what = _link_or_special(mode)
        if what:
            return _refusal(f"{base.name}/{current.relative_to(base).as_posix()}", what)
    return None


def read_no_follow(path: Path, base: Path) -> bytes:
    """The bytes of the regular file ``path``, refusing (:class:`LinkRefused`) any link or special file
    on the way from ``base``; opened with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a FIFO swapped in
    cannot block), then checked again on the open descriptor."""
    reason = refuse_links(path, base)
    if reason:
        raise LinkRefused(reason)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise LinkRefused(_refusal(str(path), "a symbolic link")) from None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise LinkRefused(_refusal(str(path), _link_or_special(mode) or "a folder"))
        return handle.read()


def links_under(folder: Path) -> list[tuple[str, str]]:
    """(path relative to ``folder``, what it is) for every symbolic link or special file anywhere under
    ``folder``, found without following any link."""
    found = []
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            what = _link_or_special(os.lstat(path).st_mode)
            if what:
                found.append((path.relative_to(folder).as_posix(), what))
    return found


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
            if stat.S_IFMT(mode) in _SPECIAL:  # many zip tools set no file type at all: that is a plain file
                raise UnsafeArchive(f"{archive} is refused: entry '{info.filename}' is "
                                    f"{_link_or_special(mode)}. Nothing was imported; only regular files are read.")
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
    """Every regular file under ``folder``; links and special files are reported, never followed or opened."""
    entries, total = [], 0
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            relative = path.relative_to(folder).as_posix()
            info = os.lstat(path)
            what = _link_or_special(info.st_mode)
            if what:
                if report is not None:
                    why = "links are never followed" if stat.S_ISLNK(info.st_mode) else "only regular files are read"
                    report.rows.append(Row(relative, "skipped", reason=f"{what}: {why}"))
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            total += info.st_size
            if info.st_size > max_file or total > max_total:
                raise UnsafeArchive(f"{folder} is refused: {relative} takes it past the size limit "
                                    f"({max_file:,} bytes per file, {max_total:,} in all). Nothing was imported.")
            entries.append(Entry(relative, read_no_follow(path, folder), None))
    return _attach_timestamps(entries)


def _attach_timestamps(entries: list[Entry]) -> list[Entry]:
    """Give each notebook the ``timestamp.txt`` of its folder, if it has one."""
    stamps = {str(PurePosixPath(e.path).parent): e.data.decode("utf-8", "replace").strip()
              for e in entries if PurePosixPath(e.path).name == "timestamp.txt"}
    for entry in entries:
        entry.timestamp_text = stamps.get(str(PurePosixPath(entry.path).parent))
    return [e for e in entries if PurePosixPath(e.path).name != "timestamp.txt"]


# --------------------------------------------------------------------------- who and which lab

def _names_uploader(part: str, roster: RosterIndex) -> bool:
    """Whether a top-level name is the LMS naming an uploader (whether or not they are on the roster)."""
    return bool(CANVAS.match(part) or MOODLE.match(part) or roster.find(part)[0])


def wrapper_depth(paths: list[str], roster: RosterIndex) -> int:
    """How many leading folders every path of the download shares that name no uploader: folders
    wrapped around the whole download (by the LMS's zip, or by whoever unpacked it)."""
    depth = 0
    while True:
        tops = {PurePosixPath(p).parts[depth] if len(PurePosixPath(p).parts) > depth + 1 else None for p in paths}
        if len(tops) != 1 or None in tops or _names_uploader(next(iter(tops)), roster):
            return depth
        depth += 1


def identify(entry_path: str, roster: RosterIndex, wrappers: int = 0):
    """(learner, notebook file name, layout) for a file, or (None, reason, layout).

    Only the outermost part of the path (after ``wrappers`` wrapping folders) says who uploaded
    the file: a Canvas or Moodle name, or a learner's folder. Names deeper inside an upload are the
    uploader's own choice and never attribute the file to anyone else.
    """
    parts = PurePosixPath(entry_path).parts[wrappers:]
    top, name, is_file = parts[0], parts[-1], len(parts) == 1
    canvas = CANVAS.match(top)
    if canvas:
        learner, why = roster.find(canvas["login"], canvas["uid"])
        return learner, (canvas["file"] if is_file else name) if learner else why, "canvas"
    moodle = MOODLE.match(top)
    if moodle:
        learner, why = roster.find(moodle["name"], moodle["pid"])
        return learner, (moodle["file"] if is_file else name) if learner else why, "moodle"
    if not is_file:
        learner, why = roster.find(top)
        return learner, name if learner else why, "folders"
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


def write_submission(course_root: Path, learner: str, lab: Lab, data: bytes, moment: datetime | None,
                     replace: bool) -> tuple[str, str, Path]:
    """Write one submission; returns (action, reason, destination). Never overwrites silently.

    Nothing is read, copied or written through a symbolic link or a special file: one planted in
    ``submitted/`` or ``archive/`` (say, a notebook linking to ``source/``) refuses the submission.
    """
    submitted, archive = course_root / "submitted", course_root / "archive"
    folder = submitted / learner / lab.id
    target = folder / lab.notebook
    stamp = folder / "timestamp.txt"
    keep = archive / learner / lab.id / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    planted = (refuse_links(target, submitted) or refuse_links(stamp, submitted) or refuse_links(keep, archive)
               or next((_refusal(f"{folder.relative_to(course_root).as_posix()}/{name}", what)
                        for name, what in (links_under(folder) if folder.is_dir() else [])), None))
    if planted:
        return "skipped", f"{planted}; nothing was imported for this learner's lab", target
    new_stamp = _format_timestamp(moment) if moment else None
    if target.exists():
        old_stamp = read_no_follow(stamp, submitted).decode("utf-8", "replace").strip() if stamp.exists() else None
        if read_no_follow(target, submitted) == data and old_stamp == new_stamp:
            return "skipped", "already imported (identical file)", target
        if not replace:
            return "skipped", (f"a different submission is already at {target}; it was kept. Pass --replace to "
                               "replace it (the earlier one is then moved to archive/)"), target
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, keep, symlinks=True)  # holds no link (checked above); never follow one anyway
        action, reason = "replaced", f"the earlier submission was moved to {keep}"
    else:
        action, reason = "imported", ""
    atomic_write_bytes(target, data)
    if new_stamp:
        atomic_write_bytes(stamp, new_stamp.encode())
    elif stamp.exists():
        stamp.unlink()
    return action, reason, target


def _choose(key: tuple[str, str], candidates: list[tuple], report: ImportReport):
    """The one file to import for a learner's lab, or None when the download cannot say which.

    Copies of one file (same bytes, same time) are one submission. Different files are decided
    only by their submission times: the latest wins when it is strictly later than every other
    (an LMS resubmission). With no time, or a tie, it is a conflict: every file is reported for
    review and none is imported, since the order they were read in means nothing.
    """
    learner, lab = key
    unique: list[tuple] = []
    for candidate in candidates:
        same = next((u for u in unique if u[2].data == candidate[2].data and u[0] == candidate[0]), None)
        if same:
            report.rows.append(Row(candidate[1], "skipped", learner, lab, f"the same file as {same[1]}"))
        else:
            unique.append(candidate)
    if len(unique) == 1:
        return unique[0]
    # nbgrader parses timestamp.txt to naive UTC; zip entry times are aware: compare both as aware UTC.
    times = [None if c[0] is None else c[0] if c[0].tzinfo else c[0].replace(tzinfo=timezone.utc) for c in unique]
    latest = max((t for t in times if t is not None), default=None)
    if None not in times and times.count(latest) == 1:
        newest = unique[times.index(latest)]
        for candidate in unique:
            if candidate is not newest:
                report.rows.append(Row(candidate[1], "skipped", learner, lab,
                                       f"an older submission: {newest[1]} is newer and was used"))
        return newest
    paths = ", ".join(c[1] for c in unique)
    for candidate in unique:
        report.rows.append(Row(candidate[1], "review", learner, lab, (
            f"conflict: {len(unique)} different notebooks claim {learner}'s {lab} ({paths}) and no submission "
            f"time says which is the later; nothing was imported for {learner}'s {lab}. Keep only the right "
            "one in the download and import again")))
    return None


def import_submissions(curriculum: Curriculum, download: Path, roster_file: Path, lab_id: str | None = None,
                       replace: bool = False, max_bytes: int = MAX_TOTAL_BYTES) -> ImportReport:
    """Import an LMS download (zip or folder) for the learners in ``roster_file``."""
    download = Path(download)
    forced = curriculum.lab(lab_id) if lab_id else None
    try:
        learners = load_roster(roster_file)
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

    # Decide what each file is and whose it is (the uploader the LMS names), then which file per learner and lab.
    entries = [e for e in sorted(entries, key=lambda e: e.path)
               if not any(part in JUNK or part.startswith("._") for part in PurePosixPath(e.path).parts)]
    wrappers = wrapper_depth([e.path for e in entries], roster)
    claims: dict[tuple[str, str], list[tuple]] = {}
    for entry in entries:
        if not entry.path.lower().endswith(".ipynb"):
            report.rows.append(Row(entry.path, "skipped", reason="not a notebook (.ipynb)"))
            continue
        learner, filename_or_why, _ = identify(entry.path, roster, wrappers)
        if learner is None:
            report.rows.append(Row(entry.path, "skipped", reason=filename_or_why))
            continue
        lab, lab_note = match_lab(filename_or_why, curriculum, forced)
        if lab is None:
            report.rows.append(Row(entry.path, "skipped", learner.id, reason=lab_note))
            continue
        moment, time_note = parse_time(entry)
        note = "; ".join(n for n in (lab_note, time_note) if n)
        claims.setdefault((learner.id, lab.id), []).append((moment, entry.path, entry, lab, note))
    chosen = {key: choice for key, candidates in claims.items()
              if (choice := _choose(key, candidates, report)) is not None}

    root = curriculum.root
    by_id = {learner.id: learner for learner in learners}
    with GradebookWriter(root) as writer:
        for learner in learners:
            writer.ensure_student(learner.id, first_name=learner.first_name, last_name=learner.last_name,
                                  email=learner.email)
    for (learner_id, _), (moment, path, entry, lab, note) in sorted(chosen.items()):
        action, reason, target = write_submission(root, by_id[learner_id].id, lab, entry.data, moment, replace)
        reason = "; ".join(r for r in (note, reason) if r)
        report.rows.append(Row(path, action, learner_id, lab.id, reason, str(target.relative_to(root))))
    return report


def print_report(report: ImportReport, console: Console) -> None:
    """The import table. File names, ids and reasons come from the download: escaped, never markup."""
    table = Table(title="Import")
    for column in ("file", "action", "learner", "lab", "reason"):
        table.add_column(column, overflow="fold")
    styles = {"imported": "green", "replaced": "green", "review": "red"}
    for row in report.rows:
        style = styles.get(row.action, "yellow")
        table.add_row(escape(row.file), f"[{style}]{escape(row.action)}[/]", escape(row.learner), escape(row.lab),
                      escape(row.reason))
    console.print(table)
    review = f", {len(report.conflicts)} to review (conflicts: nothing imported for them)" if report.conflicts else ""
    console.print(f"{len(report.imported)} imported, {len(report.skipped)} skipped{review}")


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
    except (UnsafeArchive, ImportFailed, LinkRefused) as error:
        print(f"autograder import: {error}", file=sys.stderr)
        return 2
    print_report(report, console)
    return 0
