"""CIFAR-10/100 loaders: every official format round-trips pixel for pixel, and
missing, corrupt, truncated and wrong-md5 files give clear errors."""

import urllib.error

import numpy as np
import pytest

import kgen.data
from kgen.data import cifar, storage
from kgen.data.storage import DatasetFileError
from tests.data_helpers import (
    cifar10_binary_files,
    cifar10_python_files,
    cifar100_binary_files,
    cifar100_python_files,
    md5_of,
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
FINE_NAMES = tuple(f"fine_{i}" for i in range(100))
COARSE_NAMES = tuple(f"coarse_{i}" for i in range(20))


@pytest.fixture(scope="module")
def cifar10_arrays():
    rng = np.random.default_rng(1)
    train = (random_images(25, seed=1), rng.integers(0, 10, 25))
    test = (random_images(7, seed=2), rng.integers(0, 10, 7))
    return train, test


@pytest.fixture(scope="module")
def cifar100_arrays():
    rng = np.random.default_rng(2)
    train = (random_images(12, seed=3), rng.integers(0, 100, 12), rng.integers(0, 20, 12))
    test = (random_images(5, seed=4), rng.integers(0, 100, 5), rng.integers(0, 20, 5))
    return train, test


def trust_archive(monkeypatch, path):
    """Our small archives cannot have the published md5: make theirs the expected one."""
    monkeypatch.setitem(cifar.ARCHIVE_MD5, path.name, md5_of(path))


def no_network(monkeypatch):
    def refuse(url, destination, timeout=None):
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(storage, "download", refuse)


def assert_round_trip(data, train, test, class_names):
    np.testing.assert_array_equal(data.x_train, train[0])
    np.testing.assert_array_equal(data.y_train, train[1])
    np.testing.assert_array_equal(data.x_test, test[0])
    np.testing.assert_array_equal(data.y_test, test[1])
    assert data.class_names == tuple(class_names)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64


# === CIFAR-10 ===


def test_cifar10_python_archive_round_trip(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                           cifar10_python_files(*cifar10_arrays, CLASS_NAMES))
    trust_archive(monkeypatch, archive)
    data = kgen.data.load("cifar10", data_dir=tmp_path, validation_split=0)
    assert_round_trip(data, *cifar10_arrays, CLASS_NAMES)
    assert not (tmp_path / "cifar-10-batches-py").exists()  # read in memory, not extracted


def test_cifar10_binary_archive_round_trip(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    archive = write_tar_gz(tmp_path / "cifar-10-binary.tar.gz", "cifar-10-batches-bin",
                           cifar10_binary_files(*cifar10_arrays, CLASS_NAMES))
    trust_archive(monkeypatch, archive)
    data = kgen.data.load("cifar10", data_dir=tmp_path, validation_split=0)
    assert_round_trip(data, *cifar10_arrays, CLASS_NAMES)


@pytest.mark.parametrize(
    "folder, build",
    [
        ("cifar-10-batches-py", cifar10_python_files),
        ("cifar-10-batches-bin", cifar10_binary_files),
        ("cifar-10-batches-py-target/cifar-10-batches-py", cifar10_python_files),  # keras 3
    ],
)
def test_cifar10_extracted_folders_round_trip(tmp_path, monkeypatch, cifar10_arrays, folder,
                                              build):
    no_network(monkeypatch)
    write_folder(tmp_path / folder, build(*cifar10_arrays, CLASS_NAMES))
    data = kgen.data.load("cifar10", data_dir=tmp_path, validation_split=0)
    assert_round_trip(data, *cifar10_arrays, CLASS_NAMES)


def test_kgen_data_environment_variable_sets_the_data_dir(tmp_path, monkeypatch,
                                                          cifar10_arrays):
    no_network(monkeypatch)
    write_folder(tmp_path / "cifar-10-batches-py", cifar10_python_files(*cifar10_arrays,
                                                                        CLASS_NAMES))
    monkeypatch.setenv("KGEN_DATA", str(tmp_path))
    assert kgen.data.default_data_dir() == tmp_path
    data = kgen.data.load("cifar10", validation_split=0)
    assert_round_trip(data, *cifar10_arrays, CLASS_NAMES)


def test_default_data_dir_is_the_keras_one(monkeypatch, tmp_path):
    monkeypatch.delenv("KGEN_DATA", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kgen.data.default_data_dir() == tmp_path / ".keras" / "datasets"


def test_published_md5_mismatch_is_refused(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                 cifar10_python_files(*cifar10_arrays, CLASS_NAMES))
    # The expected md5 stays the published c58f3...: our small archive must fail it.
    with pytest.raises(DatasetFileError, match=r"md5 is [0-9a-f]{32}, the published md5 "
                                               r"is c58f30108f718f92721af3b95e74349a"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_truncated_archive_is_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                           cifar10_python_files(*cifar10_arrays, CLASS_NAMES))
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    trust_archive(monkeypatch, archive)
    with pytest.raises(DatasetFileError, match="corrupt or truncated"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_not_a_tar_file_is_reported(tmp_path, monkeypatch):
    no_network(monkeypatch)
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"<html>404 not found</html>")
    trust_archive(monkeypatch, archive)
    with pytest.raises(DatasetFileError, match="corrupt or truncated"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_archive_missing_a_batch_is_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    files = cifar10_python_files(*cifar10_arrays, CLASS_NAMES)
    del files["test_batch"]
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    trust_archive(monkeypatch, archive)
    with pytest.raises(DatasetFileError, match="test_batch"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_truncated_binary_batch_is_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    files = cifar10_binary_files(*cifar10_arrays, CLASS_NAMES)
    files["data_batch_3.bin"] = files["data_batch_3.bin"][:-100]
    write_folder(tmp_path / "cifar-10-batches-bin", files)
    with pytest.raises(DatasetFileError, match=r"data_batch_3.bin is truncated"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_truncated_pickle_batch_is_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    files = cifar10_python_files(*cifar10_arrays, CLASS_NAMES)
    files["data_batch_2"] = files["data_batch_2"][: len(files["data_batch_2"]) // 2]
    write_folder(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(DatasetFileError, match=r"data_batch_2 is corrupt or truncated"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_extracted_folder_missing_a_file_is_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    files = cifar10_python_files(*cifar10_arrays, CLASS_NAMES)
    del files["batches.meta"]
    write_folder(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(DatasetFileError, match="lacks batches.meta"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_no_file_and_no_network_says_where_to_put_the_file(tmp_path, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(DatasetFileError) as raised:
        kgen.data.load("cifar10", data_dir=tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "cifar-10-python.tar.gz") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert "cifar-10-binary.tar.gz" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_real_download_code_fails_fast_on_an_unreachable_url(tmp_path, monkeypatch):
    # Port 9 (discard) on localhost is closed: the real urllib path fails at once.
    monkeypatch.setattr(cifar, "OFFICIAL_URL", "http://127.0.0.1:9/")
    monkeypatch.setattr(storage, "DOWNLOAD_TIMEOUT_S", 2)
    with pytest.raises(DatasetFileError, match="could not be downloaded"):
        kgen.data.load("cifar10", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no partial download left behind


def test_download_writes_atomically_then_loads(tmp_path, monkeypatch, cifar10_arrays):
    source = write_tar_gz(tmp_path / "server.tar.gz", "cifar-10-batches-py",
                          cifar10_python_files(*cifar10_arrays, CLASS_NAMES))
    monkeypatch.setitem(cifar.ARCHIVE_MD5, "cifar-10-python.tar.gz", md5_of(source))
    requested = []

    def fake_urlopen(url, timeout):
        requested.append((url, timeout))
        return open(source, "rb")

    monkeypatch.setattr(storage.urllib.request, "urlopen", fake_urlopen)
    data_dir = tmp_path / "cache"
    data = kgen.data.load("cifar10", data_dir=data_dir, validation_split=0)
    assert_round_trip(data, *cifar10_arrays, CLASS_NAMES)
    assert requested == [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                          storage.DOWNLOAD_TIMEOUT_S)]
    assert sorted(p.name for p in data_dir.iterdir()) == ["cifar-10-python.tar.gz"]


def test_corrupt_download_is_deleted(tmp_path, monkeypatch):
    source = tmp_path / "garbage"
    source.write_bytes(b"not the archive")
    monkeypatch.setattr(storage.urllib.request, "urlopen", lambda url, timeout: open(source,
                                                                                       "rb"))
    data_dir = tmp_path / "cache"
    with pytest.raises(DatasetFileError, match="md5"):
        kgen.data.load("cifar10", data_dir=data_dir)
    assert list(data_dir.iterdir()) == []


# === CIFAR-100 ===


@pytest.mark.parametrize("label_mode, names, column", [("fine", FINE_NAMES, 1),
                                                       ("coarse", COARSE_NAMES, 2)])
@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar100_archives_round_trip(tmp_path, monkeypatch, cifar100_arrays, label_mode,
                                      names, column, version):
    no_network(monkeypatch)
    if version == "python":
        archive = write_tar_gz(tmp_path / "cifar-100-python.tar.gz", "cifar-100-python",
                               cifar100_python_files(*cifar100_arrays, FINE_NAMES,
                                                     COARSE_NAMES))
    else:
        archive = write_tar_gz(tmp_path / "cifar-100-binary.tar.gz", "cifar-100-binary",
                               cifar100_binary_files(*cifar100_arrays, FINE_NAMES,
                                                     COARSE_NAMES))
    trust_archive(monkeypatch, archive)
    data = kgen.data.load("cifar100", data_dir=tmp_path, validation_split=0,
                          label_mode=label_mode)
    train, test = cifar100_arrays
    assert_round_trip(data, (train[0], train[column]), (test[0], test[column]), names)
    assert data.num_classes == len(names)


def test_cifar100_extracted_folder_round_trip(tmp_path, monkeypatch, cifar100_arrays):
    no_network(monkeypatch)
    write_folder(tmp_path / "cifar-100-python",
                 cifar100_python_files(*cifar100_arrays, FINE_NAMES, COARSE_NAMES))
    data = kgen.data.load("cifar100", data_dir=tmp_path, validation_split=0)
    train, test = cifar100_arrays
    assert_round_trip(data, (train[0], train[1]), (test[0], test[1]), FINE_NAMES)


def test_cifar100_bad_label_mode_suggests_the_right_one(tmp_path):
    with pytest.raises(ValueError, match=r"Did you mean 'coarse'.*Received: label_mode='corse'"):
        kgen.data.load("cifar100", data_dir=tmp_path, label_mode="corse")


def test_cifar100_archive_md5_mismatch_is_refused(tmp_path, monkeypatch, cifar100_arrays):
    no_network(monkeypatch)
    write_tar_gz(tmp_path / "cifar-100-python.tar.gz", "cifar-100-python",
                 cifar100_python_files(*cifar100_arrays, FINE_NAMES, COARSE_NAMES))
    with pytest.raises(DatasetFileError, match="eb9058c3a382ffc7106e4002c42a8d85"):
        kgen.data.load("cifar100", data_dir=tmp_path)


def test_cifar100_without_files_names_both_archives(tmp_path, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(DatasetFileError) as raised:
        kgen.data.load("cifar100", data_dir=tmp_path)
    assert str(tmp_path / "cifar-100-python.tar.gz") in str(raised.value)
    assert "cifar-100-binary.tar.gz" in str(raised.value)


def test_labels_beyond_the_class_names_are_reported(tmp_path, monkeypatch, cifar10_arrays):
    no_network(monkeypatch)
    write_folder(tmp_path / "cifar-10-batches-bin",
                 cifar10_binary_files(*cifar10_arrays, CLASS_NAMES[:5]))
    with pytest.raises(DatasetFileError, match="5 class names"):
        kgen.data.load("cifar10", data_dir=tmp_path)
