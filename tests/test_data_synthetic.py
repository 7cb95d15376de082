"""The procedural `synthetic` dataset: shapes, determinism, speed, CIFAR-like colour cues."""

import time
from unittest.mock import patch

import numpy as np
import pytest

import kgen.data
from kgen.data import synthetic
from kgen.data.synthetic import CLASS_NAMES, generate_images


@pytest.fixture(autouse=True)
def _seed_everything():
    # Replaces conftest's per-test Keras seeding and clear_session (about 0.3 s
    # a test, mostly garbage collection): kgen.data never touches Keras.
    yield


@pytest.fixture(scope="module")
def small_synthetic():
    return kgen.data.load("synthetic", train_size=2000, test_size=500)


def test_shapes_dtypes_and_balance(small_synthetic):
    data = small_synthetic
    assert data.x_train.dtype == np.uint8 and data.x_train.shape[1:] == (32, 32, 3)
    assert len(data.x_train) + len(data.x_val) == 2000
    assert len(data.x_val) == 200  # validation_split=0.1, 20 per class
    assert data.x_test.shape == (500, 32, 32, 3)
    assert data.y_train.dtype == np.int64
    assert data.class_names == CLASS_NAMES and data.num_classes == 10
    assert np.bincount(data.y_val, minlength=10).tolist() == [20] * 10
    assert np.bincount(data.y_train, minlength=10).tolist() == [180] * 10


def test_same_arguments_same_images_and_data_seed_changes_them():
    first, labels = generate_images(300, data_seed=3)
    again, labels_again = generate_images(300, data_seed=3)
    other, _ = generate_images(300, data_seed=4)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(first, other)


def test_growing_the_set_keeps_its_first_images():
    small, small_labels = generate_images(1500)
    large, large_labels = generate_images(2500)
    np.testing.assert_array_equal(small, large[:1500])
    np.testing.assert_array_equal(small_labels, large_labels[:1500])


def test_train_and_test_are_different_images(small_synthetic):
    assert not np.array_equal(small_synthetic.x_train[:100], small_synthetic.x_test[:100])


def test_seed_changes_only_the_validation_split():
    first = kgen.data.load("synthetic", seed=0, train_size=500, test_size=100)
    second = kgen.data.load("synthetic", seed=1, train_size=500, test_size=100)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert not np.array_equal(first.x_val, second.x_val)


def test_images_use_the_full_range_and_vary(small_synthetic):
    x = small_synthetic.x_train
    assert x.min() == 0 and x.max() == 255
    assert x.reshape(len(x), -1).std(axis=1).min() > 5  # no blank images


def _mean_colour_accuracy(cue):
    """Nearest-class-mean accuracy on per-image mean RGB, 4,000 train / 2,000 test images."""
    with patch.object(synthetic, "CLASS_HUE_WEIGHT", cue):
        x_train, y_train = generate_images(4000, split="train")
        x_test, y_test = generate_images(2000, split="test")
    train_means = x_train.reshape(len(x_train), -1, 3).mean(axis=1)
    test_means = x_test.reshape(len(x_test), -1, 3).mean(axis=1)
    centroids = np.stack([train_means[y_train == k].mean(axis=0) for k in range(10)])
    distances = ((test_means[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    return (distances.argmin(axis=1) == y_test).mean()


def test_colour_says_about_as_much_about_the_class_as_in_cifar10():
    # On CIFAR-10's training images (the shared JPEG copy, 6,000 of them) this
    # classifier scores 17.8%: colour carries some class information there (sky,
    # foliage) and here it must carry some, no more. Chance is 10%; 2,000 test
    # images give a binomial sd of ~0.8 points.
    accuracy = _mean_colour_accuracy(synthetic.CLASS_HUE_WEIGHT)
    assert 0.14 < accuracy < 0.178
    # Without the class hues the glyph's brightness alone is at chance.
    assert _mean_colour_accuracy(0.0) < 0.13


def test_the_glyph_is_brighter_than_its_background():
    # One contrast polarity, so a class's shape is one pattern to learn, not two.
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 10
    with patch.object(synthetic, "CLASS_HUE_WEIGHT", 0.0):
        background, glyph = synthetic._figure_and_ground_colours(rng, labels)
    luma = np.array([0.299, 0.587, 0.114])
    assert np.all(glyph @ luma >= background @ luma + 0.25 - 1e-6)


def test_classes_are_flip_symmetric_in_distribution(small_synthetic):
    # Mirroring must not change class statistics: the mean image of each class
    # and of its mirror agree up to sampling noise.
    data = small_synthetic
    for label in range(10):
        mean_image = data.x_train[data.y_train == label].astype(np.float64).mean(axis=0)
        mirrored = mean_image[:, ::-1]
        assert np.abs(mean_image - mirrored).mean() < 6.0


def test_ten_thousand_images_in_under_five_seconds():
    # CPU time of this process, so other busy processes cannot make it flaky;
    # generation is single-threaded numpy, so on an idle machine it equals wall time.
    start = time.process_time()
    images, _ = generate_images(10_000)
    elapsed = time.process_time() - start
    assert images.shape == (10_000, 32, 32, 3)
    assert elapsed < 5.0, f"generating 10,000 images took {elapsed:.1f} s"


@pytest.mark.parametrize(
    "option, value",
    [("train_size", 0), ("test_size", -1), ("data_seed", -2), ("train_size", 2.5)],
)
def test_bad_sizes_are_refused(option, value):
    with pytest.raises((ValueError, TypeError), match=option):
        kgen.data.load("synthetic", **{option: value})


def test_unknown_option_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match=r"Unknown option 'trian_size'.*train_size"):
        kgen.data.load("synthetic", trian_size=10)
