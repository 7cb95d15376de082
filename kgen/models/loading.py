"""Loading `.keras` files that may come from someone else."""

import os
import zipfile

import keras

# An HDF5 file starts with this signature, or carries it after a user block at
# byte 512, 1024, 2048, ... (the HDF5 file format specification, "Superblock").
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_model(path, compile=True):
    """Load a `.keras` model with `safe_mode=True`.

    Safe mode refuses `Lambda` layers and other deserialized Python bytecode, so a
    downloaded model file cannot run code on load. kgen's own layers are
    registered serializables and load without it. Any failure (missing, corrupt or
    truncated file, a legacy HDF5 file renamed to `.keras`, unsafe content) is
    raised as a `ValueError` naming the path.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"No model file at this path. Received: path={path!r}")
    if not path.endswith(".keras"):
        hint = ""
        if path.endswith((".h5", ".hdf5")):
            hint = (" Legacy HDF5 models are not loaded; re-save the model with "
                    "`model.save('model.keras')` where you trust it.")
        raise ValueError(f"Expected a `.keras` file.{hint} Received: path={path!r}")
    _check_is_zip(path)
    # Importing kgen.layers registers kgen's custom layers for deserialization.
    import kgen.layers  # noqa: F401
    import kgen.losses  # noqa: F401
    import kgen.optimizers  # noqa: F401
    import kgen.schedules  # noqa: F401

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"The file is not a valid .keras archive (corrupt or truncated): {error}. "
            f"Received: path={path!r}"
        ) from None
    except Exception as error:  # Keras raises many types; name the file in each.
        text = str(error).strip()
        message = text.splitlines()[0] if text else type(error).__name__
        # Keras' messages repeat the path: a file called "lambda.keras" must not
        # read as a Lambda layer.
        text_without_path = text.replace(path, "")
        if "safe_mode" in text_without_path or "lambda" in text_without_path.lower():
            message = ("it contains a Lambda layer or other Python code, which kgen refuses to "
                       "deserialize (safe_mode=True)")
        raise ValueError(f"Could not load the model: {message}. Received: path={path!r}") from None


def _check_is_zip(path):
    """A `.keras` file is a zip archive. Keras answers anything else with
    "File not found", which sends the user looking for a file that is there."""
    if zipfile.is_zipfile(path):
        return
    if _has_hdf5_signature(path):
        raise ValueError(
            "The file is an HDF5 file (the legacy Keras `.h5` format) with a `.keras` name, "
            "not a .keras archive (a zip file). kgen loads only .keras archives, whose safe "
            "mode refuses Lambda layers; re-save the model with `model.save('model.keras')` "
            f"where you trust it. Received: path={path!r}"
        )
    with open(path, "rb") as handle:
        start = handle.read(16)
    raise ValueError(
        f"The file is not a .keras archive: it is not a zip file (it starts with {start!r}), "
        f"so it is corrupt, truncated or another format. Received: path={path!r}"
    )


def _has_hdf5_signature(path):
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        offset = 0
        while offset + len(_HDF5_SIGNATURE) <= size:
            handle.seek(offset)
            if handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False
