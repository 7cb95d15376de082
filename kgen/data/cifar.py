"""Placeholder until the loader lands."""


def load_cifar10(data_dir=None):
    raise NotImplementedError("cifar10 loader not written yet")


def load_cifar100(data_dir=None, label_mode="fine"):
    raise NotImplementedError("cifar100 loader not written yet")
