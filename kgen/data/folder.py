"""Placeholder until the loader lands."""


def load_folder(path, data_dir=None, image_size=None):
    raise NotImplementedError("folder loader not written yet")
