"""Bad dataset input (issue 15): every case gives a clear error that names the
file or folder and the value received, or loads correctly; never a raw
traceback from numpy, Pillow or zipfile, and never silently wrong data."""

import gzip
import io
import os
import shutil
import struct
import tarfile
import zipfile
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

import kgen.data
import kgen.models
from kgen.data import cifar, mnist, safe_archive, storage
from kgen.data.storage import DatasetFileError
from tests.data_helpers import (
    cifar10_binary_files,
    cifar10_python_files,
    cifar100_python_files,
    idx_gz_bytes,
    md5_of,
    pickle_bytes,
    random_images,
    to_cifar_rows,
    write_folder,
    write_image_folder,
    write_tar_gz,
)

CLASS_NAMES = tuple(f"class_{i}" for i in range(10))
needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt",
                                    reason="symbolic links need a POSIX file system")


def load_folder(root, cache_dir, **options):
    options.setdefault("validation_split", 0)
    options.setdefault("test_split", 0)
    return kgen.data.load(f"folder:{root}", data_dir=cache_dir, **options)


# === 1. 16-bit and float images ===


def gradient_16bit(height=8, width=256):
    """A full-range horizontal ramp 0..65535, the same on every row."""
    return np.broadcast_to(np.linspace(0, 65535, width).round().astype(np.uint16),
                           (height, width)).copy()


def png_48bit_rgb(pixels):
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one) from (H, W, 3) uint16."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    height, width, _ = pixels.shape
    big_endian = pixels.astype(">u2")
    rows = b"".join(b"\x00" + big_endian[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def save_as(array, path, mode_format):
    """Writes `array` with Pillow; TIFF content under a `.png` name reaches the
    modes a PNG cannot hold ("I;16B", "I", "F"): Pillow goes by content, not name."""
    Image.fromarray(array).save(path, format=mode_format)


@pytest.mark.parametrize("dtype, file_format, expected_mode", [
    (np.uint16, "PNG", "I;16"),
    (">u2", "TIFF", "I;16B"),
    (np.int32, "TIFF", "I"),
])
def test_16bit_grayscale_is_scaled_to_8_bits_not_clipped(tmp_path, dtype, file_format,
                                                           expected_mode):
    gradient = gradient_16bit()
    root = tmp_path / "data"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        save_as(gradient.astype(dtype), root / name / "ramp.png", file_format)
    with Image.open(root / "a" / "ramp.png") as image:
        assert image.mode == expected_mode
    data = load_folder(root, tmp_path / "cache")
    decoded = data.x_train[0]
    # Clipping gave a mean of ~254 (99.6% white); a proper scaling keeps half range.
    assert abs(decoded.mean() - 127.5) < 1.0
    np.testing.assert_array_equal(decoded, np.repeat((gradient >> 8)[..., None], 3, axis=-1))


def test_16bit_grayscale_matches_pillows_own_16bit_rgb_decoding(tmp_path):
    # Pillow decodes 48-bit RGB PNGs by keeping the high byte; a 16-bit gray
    # image must become the same 8-bit values, or mixed folders disagree.
    gradient = gradient_16bit(height=4, width=64)
    root = tmp_path / "data"
    (root / "gray").mkdir(parents=True)
    (root / "rgb").mkdir()
    Image.fromarray(gradient).save(root / "gray" / "ramp.png")
    (root / "rgb" / "ramp.png").write_bytes(png_48bit_rgb(np.stack([gradient] * 3, axis=-1)))
    data = load_folder(root, tmp_path / "cache")
    np.testing.assert_array_equal(data.x_train[0], data.x_train[1])


@pytest.mark.parametrize("array, reason", [
    (np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8), "mode='F'"),
    (np.full((8, 8), 70_000, np.int32), "max=70000"),
    (np.full((8, 8), -5, np.int32), "min=-5"),
])
def test_images_8_bits_cannot_represent_are_refused_naming_the_file(tmp_path, array, reason):
    root = tmp_path / "data"
    write_image_folder(root, 2, size=8)
    bad = root / "cat" / "scientific.png"
    save_as(array, bad, "TIFF")
    with pytest.raises(ValueError, match="1 image file") as raised:
        load_folder(root, tmp_path / "cache")
    message = str(raised.value)
    assert str(bad) in message and reason in message
    with pytest.warns(UserWarning, match="Skipped 1 unreadable"):
        data = load_folder(root, tmp_path / "cache", skip_bad=True)
    assert data.skipped_files == (str(bad),)


def test_image_above_the_pixel_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    root = tmp_path / "data"
    write_image_folder(root, 1, size=8)
    Image.fromarray(random_images(1, size=40)[0]).save(root / "cat" / "huge.png")
    # Between Pillow's warning (> cap) and its own error (> 2 x cap): Pillow
    # only warns and would decode; kgen refuses the file.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.warns(Image.DecompressionBombWarning):
        with pytest.raises(ValueError, match=r"huge\.png.*1600 pixels"):
            load_folder(root, tmp_path / "cache")


# === 2. Layouts ===


def write_flat(folder_path, count=2, seed=0):
    folder_path.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(random_images(count, seed=seed)):
        Image.fromarray(image).save(folder_path / f"{index}.png")


def test_empty_test_folder_beside_train_is_refused(tmp_path):
    write_image_folder(tmp_path / "set" / "train", 2)
    (tmp_path / "set" / "test").mkdir()
    with pytest.raises(ValueError, match="Test folder .*test' holds no images") as raised:
        load_folder(tmp_path / "set" / "train", tmp_path / "cache")
    assert "Received: path=" in str(raised.value)


def test_test_folder_with_only_empty_class_folders_is_refused(tmp_path):
    write_image_folder(tmp_path / "set" / "train", 2)
    (tmp_path / "set" / "test" / "cat").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"test.cat' holds no images"):
        load_folder(tmp_path / "set" / "train", tmp_path / "cache")


def test_flat_train_and_test_folders_are_not_read_as_two_classes(tmp_path):
    write_flat(tmp_path / "set" / "train")
    write_flat(tmp_path / "set" / "test", seed=1)
    with pytest.raises(ValueError, match="split folders") as raised:
        load_folder(tmp_path / "set", tmp_path / "cache")
    message = str(raised.value)
    assert "['test', 'train']" in message
    assert f"{tmp_path / 'set' / 'train'}/<class>/<image>" in message
    assert "directly in" in message


def test_parent_of_a_proper_train_folder_points_at_the_train_folder(tmp_path):
    write_image_folder(tmp_path / "set" / "train", 1)
    write_image_folder(tmp_path / "set" / "test", 1)
    with pytest.raises(ValueError, match="split folders") as raised:
        load_folder(tmp_path / "set", tmp_path / "cache")
    assert f"folder:{tmp_path / 'set' / 'train'}" in str(raised.value)


def test_flat_train_folder_explains_the_expected_layout(tmp_path):
    write_flat(tmp_path / "set" / "train", count=3)
    with pytest.raises(ValueError, match="at least two classes") as raised:
        load_folder(tmp_path / "set" / "train", tmp_path / "cache")
    message = str(raised.value)
    assert "3 image file(s) lie directly in" in message
    assert f"{tmp_path / 'set' / 'train'}/<class>/<image>" in message


def test_flat_test_folder_beside_a_proper_train_folder_is_refused(tmp_path):
    write_image_folder(tmp_path / "set" / "train", 2)
    write_flat(tmp_path / "set" / "test")
    with pytest.raises(ValueError, match=r"Test folder .* holds 2 image file\(s\) directly"):
        load_folder(tmp_path / "set" / "train", tmp_path / "cache")


def test_a_class_named_train_is_still_a_class(tmp_path):
    write_image_folder(tmp_path / "vehicles", 1, class_names=("bus", "car", "train"))
    data = load_folder(tmp_path / "vehicles", tmp_path / "cache")
    assert data.class_names == ("bus", "car", "train")


def test_loose_images_beside_class_folders_are_reported(tmp_path):
    write_image_folder(tmp_path / "data", 1)
    Image.fromarray(random_images(1)[0]).save(tmp_path / "data" / "stray.png")
    with pytest.warns(UserWarning, match="1 image file.*not in a class folder"):
        data = load_folder(tmp_path / "data", tmp_path / "cache")
    assert len(data.x_train) == 2


# === 3. Symbolic links ===


@needs_symlinks
@pytest.mark.parametrize("cycle", [False, True])
def test_class_folder_link_that_loops_is_refused_naming_the_link(tmp_path, cycle):
    root = tmp_path / "data"
    write_image_folder(root, 1)
    if cycle:
        os.symlink(root / "b", root / "a")
        os.symlink(root / "a", root / "b")
    else:
        os.symlink(root / "a", root / "a")
    with pytest.raises(ValueError, match="symbolic link that loops or points to nothing") as raised:
        load_folder(root, tmp_path / "cache")
    assert str(root / "a") in str(raised.value)


@needs_symlinks
def test_dangling_class_folder_link_is_refused(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, 1)
    os.symlink(tmp_path / "gone", root / "bird")
    with pytest.raises(ValueError, match=r"bird' is a symbolic link"):
        load_folder(root, tmp_path / "cache")


@needs_symlinks
def test_image_link_that_loops_is_an_unreadable_file(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, 2)
    loop = root / "cat" / "loop.png"
    os.symlink(loop, loop)
    with pytest.raises(ValueError, match="1 image file") as raised:
        load_folder(root, tmp_path / "cache")
    assert f"{loop}: ValueError: is a symbolic link that loops" in str(raised.value)
    with pytest.warns(UserWarning, match="Skipped 1"):
        data = load_folder(root, tmp_path / "cache", skip_bad=True)
    assert data.skipped_files == (str(loop),) and len(data.x_train) == 4


@needs_symlinks
def test_links_back_up_the_tree_do_not_hang(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, 2)
    os.symlink(root, root / "cat" / "up")  # a folder inside a class: not an image, ignored
    os.symlink(root / "cat", root / "dog" / "sideways")
    os.symlink(root / "cat" / "0000.png", root / "dog" / "shared.png")  # a good image link
    data = load_folder(root, tmp_path / "cache")
    assert np.bincount(data.y_train).tolist() == [2, 3]


@needs_symlinks
def test_test_folder_link_that_loops_is_refused(tmp_path):
    write_image_folder(tmp_path / "set" / "train", 2)
    os.symlink(tmp_path / "set" / "test", tmp_path / "set" / "test")
    with pytest.raises(ValueError, match=r"test' is a symbolic link that loops"):
        load_folder(tmp_path / "set" / "train", tmp_path / "cache")


# === 4. CIFAR labels ===


def cifar10_batches(train_labels=None, test_labels=None):
    rng = np.random.default_rng(0)
    train = (random_images(10, seed=1), rng.integers(0, 10, 10))
    test = (random_images(4, seed=2), rng.integers(0, 10, 4))
    files = cifar10_python_files(train, test, CLASS_NAMES)
    if train_labels is not None:  # replaces data_batch_3's labels (2 images)
        batch = {b"labels": train_labels, b"data": to_cifar_rows(train[0][4:6])}
        files["data_batch_3"] = pickle_bytes(batch)
    return files


@pytest.mark.parametrize("labels, shown", [
    ([1, 10], "label=10"),
    ([255, 1], "label=255"),
    ([-1, 2], "label=-1"),
    ([1, 10**30], f"label={10**30}"),
    ([1, 2.5], "label=2.5"),
    ([3.0, 1], "label=3.0"),
    ([1, "cat"], "label='cat'"),
    ([b"3", 1], "label=b'3'"),
    ([None, 1], "label=None"),
    ([True, 1], "label=True"),
])
def test_bad_cifar_labels_are_refused_naming_the_batch_and_value(tmp_path, labels, shown):
    write_folder(tmp_path / "cifar-10-batches-py", cifar10_batches(train_labels=labels))
    with pytest.raises(DatasetFileError, match="data_batch_3") as raised:
        kgen.data.load("cifar10", data_dir=tmp_path)
    assert shown in str(raised.value)


@pytest.mark.parametrize("labels", [[1], [1, 2, 3], [[1], [2]], 7, b"\x01\x02", {1: 2}])
def test_cifar_labels_that_are_not_one_id_per_image_are_refused(tmp_path, labels):
    write_folder(tmp_path / "cifar-10-batches-py", cifar10_batches(train_labels=labels))
    with pytest.raises(DatasetFileError, match=r"data_batch_3.*Received: path="):
        kgen.data.load("cifar10", data_dir=tmp_path)


@pytest.mark.parametrize("names, message", [(7, "no b'label_names' list"),
                                            ([], "lists 0 class names")])
def test_cifar_meta_without_class_names_is_refused(tmp_path, names, message):
    files = cifar10_batches()
    files["batches.meta"] = pickle_bytes({b"label_names": names})
    write_folder(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(DatasetFileError, match=message):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_bad_label_byte_in_a_binary_batch_names_the_file(tmp_path):
    rng = np.random.default_rng(0)
    train = (random_images(10, seed=1), rng.integers(0, 10, 10))
    test = (random_images(4, seed=2), rng.integers(0, 10, 4))
    files = cifar10_binary_files(train, test, CLASS_NAMES)
    records = bytearray(files["test_batch.bin"])
    records[3073 * 2] = 200  # label byte of the third record
    files["test_batch.bin"] = bytes(records)
    write_folder(tmp_path / "cifar-10-batches-bin", files)
    with pytest.raises(DatasetFileError, match=r"test_batch\.bin.*image 2 has label 200.*label=200"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_cifar100_fine_label_100_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    fine_names = [f"fine_{i}" for i in range(100)]
    coarse_names = [f"coarse_{i}" for i in range(20)]
    train = (random_images(3), np.array([0, 100, 5]), rng.integers(0, 20, 3))
    test = (random_images(2), np.array([1, 2]), rng.integers(0, 20, 2))
    write_folder(tmp_path / "cifar-100-python",
                 cifar100_python_files(train, test, fine_names, coarse_names))
    with pytest.raises(DatasetFileError, match=r"train.*label=100"):
        kgen.data.load("cifar100", data_dir=tmp_path)
    # The coarse labels of the same files are fine.
    assert kgen.data.load("cifar100", data_dir=tmp_path, label_mode="coarse").num_classes == 20


# === 5. Size caps on compressed and downloaded files ===


def test_tar_member_over_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    archive = write_tar_gz(tmp_path / "a.tar.gz", "top",
                           {"small": b"x" * 10, "bomb": bytes(50_000)})
    monkeypatch.setattr(safe_archive, "MAX_MEMBER_BYTES", 10_000)

    def must_not_read(self, member):
        raise AssertionError(f"read {member.name} before checking its size")

    monkeypatch.setattr(tarfile.TarFile, "extractfile", must_not_read)
    with pytest.raises(DatasetFileError, match=r"member 'top/bomb' .*50000 bytes") as raised:
        safe_archive.read_tar_members(archive, ["top/bomb"])
    assert "a.tar.gz" in str(raised.value) and "Received: member=" in str(raised.value)


def test_tar_members_over_the_total_cap_are_refused(tmp_path, monkeypatch):
    archive = write_tar_gz(tmp_path / "a.tar.gz", "top",
                           {f"part{i}": bytes(4_000) for i in range(5)})
    monkeypatch.setattr(safe_archive, "MAX_ARCHIVE_BYTES", 10_000)
    with pytest.raises(DatasetFileError, match="more than 10000 bytes"):
        safe_archive.read_tar_members(archive, ["top/part0"])


def test_cifar_archive_over_the_cap_is_refused(tmp_path, monkeypatch):
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                           cifar10_batches())
    monkeypatch.setitem(cifar.ARCHIVE_MD5, archive.name, md5_of(archive))
    monkeypatch.setattr(safe_archive, "MAX_MEMBER_BYTES", 10_000)  # test_batch: ~12.6 kB
    with pytest.raises(DatasetFileError, match=r"cifar-10-python.tar.gz: member .*test_batch"):
        kgen.data.load("cifar10", data_dir=tmp_path)


def test_extracted_cifar_file_over_the_cap_is_refused(tmp_path, monkeypatch):
    write_folder(tmp_path / "cifar-10-batches-py", cifar10_batches())
    monkeypatch.setattr(safe_archive, "MAX_MEMBER_BYTES", 10_000)  # test_batch: ~12.6 kB
    with pytest.raises(DatasetFileError, match=r"test_batch is \d+ bytes.*Received: path="):
        kgen.data.load("cifar10", data_dir=tmp_path)


def write_fashion(data_dir, **replacements):
    rng = np.random.default_rng(7)
    arrays = {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 6).astype(np.uint8),
    }
    target = data_dir / mnist.FASHION_FOLDER
    target.mkdir(parents=True)
    for key, filename in mnist.FASHION_FILES.items():
        data = replacements.get(key)
        (target / filename).write_bytes(data if data is not None else idx_gz_bytes(arrays[key]))
    return target


def test_gzip_bomb_behind_an_idx_header_is_refused_without_inflating_it(tmp_path, monkeypatch):
    # 16 MiB of zeros after a header that promises 20 labels: gzip shrinks it to
    # ~16 KiB; the reader stops one byte past the promise instead of inflating it all.
    bomb = gzip.compress((2049).to_bytes(4, "big") + (20).to_bytes(4, "big") + bytes(16 << 20))
    assert len(bomb) < 100_000
    write_fashion(tmp_path, y_train=bomb)
    label_reads = []
    original_read = gzip.GzipFile.read

    def recording_read(self, size=-1):
        if "train-labels" in str(self.name):
            label_reads.append(size)
        return original_read(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", recording_read)
    with pytest.raises(DatasetFileError, match="train-labels-idx1-ubyte.gz holds more data"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)
    assert label_reads == [8, 21]  # the header, then the 20 promised bytes and one more


def test_idx_header_promising_more_than_the_cap_is_refused(tmp_path, monkeypatch):
    write_fashion(tmp_path)
    monkeypatch.setattr(mnist, "MAX_IDX_BYTES", 10_000)  # the train images hold 15,680
    with pytest.raises(DatasetFileError, match=r"train-images-idx3-ubyte.gz .*\(20, 28, 28\)"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_idx_header_whose_size_overflows_int64_is_refused(tmp_path):
    # 2**32 - 1 images of 2**16 x 2**16: the byte count wraps negative in int64.
    header = b"".join(value.to_bytes(4, "big") for value in (2051, 2**32 - 1, 2**16, 2**16))
    write_fashion(tmp_path, x_test=gzip.compress(header + bytes(100)))
    with pytest.raises(DatasetFileError, match=r"t10k-images-idx3-ubyte.gz promises"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_fashion_labels_outside_the_classes_are_refused(tmp_path):
    write_fashion(tmp_path, y_test=idx_gz_bytes(np.array([1, 2, 3, 4, 5, 12], np.uint8)))
    with pytest.raises(DatasetFileError, match=r"y_test.*label=12"):
        kgen.data.load("fashion_mnist", data_dir=tmp_path)


def test_download_over_the_cap_is_refused_and_leaves_no_file(tmp_path, monkeypatch):
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(50_000))
    destination = tmp_path / "out" / "file.bin"
    monkeypatch.setattr(storage, "MAX_DOWNLOAD_BYTES", 10_000)
    with pytest.raises(DatasetFileError, match="more than 10000 bytes"):
        storage.download(source.as_uri(), destination)
    assert list((tmp_path / "out").iterdir()) == []
    monkeypatch.setattr(storage, "MAX_DOWNLOAD_BYTES", 50_000)
    assert storage.download(source.as_uri(), destination).read_bytes() == bytes(50_000)


def test_download_without_a_length_header_is_cut_off_at_the_cap(tmp_path):
    class EndlessResponse:
        headers = {}

        def read(self, size):
            return bytes(size)  # a server that never stops sending zeros

    with open(tmp_path / "out.part", "wb") as output:
        with pytest.raises(DatasetFileError, match="delivers more than 5000 bytes"):
            storage._copy_at_most(EndlessResponse(), output, 5000, "https://example.invalid/x")
    assert (tmp_path / "out.part").stat().st_size <= 5000


# === 6. Channels with no spread ===


def test_constant_channel_standardizes_with_std_one():
    images = random_images(6, size=4)
    images[..., 1] = 77  # exactly constant: float sums could leave a tiny variance
    images[..., 2] = 0
    images[0, 0, 0, 2] = 1  # one pixel a single gray level up: still no usable spread
    with pytest.warns(UserWarning, match=r"channel\(s\) \[1, 2\]"):
        mean, std = kgen.data.channel_statistics(images)
    assert std[0] > 0.2 and std[1] == 1.0 and std[2] == 1.0
    np.testing.assert_allclose(mean[1], 77 / 255, rtol=1e-6)


def test_folder_with_a_blank_channel_gives_a_finite_model(tmp_path):
    root = tmp_path / "data"
    written = write_image_folder(root, 2, size=8)
    for name, images in written.items():
        for index, image in enumerate(images):
            image[..., 2] = 0  # no blue anywhere
            Image.fromarray(image).save(root / name / f"{index:04d}.png")
    with pytest.warns(UserWarning, match="no spread"):
        data = load_folder(root, tmp_path / "cache")
    assert data.std[2] == 1.0 and np.all(np.isfinite(data.std)) and np.all(data.std > 0)
    model = kgen.models.create("small-cnn", input_shape=data.input_shape, num_classes=2,
                               mean=data.mean, std=data.std)
    standardize = keras.Model(model.input, model.get_layer("standardize").output)
    standardized = keras.ops.convert_to_numpy(standardize(data.x_train, training=False))
    assert np.all(np.isfinite(standardized))
    np.testing.assert_allclose(standardized[..., 2], 0.0, atol=1e-6)


# === 7. Model files that are not .keras archives ===


def test_hdf5_model_renamed_to_keras_is_named_as_hdf5(tmp_path):
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    legacy = tmp_path / "legacy.h5"
    keras.Model(inputs, outputs).save(legacy)
    renamed = tmp_path / "legacy.keras"
    shutil.move(legacy, renamed)
    with pytest.raises(ValueError, match="HDF5") as raised:
        kgen.models.load_model(renamed)
    message = str(raised.value)
    assert "File not found" not in message and f"Received: path={str(renamed)!r}" in message


def test_hdf5_with_a_user_block_is_named_as_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "blocked.keras"
    with h5py.File(path, "w", userblock_size=512) as handle:
        handle["weights"] = np.zeros(3)
    with pytest.raises(ValueError, match="HDF5.*blocked.keras"):
        kgen.models.load_model(path)


def test_file_that_is_not_a_zip_says_so(tmp_path):
    path = tmp_path / "text.keras"
    path.write_bytes(b"hello, I am not a model")
    with pytest.raises(ValueError, match="not a .keras archive") as raised:
        kgen.models.load_model(path)
    assert "File not found" not in str(raised.value)


def test_a_file_named_lambda_is_not_reported_as_a_lambda_layer(tmp_path):
    path = tmp_path / "lambda.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "a zip, but not a Keras model")
    with pytest.raises(ValueError, match="Could not load the model") as raised:
        kgen.models.load_model(path)
    assert "Lambda layer" not in str(raised.value) and "lambda.keras" in str(raised.value)


# === 8. The skip_bad hint ===


def test_unreadable_image_error_names_the_cli_flag_too(tmp_path):
    write_image_folder(tmp_path / "data", 1)
    (tmp_path / "data" / "cat" / "garbage.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"`skip_bad=True` \(CLI: --skip-bad\)"):
        load_folder(tmp_path / "data", tmp_path / "cache")


def test_tar_round_trip_still_works(tmp_path):
    # The caps leave genuine archives alone.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("top/file")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    (tmp_path / "ok.tar.gz").write_bytes(buffer.getvalue())
    assert safe_archive.read_tar_members(tmp_path / "ok.tar.gz", ["top/file"]) == {
        "top/file": b"hello"}
