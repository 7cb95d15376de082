"""Downloaded files are untrusted: malicious pickles and unsafe tar members are
refused with a clear error, and nothing they ask for happens."""

import os
import pickle
import pickletools
import tarfile

import numpy as np
import pytest

import kgen.data
from kgen.data import cifar
from kgen.data.safe_archive import UnsafeArchiveError, read_tar_members, restricted_unpickle
from tests.data_helpers import (
    cifar10_python_files,
    md5_of,
    pickle_bytes,
    random_images,
    write_folder,
    write_tar_gz,
)


@pytest.fixture(autouse=True)
def _seed_everything():
    # Replaces conftest's per-test Keras seeding and clear_session (about 0.3 s
    # a test, mostly garbage collection): kgen.data never touches Keras.
    yield

CLASS_NAMES = tuple(f"class_{i}" for i in range(10))


class RunsShellCommand:
    """Unpickling this calls os.system: what a poisoned dataset file would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class EvaluatesCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w').write('pwned')",))


@pytest.fixture
def genuine_files():
    rng = np.random.default_rng(0)
    train = (random_images(10, seed=5), rng.integers(0, 10, 10))
    test = (random_images(3, seed=6), rng.integers(0, 10, 3))
    return cifar10_python_files(train, test, CLASS_NAMES)


@pytest.mark.parametrize("payload", [RunsShellCommand, EvaluatesCode])
def test_malicious_pickle_in_a_folder_is_refused_and_never_runs(tmp_path, genuine_files,
                                                                  payload):
    marker = tmp_path / "marker"
    genuine_files["data_batch_1"] = pickle.dumps(payload(marker), protocol=2)
    write_folder(tmp_path / "cifar-10-batches-py", genuine_files)
    with pytest.raises(UnsafeArchiveError, match=r"Refusing to unpickle .*data_batch_1"):
        kgen.data.load("cifar10", data_dir=tmp_path)
    assert not marker.exists()


def test_malicious_pickle_inside_an_archive_is_refused(tmp_path, monkeypatch, genuine_files):
    marker = tmp_path / "marker"
    genuine_files["test_batch"] = pickle.dumps(
        {b"data": RunsShellCommand(marker), b"labels": [0]}, protocol=3)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                           genuine_files)
    monkeypatch.setitem(cifar.ARCHIVE_MD5, archive.name, md5_of(archive))
    with pytest.raises(UnsafeArchiveError, match=r"posix\.system|os\.system|nt\.system"):
        kgen.data.load("cifar10", data_dir=tmp_path)
    assert not marker.exists()


def test_restricted_unpickler_rebuilds_numpy_arrays():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for protocol in (3, 4):
        loaded = restricted_unpickle(pickle.dumps({b"data": array}, protocol=protocol))
        np.testing.assert_array_equal(loaded[b"data"], array)


@pytest.mark.parametrize("module_global", [
    (print, ("hello",)),
    (getattr, ("text", "upper")),
    (np.load, ("file.npy",)),
])
def test_restricted_unpickler_refuses_every_other_global(module_global):
    class Reduces:
        def __reduce__(self):
            return module_global

    with pytest.raises(UnsafeArchiveError, match="Received: global="):
        restricted_unpickle(pickle.dumps(Reduces(), protocol=2))


def unsafe_member(kind):
    if kind == "parent":
        info = tarfile.TarInfo("cifar-10-batches-py/../../escaped.txt")
    elif kind == "absolute":
        info = tarfile.TarInfo("/tmp/kgen-absolute-escape.txt")
    elif kind == "symlink":
        info = tarfile.TarInfo("cifar-10-batches-py/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info = tarfile.TarInfo("cifar-10-batches-py/hard")
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
    else:  # device
        info = tarfile.TarInfo("cifar-10-batches-py/device")
        info.type = tarfile.CHRTYPE
    data = b"escaped" if info.type == tarfile.REGTYPE else None
    if data is not None:
        info.size = len(data)
    return info, data


@pytest.mark.parametrize("kind, reason", [
    ("parent", "'..' component"),
    ("absolute", "absolute path"),
    ("symlink", "a link"),
    ("hardlink", "a link"),
    ("device", "special file"),
])
def test_unsafe_tar_members_refuse_the_archive(tmp_path, monkeypatch, genuine_files, kind,
                                               reason):
    work = tmp_path / "work"
    work.mkdir()
    archive = write_tar_gz(work / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                           genuine_files, extra_members=[unsafe_member(kind)])
    monkeypatch.setitem(cifar.ARCHIVE_MD5, archive.name, md5_of(archive))
    monkeypatch.chdir(work)
    with pytest.raises(UnsafeArchiveError, match=f"Refusing archive .*{reason}"):
        kgen.data.load("cifar10", data_dir=work)
    assert not (tmp_path / "escaped.txt").exists()
    assert sorted(p.name for p in work.iterdir()) == ["cifar-10-python.tar.gz"]


def test_unsafe_member_is_refused_even_when_not_requested(tmp_path):
    archive = write_tar_gz(tmp_path / "a.tar.gz", "top", {"wanted": b"x"},
                           extra_members=[unsafe_member("parent")])
    with pytest.raises(UnsafeArchiveError):
        read_tar_members(archive, ["top/wanted"])


def test_python2_style_batches_use_only_the_allowed_globals():
    # The test archives mimic the originals (protocol 2, BINSTRING, numpy.core):
    # they must name exactly the globals the allowlist holds.
    data = pickle_bytes({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})
    globals_named = {arg for opcode, arg, _ in pickletools.genops(data)
                     if opcode.name == "GLOBAL"}
    assert globals_named == {"numpy.core.multiarray _reconstruct", "numpy ndarray",
                             "numpy dtype"}
    assert data[:2] == b"\x80\x02"
    batch = restricted_unpickle(data)
    assert batch[b"labels"] == [0, 1] and batch[b"data"].shape == (2, 3072)
