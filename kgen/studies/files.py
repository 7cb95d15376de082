"""Result files written atomically (`kgen.atomic`), and read back without Keras."""

import csv
import io
import json
import math
from pathlib import Path

from kgen.atomic import TEMP_SUFFIX, atomic_write_text


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
