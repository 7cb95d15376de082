"""Placeholder until the loader lands."""


def load_mnist(data_dir=None, pad_to_32=False, rgb=False):
    raise NotImplementedError("mnist loader not written yet")


def load_fashion_mnist(data_dir=None, pad_to_32=False, rgb=False):
    raise NotImplementedError("fashion_mnist loader not written yet")
