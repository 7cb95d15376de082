"""Reading downloaded archives without trusting them.

Three rules: no archive member is ever written to disk (members are read in
memory with `tarfile.extractfile`, and any member whose path is absolute,
climbs out with `..`, or is a link or device refuses the whole archive); no
member is inflated past a size cap (`MAX_MEMBER_BYTES`, `MAX_ARCHIVE_BYTES`,
checked on each header before its data is read or skipped); and no pickle is
ever loaded with plain `pickle.load`: `restricted_unpickle` resolves only the
three numpy names a CIFAR batch needs to rebuild its arrays.
"""

import io
import pickle
import tarfile
import zlib
from pathlib import PurePosixPath, PureWindowsPath

import numpy as np

from kgen.data.storage import DatasetFileError
from kgen.validation import received

# Size caps, checked against each tar header before its data is inflated: a
# small .tar.gz can declare (and hold) gigabytes of zeros. The largest member of
# any archive kgen reads is CIFAR-100's `train` pickle, about 160 MB; a whole
# archive unpacks to at most about 185 MB. Both caps leave a 3x or larger margin.
MAX_MEMBER_BYTES = 512 * 2**20
MAX_ARCHIVE_BYTES = 1024 * 2**20

# Only what numpy's ndarray pickle refers to. dict, list, bytes, str and int
# are pickle opcodes, not classes, so they need no entry here.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def _numpy_reconstruct():
    # Resolve to the implementation directly: importing `numpy.core` on numpy 2
    # only exists as a deprecation shim.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class UnsafeArchiveError(DatasetFileError):
    """An archive asked for something a dataset file never needs."""


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that can rebuild numpy arrays and nothing else."""

    def __init__(self, file, source="<pickle>", **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafeArchiveError(
                f"Refusing to unpickle {self.source}: it references {module}.{name}, "
                "which a CIFAR batch never contains (only numpy array reconstruction "
                "is allowed), so the file is not a genuine dataset file. "
                f"Received: global={module + '.' + name!r}"
            )
        if name == "_reconstruct":
            return _numpy_reconstruct()
        return getattr(np, name)


def restricted_unpickle(data, source="<pickle>"):
    """Unpickles `data` (bytes) with `encoding="bytes"`, as CIFAR's Python 2 pickles need."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), source=source, encoding="bytes").load()
    except UnsafeArchiveError:
        raise
    except Exception as error:  # truncated or garbled pickle stream
        raise DatasetFileError(
            f"{source} is corrupt or truncated: it is not a readable pickle "
            f"({type(error).__name__}: {error}). Received: path={str(source)!r}"
        ) from None


def check_member_is_safe(member, archive):
    """Refuses absolute paths, `..` components, links and special files."""
    name = member.name
    reason = None
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        reason = "an absolute path"
    elif ".." in PurePosixPath(name.replace("\\", "/")).parts:
        reason = "a '..' component that points outside the archive"
    elif member.issym() or member.islnk():
        reason = f"a link (to {member.linkname!r})"
    elif not (member.isfile() or member.isdir()):
        reason = "a device, pipe or other special file"
    if reason:
        raise UnsafeArchiveError(
            f"Refusing archive {archive}: member {name!r} is {reason}; dataset archives "
            "hold only plain files under one folder. Delete the file and download it "
            f"again from the official source. Received: member={name!r}"
        )


def check_member_size(member, archive, total):
    """Refuses a member above `MAX_MEMBER_BYTES`, or one that takes the members
    read so far (`total` bytes, this one included) above `MAX_ARCHIVE_BYTES`."""
    if member.size > MAX_MEMBER_BYTES:
        reason = (f"is {member.size} bytes, more than the {MAX_MEMBER_BYTES}-byte cap for "
                  "one member")
    elif total > MAX_ARCHIVE_BYTES:
        reason = (f"takes the members up to {total} bytes, more than {MAX_ARCHIVE_BYTES} "
                  "bytes in all (the cap for a whole archive)")
    else:
        return
    raise UnsafeArchiveError(
        f"Refusing archive {archive}: member {member.name!r} {reason}; no dataset kgen "
        "reads comes near that, so the archive is not the official one (or would inflate "
        "to gigabytes). Delete the file and download it again from the official source. "
        f"Received: member={member.name!r}"
    )


def read_tar_members(archive, wanted):
    """`{name: bytes}` for each member name in `wanted`, read in memory.

    Every member is checked with `check_member_is_safe` and `check_member_size`,
    wanted or not (tarfile inflates the members it skips over, too), so a
    tampered archive is refused as a whole.
    """
    wanted = set(wanted)
    found = {}
    total = 0
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            # Iteration reads one header at a time; a member's data is only
            # inflated when it is read, or skipped on the next step.
            for member in tar:
                check_member_is_safe(member, archive)
                total += member.size
                check_member_size(member, archive, total)
                if member.name in wanted and member.isfile():
                    found[member.name] = tar.extractfile(member).read()
    except DatasetFileError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DatasetFileError(
            f"{archive} is corrupt or truncated ({type(error).__name__}: {error}). "
            "Delete it and place (or download) it again. "
            f"{received('path', str(archive))}"
        ) from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DatasetFileError(
            f"{archive} does not hold the expected files {missing}; it is incomplete "
            f"or not the official archive. {received('path', str(archive))}"
        )
    return found
