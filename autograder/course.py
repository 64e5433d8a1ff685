"""The course folder as nbgrader sees it: its ``nbgrader_config.py``, its folders and its gradebook.

Every step reads the course through these few functions (release, import, grading, feedback, the
results), so they all agree on where the gradebook is; only ``grading/gradebook.py`` writes grades.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def load_nbgrader_config(course_root: Path) -> Config:
    """The course's ``nbgrader_config.py`` with the gradebook's URL made absolute.

    The file says ``sqlite:///gradebook.db`` (relative, as nbgrader's CLI expects, since it runs in
    the course folder); this process may run anywhere, so the path is anchored to the course root.
    """
    course_root = Path(course_root).resolve()
    config = Config()
    if (course_root / CONFIG_FILE).exists():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(course_root)).load_config())
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = absolute_db_url(course_root, config)
    return config


def absolute_db_url(course_root: Path, config: Config | None = None) -> str:
    url = "sqlite:///gradebook.db"
    if config is not None and "db_url" in config.CourseDirectory:
        url = config.CourseDirectory.db_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str((Path(course_root) / url[len(prefix):]).resolve())
    return url


def db_path(course_root: Path) -> Path:
    url = absolute_db_url(course_root, load_nbgrader_config(course_root))
    return Path(url[len("sqlite:///"):])


def course_directory(course_root: Path, config: Config | None = None) -> CourseDirectory:
    return CourseDirectory(config=config or load_nbgrader_config(course_root))


def open_gradebook(course_root: Path, config: Config | None = None) -> Gradebook:
    config = config or load_nbgrader_config(course_root)
    return Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id or "default_course")


def read_timestamp(folder: Path) -> datetime | None:
    """A submission's ``timestamp.txt`` as nbgrader reads it (None if absent or empty)."""
    path = Path(folder) / "timestamp.txt"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return utils.parse_utc(text) if text else None
