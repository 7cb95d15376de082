"""Files written atomically: the one writer behind every file kgen keeps.

A temporary file in the target's folder is written, flushed and fsynced, then
`os.replace`d over the target, which is atomic: a reader (or a restarted
study) sees the old file or the new one, never half of one, whatever moment
the process is killed at. A kill leaves at most a `.NAME.*.partial` file,
which `kgen.studies.files.remove_partial_files` clears.
"""

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"


def atomic_write(path, write):
    """Calls `write(temporary_path)`, makes what it wrote durable and renames it
    to `path`; returns `path`. On any error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=TEMP_SUFFIX)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path, data):
    return atomic_write(path, lambda temporary: Path(temporary).write_bytes(data))


def atomic_write_text(path, text):
    return atomic_write(
        path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8", newline=""))
