"""`kgen.data.load` itself: names, argument errors, splits, statistics, validators."""

import subprocess
import sys

import numpy as np
import pytest

import kgen.data
from kgen.data.splits import stratified_split, stratified_subset


@pytest.fixture(autouse=True)
def _seed_everything():
    # Replaces conftest's per-test Keras seeding and clear_session (about 0.3 s
    # a test, mostly garbage collection): kgen.data never touches Keras.
    yield


@pytest.fixture(scope="module")
def synthetic():
    return kgen.data.load("synthetic", train_size=1000, test_size=500, validation_split=0.2,
                          seed=3)


def test_names_lists_every_dataset():
    assert kgen.data.names() == ("synthetic", "cifar10", "cifar100", "mnist", "fashion_mnist",
                                 "two-moons")


def test_import_pulls_in_no_deep_learning_framework():
    code = ("import sys, kgen.data; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') "
            "if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert output.strip() == "[]"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Did you mean 'cifar10'.*Received: name='cifar'$"):
        kgen.data.load("cifar")
    with pytest.raises(ValueError, match=r"Did you mean 'folder:PATH'"):
        kgen.data.load("folder")


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="Received: name=10"):
        kgen.data.load(10)


def test_folder_prefix_needs_a_path():
    with pytest.raises(ValueError, match="needs a path after 'folder:'"):
        kgen.data.load("folder:")


@pytest.mark.parametrize("split", [1.0, 1.5, -0.1])
def test_validation_split_outside_zero_one_is_refused(split):
    with pytest.raises(ValueError, match=f"Received: validation_split={split}"):
        kgen.data.load("synthetic", validation_split=split)


def test_validation_split_must_be_a_number():
    with pytest.raises(TypeError, match="validation_split"):
        kgen.data.load("synthetic", validation_split="10%")


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="Received: seed=-1"):
        kgen.data.load("synthetic", seed=-1)


def test_zero_validation_split_gives_empty_arrays_of_the_right_shape():
    data = kgen.data.load("synthetic", train_size=500, test_size=10, validation_split=0)
    assert data.x_val.shape == (0, 32, 32, 3) and data.x_val.dtype == np.uint8
    assert data.y_val.shape == (0,) and data.y_val.dtype == np.int64
    assert len(data.x_train) == 500


def test_validation_split_is_stratified(synthetic):
    assert np.bincount(synthetic.y_val, minlength=10).tolist() == [20] * 10
    assert np.bincount(synthetic.y_train, minlength=10).tolist() == [80] * 10


def test_validation_never_overlaps_train_or_test(synthetic):
    def fingerprints(images):
        return {image.tobytes() for image in images}

    val = fingerprints(synthetic.x_val)
    assert len(val) == len(synthetic.x_val)
    assert not val & fingerprints(synthetic.x_train)
    assert not val & fingerprints(synthetic.x_test)


def test_same_seed_same_split_other_seed_other_split(synthetic):
    again = kgen.data.load("synthetic", train_size=1000, test_size=500, validation_split=0.2,
                           seed=3)
    other = kgen.data.load("synthetic", train_size=1000, test_size=500, validation_split=0.2,
                           seed=4)
    np.testing.assert_array_equal(again.x_val, synthetic.x_val)
    assert not np.array_equal(other.x_val, synthetic.x_val)


def test_statistics_come_from_the_train_split_after_carving(synthetic):
    mean, std = kgen.data.channel_statistics(synthetic.x_train)
    np.testing.assert_allclose(synthetic.mean, mean, atol=1e-6)
    np.testing.assert_allclose(synthetic.std, std, atol=1e-6)
    full_mean, _ = kgen.data.channel_statistics(
        np.concatenate([synthetic.x_train, synthetic.x_val]))
    assert not np.allclose(full_mean, synthetic.mean, atol=1e-7)
    assert synthetic.mean.dtype == np.float32 and synthetic.mean.shape == (3,)


def test_statistics_match_a_float64_reference():
    images = np.random.default_rng(0).integers(0, 256, (300, 7, 5, 3), dtype=np.uint8)
    images[:100] //= 3  # uneven channels and values
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    mean, std = kgen.data.channel_statistics(images)
    np.testing.assert_allclose(mean, pixels.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, pixels.std(axis=0), rtol=1e-6)
    assert mean.dtype == std.dtype == np.float32


def test_stratified_split_rounds_per_class_and_keeps_order():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 1)
    keep, carved = stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[carved], minlength=3).tolist() == [2, 1, 0]
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(carved) > 0)
    assert sorted(np.concatenate([keep, carved]).tolist()) == list(range(16))


def test_stratified_subset_keeps_every_class_in_proportion():
    # Labels in class order, as a folder lists them: a prefix would be one class.
    labels = np.repeat(np.arange(10), [30] * 9 + [60])
    keep = stratified_subset(labels, 44, seed=0)
    assert len(keep) == 44 and len(np.unique(keep)) == 44 and np.all(np.diff(keep) > 0)
    counts = np.bincount(labels[keep], minlength=10)
    assert counts.tolist() == [4] * 9 + [8]
    np.testing.assert_array_equal(keep, stratified_subset(labels, 44, seed=0))
    assert not np.array_equal(keep, stratified_subset(labels, 44, seed=1))
    # Within a class the choice is random, not the class's first images.
    assert not np.array_equal(keep[:4], np.arange(4))
    np.testing.assert_array_equal(stratified_subset(labels, 10_000, seed=0), np.arange(330))


def test_dataset_summary_names_the_sizes(synthetic):
    assert synthetic.summary() == ("synthetic: 800 train, 200 val, 500 test images of "
                                   "(32, 32, 3), 10 classes")


# === check_images / check_labels ===


def test_check_images_accepts_uint8_nhwc():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    assert kgen.data.check_images(images, num_channels=3, height=8, width=8) is images


def test_check_images_explains_float_input():
    with pytest.raises(ValueError, match=r"uint8 pixel values 0\.\.255.*Received: x_train="):
        kgen.data.check_images(np.zeros((2, 8, 8, 3), np.float32), name="x_train")


@pytest.mark.parametrize("shape", [(8, 8, 3), (2, 8, 8, 3, 1)])
def test_check_images_wants_rank_4(shape):
    with pytest.raises(ValueError, match=r"rank 4.*Received: x=array of shape"):
        kgen.data.check_images(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("keyword, value", [("num_channels", 1), ("height", 9), ("width", 7)])
def test_check_images_checks_each_dimension(keyword, value):
    with pytest.raises(ValueError, match=f"{keyword}={value}"):
        kgen.data.check_images(np.zeros((2, 8, 8, 3), np.uint8), **{keyword: value})


def test_check_images_wants_an_array():
    with pytest.raises(TypeError, match="Received: x=list"):
        kgen.data.check_images([[0]])


def test_check_labels_accepts_flat_and_column_labels():
    np.testing.assert_array_equal(kgen.data.check_labels(np.array([[1], [2]]), 3), [1, 2])
    np.testing.assert_array_equal(kgen.data.check_labels(np.array([0, 2], np.int32), 3),
                                  [0, 2])


@pytest.mark.parametrize("labels, message", [
    (np.array([0, 3]), r"\[0, 3\); found values in \[0, 3\]"),
    (np.array([-1, 0]), r"found values in \[-1, 0\]"),
    (np.array([0.0, 1.0]), "integer dtype"),
    (np.zeros((2, 3), np.int64), "not one-hot"),
])
def test_check_labels_refuses_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        kgen.data.check_labels(labels, 3, name="y_train")


def test_check_labels_wants_one_label_per_image():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        kgen.data.check_labels(np.array([0, 1]), 3, x=np.zeros((3, 4, 4, 3), np.uint8))


def test_check_labels_wants_an_array():
    with pytest.raises(TypeError, match="Received: y=list"):
        kgen.data.check_labels([0, 1], 3)


def test_loaded_datasets_pass_the_validators(synthetic):
    kgen.data.check_images(synthetic.x_train, num_channels=3, height=32, width=32)
    kgen.data.check_labels(synthetic.y_train, synthetic.num_classes, x=synthetic.x_train)


def test_two_moons_loads_float_points_with_per_feature_statistics():
    data = kgen.data.load("two-moons", validation_split=0.2)
    assert data.x_train.dtype == np.float32 and data.input_shape == (2,)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (80, 20, 2000)
    assert data.class_names == ("upper moon", "lower moon")
    np.testing.assert_allclose(data.mean, data.x_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(data.std, data.x_train.std(axis=0), rtol=1e-5)
    assert "2000 test points of (2,)" in data.summary()
    # The points are fixed by data_seed (the recipe's: train seed 0, test seed 1).
    from kgen.data.toy import two_moons

    np.testing.assert_array_equal(
        np.sort(np.concatenate([data.x_train, data.x_val]), axis=0),
        np.sort(two_moons(100, noise=0.3, seed=0)[0], axis=0))
    other = kgen.data.load("two-moons", train_size=50, data_seed=1)
    assert len(other.x_train) + len(other.x_val) == 50
    assert not np.array_equal(other.x_test, data.x_test)


def test_feature_statistics_give_a_constant_feature_std_one():
    vectors = np.array([[1.0, 5.0], [3.0, 5.0]], "float32")
    mean, std = kgen.data.feature_statistics(vectors)
    np.testing.assert_array_equal(mean, [2.0, 5.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])  # [1, 0] -> the flat one becomes 1
    assert kgen.data.mean_and_std(vectors)[1].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("x, message", [
    ([[0.0, 1.0]], "numpy array of feature vectors"),
    (np.zeros((2, 2, 1), "float32"), "rank 2"),
    (np.zeros((2, 2), "float64"), "float32"),
    (np.zeros((2, 3), "float32"), "2 features"),
    (np.array([[0.0, np.nan]], "float32"), "finite"),
])
def test_check_features_refuses_bad_vectors(x, message):
    with pytest.raises((TypeError, ValueError), match=message):
        kgen.data.check_features(x, name="x_train", num_features=2)
