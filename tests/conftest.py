import os

import kgen.backend

# As kgen's entry points do, before JAX starts (importing kgen sets nothing).
kgen.backend.configure_xla_cpu()

import keras  # noqa: E402
import pytest  # noqa: E402

# These tests run once per backend env of tox (KERAS_BACKEND set there).


@pytest.fixture(autouse=True)
def _seed_everything():
    # Seeding only: keras.backend.clear_session() costs ~0.3 s a test.
    keras.utils.set_random_seed(1337)


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}, " \
           f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND')}"
