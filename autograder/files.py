"""Writing files so that a crash or a kill leaves the old file or the new one, never half of one.

Grades, outcomes, ledgers and imported submissions are all written this way: the data goes to a
temporary file beside the target, reaches the disk, and then replaces the target in one rename.
Every JSON file the course writes (certificates, ledger, status list, outcomes, time budgets)
goes through :func:`write_json`, the one JSON writer.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (readers see the old or the new file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, data, *, indent: int = 2, sort_keys: bool = False) -> None:
    """Replace ``path`` with ``data`` as readable UTF-8 JSON ending in a newline, atomically (a
    certificate, ledger or outcome file is never half-written)."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
