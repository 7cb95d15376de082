"""Result files written atomically, and read back without Keras.

Every file a study writes goes through `atomic_write_text`: a temporary file in
the same folder, flushed and fsynced, then `os.replace`d over the target, so a
reader (or a restarted study) sees the old file or the new one, never half of
one, whatever moment the process is killed at.
"""

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".partial"
# For tests only (tests/test_studies_resume.py): with KGEN_TEST_PAUSE_AT=POINT in
# the environment, a study stops at POINT, says so on stdout and sleeps, so a test
# can SIGKILL it at a known moment. Points: "loading-data", "train:VARIANT:SEED:
# EPOCH:BATCH" (after that batch, both 0-based) and "write:NAME" (a file named NAME
# written to its temporary file but not yet renamed). Unset, nothing happens.
PAUSE_VARIABLE = "KGEN_TEST_PAUSE_AT"


def pause_if_requested(point):
    if os.environ.get(PAUSE_VARIABLE) == point:
        print(f"kgen-test: paused at {point}", file=sys.stdout, flush=True)
        time.sleep(600)


def atomic_write_text(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        pause_if_requested(f"write:{path.name}")
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise


def atomic_write_bytes(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        pause_if_requested(f"write:{path.name}")
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise


def remove_partial_files(folder):
    """Deletes temporary files a killed writer left in `folder`."""
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.glob(f".*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)


def to_jsonable(value):
    """Plain JSON: non-finite floats become None (JSON has no NaN), numpy scalars
    become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, data):
    atomic_write_text(path, json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def write_csv(path, rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    atomic_write_text(path, buffer.getvalue())


def read_csv(path):
    """Rows as dicts; numeric cells become floats (or ints), empty cells None."""
    with open(path, encoding="utf-8", newline="") as file:
        return [{k: _parse_cell(v) for k, v in row.items()} for row in csv.DictReader(file)]


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return value


def _parse_cell(text):
    if text is None or text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and text.lstrip("-").isdigit():
        return int(number)
    return number
