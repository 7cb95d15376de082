"""Where dataset files live, how they are checked, and how they are downloaded.

Offline first: a loader looks for its files in the data directory and only
then tries the official URL. Every write is a temporary file renamed into
place, so an interrupted download or cache write never leaves a half file
under the final name.
"""

import hashlib
import os
import urllib.request
from pathlib import Path

from kgen.atomic import atomic_write
from kgen.validation import received

DOWNLOAD_TIMEOUT_S = 30  # per socket operation; a dead network fails fast
# Most bytes one download may write. The largest official file kgen fetches is
# cifar-100-python.tar.gz, 169 MB; a wrong URL or a hostile server is cut off
# here instead of filling the disk.
MAX_DOWNLOAD_BYTES = 1024 * 2**20
_BLOCK_BYTES = 1 << 20


class DatasetFileError(ValueError):
    """A dataset file is missing, corrupt, truncated or unsafe."""


def default_data_dir():
    """`$KGEN_DATA`, else `$KERAS_HOME/datasets`, else `~/.keras/datasets`.

    The Keras default means archives fetched by `keras.datasets` are reused.
    """
    if os.environ.get("KGEN_DATA"):
        return Path(os.environ["KGEN_DATA"]).expanduser()
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        return Path(keras_home).expanduser() / "datasets"
    return Path.home() / ".keras" / "datasets"


def resolve_data_dir(data_dir):
    if data_dir is None:
        return default_data_dir()
    if not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"`data_dir` must be a path. {received('data_dir', data_dir)}")
    return Path(data_dir).expanduser()


def file_digest(path, algorithm="md5", block_size=1 << 20):
    """The hex digest of the file at `path` (`hashlib` algorithm name), read in blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


def check_md5(path, expected_md5):
    """Raises `DatasetFileError` when the file's md5 is not the published one."""
    if expected_md5 is None:
        return
    actual = file_digest(path, "md5")
    if actual != expected_md5:
        raise DatasetFileError(
            f"{path} is corrupt or incomplete: its md5 is {actual}, the published md5 "
            f"is {expected_md5}. Delete it and place (or download) the file again. "
            f"Received: path={str(path)!r}"
        )


def download(url, destination, timeout=DOWNLOAD_TIMEOUT_S):
    """Fetches `url` to `destination` through a temporary file renamed atomically.

    Refuses (`DatasetFileError`) a response that announces or delivers more
    than `MAX_DOWNLOAD_BYTES`.
    """
    def fetch(temporary):
        with open(temporary, "wb") as output, urllib.request.urlopen(
            url, timeout=timeout
        ) as response:
            _copy_at_most(response, output, MAX_DOWNLOAD_BYTES, url)

    return atomic_write(destination, fetch)


def _copy_at_most(response, output, limit, url):
    def too_large(detail):
        return DatasetFileError(
            f"Refusing the download of {url}: it {detail} {limit} bytes, the cap for one "
            f"dataset file (kgen.data.storage.MAX_DOWNLOAD_BYTES), so it is not the dataset "
            f"file. Received: url={url!r}"
        )

    headers = getattr(response, "headers", None) or {}  # file-like responses have none
    announced = headers.get("Content-Length")
    if announced and announced.isdigit() and int(announced) > limit:
        raise too_large(f"announces {announced} bytes, more than")
    written = 0
    while block := response.read(min(_BLOCK_BYTES, limit + 1 - written)):
        written += len(block)
        if written > limit:
            raise too_large("delivers more than")
        output.write(block)


def fetch(filename, url, data_dir, expected_md5=None, subdir=None, dataset=None):
    """Path of `filename` in the data directory, downloading it if absent.

    A file already there is md5-checked; a download is md5-checked before use.
    With no file and no network, the error names the exact path to place the
    file at and the URL to get it from.
    """
    folder = data_dir / subdir if subdir else data_dir
    path = folder / filename
    if path.is_file():
        check_md5(path, expected_md5)
        return path
    try:
        download(url, path)
    except Exception as error:  # no network, HTTP error, unwritable directory
        raise DatasetFileError(
            f"The {dataset or filename} file is not on disk and could not be downloaded "
            f"({type(error).__name__}: {error}). Download {url} on a machine with "
            f"network access and put it at {path} (or pass `data_dir=` / set KGEN_DATA "
            f"to the folder that holds it). Received: data_dir={str(data_dir)!r}"
        ) from None
    try:
        check_md5(path, expected_md5)
    except DatasetFileError:
        path.unlink(missing_ok=True)
        raise
    return path
