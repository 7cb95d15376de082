import os

import keras
import pytest

# These tests run once per backend env of tox (KERAS_BACKEND set there).


@pytest.fixture(autouse=True)
def _seed_everything():
    # Seeding only: keras.backend.clear_session() costs ~0.3 s a test.
    keras.utils.set_random_seed(1337)


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}, " \
           f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND')}"
