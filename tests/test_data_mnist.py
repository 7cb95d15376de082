"""MNIST (Keras mnist.npz) and Fashion-MNIST (gzipped IDX files) loaders."""

import gzip
import hashlib
import urllib.error

import numpy as np
import pytest

import kgen.data
from kgen.data import mnist, storage
from kgen.data.storage import DatasetFileError
from tests.data_helpers import idx_gz_bytes


@pytest.fixture(autouse=True)
def _seed_everything():
    # Replaces conftest's per-test Keras seeding and clear_session (about 0.3 s
    # a test, mostly garbage collection): kgen.data never touches Keras.
    yield


@pytest.fixture
def digits():
    rng = np.random.default_rng(7)
    return {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 6).astype(np.uint8),
    }


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(url, destination, timeout=None):
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(storage, "download", refuse)


def write_mnist_npz(path, arrays, monkeypatch, **extra):
    np.savez(path, **arrays, **extra)
    monkeypatch.setattr(mnist, "MNIST_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())


def write_fashion(data_dir, arrays):
    folder = data_dir / "fashion-mnist"
    folder.mkdir(parents=True)
    for key, filename in mnist.FASHION_FILES.items():
        (folder / filename).write_bytes(idx_gz_bytes(arrays[key]))


def test_mnist_round_trip_as_28x28x1(tmp_path, monkeypatch, digits):
    write_mnist_npz(tmp_path / "mnist.npz", digits, monkeypatch)
    data = kgen.data.load("mnist", data_dir=tmp_path, validation_split=0)
    np.testing.assert_array_equal(data.x_train, digits["x_train"][..., None])
    np.testing.assert_array_equal(data.y_train, digits["y_train"])
    np.testing.assert_array_equal(data.x_test, digits["x_test"][..., None])
    assert data.y_test.dtype == np.int64 and data.input_shape == (28, 28, 1)
    assert data.class_names == tuple("0123456789")


def test_mnist_pad_to_32_and_rgb(tmp_path, monkeypatch, digits):
    write_mnist_npz(tmp_path / "mnist.npz", digits, monkeypatch)
    data = kgen.data.load("mnist", data_dir=tmp_path, validation_split=0, pad_to_32=True,
                          rgb=True)
    assert data.x_train.shape == (20, 32, 32, 3)
    for channel in range(3):
        np.testing.assert_array_equal(data.x_train[:, 2:30, 2:30, channel], digits["x_train"])
    border = data.x_train.copy()
    border[:, 2:30, 2:30] = 0
    assert not border.any()
    assert len(data.mean) == 3


def test_mnist_sha256_mismatch_is_refused(tmp_path, monkeypatch, digits):
    np.savez(tmp_path / "mnist.npz", **digits)  # expected hash stays the published one
    with pytest.raises(DatasetFileError, match="sha256"):
        kgen.data.load("mnist", data_dir=tmp_path)


def test_mnist_npz_with_pickled_objects_is_refused(tmp_path, monkeypatch, digits):
    digits["x_train"] = np.array([{"not": "an image"}], dtype=object)
    write_mnist_npz(tmp_path / "mnist.npz", digits, monkeypatch)
    with pytest.raises(DatasetFileError, match="corrupt or not the Keras mnist.npz"):
        kgen.data.load("mnist", data_dir=tmp_path)


def test_mnist_without_file_or_network_names_the_path_and_url(tmp_path):
    with pytest.raises(DatasetFileError) as raised:
        kgen.data.load("mnist", data_dir=tmp_path)
    assert str(tmp_path / "mnist.npz") in str(raised.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in str(
        raised.value)


def test_fashion_mnist_round_trip(tmp_path, digits):
    write_fashion(tmp_path, digits)
    data = kgen.data.load("fashion_mnist", data_dir=tmp_path, validation_split=0)
    np.testing.assert_array_equal(data.x_train[..., 0], digits["x_train"])
    np.testing.assert_array_equal(data.y_test, digits["y_test"])
    assert data.class_names[0] == "t-shirt/top" and data.num_classes == 10


def test_fashion_mnist_truncated_idx_is_reported(tmp_path, digits):
    write_fashion(tmp_path, digits)
    path = tmp_path / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-50]))
    with pytest.raises(DatasetFileError, match="t10k-images-idx3-ubyte.gz is truncated"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_fashion_mnist_wrong_magic_is_reported(tmp_path, digits):
    write_fashion(tmp_path, digits)
    path = tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(idx_gz_bytes(digits["x_test"]))  # images where labels belong
    with pytest.raises(DatasetFileError, match="not an IDX label file"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_fashion_mnist_cut_gzip_stream_is_reported(tmp_path, digits):
    write_fashion(tmp_path, digits)
    path = tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetFileError, match="corrupt or truncated"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_fashion_mnist_missing_file_names_its_place(tmp_path):
    with pytest.raises(DatasetFileError) as raised:
        kgen.data.load("fashion_mnist", data_dir=tmp_path)
    expected = tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    assert str(expected) in str(raised.value)


@pytest.mark.parametrize("option", ["pad_to_32", "rgb"])
def test_flags_must_be_booleans(tmp_path, option):
    with pytest.raises(TypeError, match=f"Received: {option}='yes'"):
        kgen.data.load("mnist", data_dir=tmp_path, **{option: "yes"})
