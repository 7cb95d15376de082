"""Loading `.keras` files that may come from someone else."""

import os
import zipfile

import keras


def load_model(path, compile=True):
    """Load a `.keras` model with `safe_mode=True`.

    Safe mode refuses `Lambda` layers and other deserialized Python bytecode, so a
    downloaded model file cannot run code on load. kgen's own layers are
    registered serializables and load without it. Any failure (missing, corrupt or
    truncated file, unsafe content) is raised as a `ValueError` naming the path.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"No model file at this path. Received: path={path!r}")
    if not path.endswith(".keras"):
        raise ValueError(f"Expected a `.keras` file. Received: path={path!r}")
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
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            message = ("it contains a Lambda layer or other Python code, which kgen refuses to "
                       "deserialize (safe_mode=True)")
        raise ValueError(f"Could not load the model: {message}. Received: path={path!r}") from None
