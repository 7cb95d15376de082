"""Everything kgen does per backend outside its layers: choosing the Keras
backend and starting it quietly, the XLA flag JAX needs on a CPU, seeding and
deterministic kernels, the gradient of a model's loss outside `fit`
(`loss_gradients`), and the versions a run records. (The layers' faster
kernels per backend are in `kgen.layers.fast_paths`; apart from those two
modules, only `kgen.bench`'s plain-PyTorch reference imports a backend library
directly.)

Keras reads `KERAS_BACKEND` once, when it is first imported, so the backend is
chosen (`choose`) before anything imports Keras, and started (`start`) once.

Starting TensorFlow prints lines no environment variable hides: "All log
messages before absl::InitializeLog()", oneDNN's notice and "Could not find
cuda drivers" are written before its logging starts, and its first device
query logs "failed call to cuInit" on a machine without a GPU. On every
backend, `keras.utils.set_random_seed` imports TensorFlow when it is
installed (to seed `tf.random`), so they appear on JAX and PyTorch too. kgen
hides them where it causes them (`quiet`); `KGEN_VERBOSE=1` (the CLI's
`--verbose`) shows them. TensorFlow's later C++ INFO and WARNING lines are
turned off with `TF_CPP_MIN_LOG_LEVEL=2` by the entry points.

JAX on the CPU needs one XLA flag for kgen's networks (`configure_xla_cpu`).
XLA reads `XLA_FLAGS` once, when JAX starts, so the entry points (the CLI, the
recipes, `kgen bench`'s children, Ray workers) set it in `start`, before Keras
is imported; importing kgen changes no environment variable. In your own
program, call `kgen.backend.configure_xla_cpu()` before the first tensor.
"""

import contextlib
import os
import sys
import tempfile

from kgen.validation import received

BACKENDS = ("tensorflow", "jax", "torch")  # the backends kgen runs and tests on
KERAS_BACKENDS = (*BACKENDS, "numpy", "openvino")  # what Keras itself accepts
VERBOSE_VARIABLE = "KGEN_VERBOSE"

# Turns off XLA:CPU's YNNPACK fusions (the flag's empty value overrides the
# built-in list); XLA then uses its default convolution and dot kernels, which
# run the weight-gradient convolutions of small CNNs several times faster
# (docs/performance.md, "Backend fast paths").
XLA_CPU_FLAG = "--xla_cpu_experimental_ynn_fusion_type="


def choose(backend=None):
    """Sets `KERAS_BACKEND` to `backend` before Keras is imported; with Keras
    imported already it must be that backend. `None` keeps the environment's,
    which must name a Keras backend (Keras' own error is a traceback deep in
    its import)."""
    if backend is None:
        variable = os.environ.get("KERAS_BACKEND")
        if variable is not None and variable not in KERAS_BACKENDS:
            raise ValueError(f"the environment variable KERAS_BACKEND names no Keras backend; "
                             f"expected one of {', '.join(KERAS_BACKENDS)} (kgen runs on "
                             f"{', '.join(BACKENDS)}). Received: KERAS_BACKEND={variable!r}")
        return
    if backend not in BACKENDS:
        raise ValueError(f"kgen runs on {', '.join(BACKENDS)}. {received('backend', backend)}")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise ValueError(
                f"--backend {backend}: Keras is already imported with backend "
                f"{keras.backend.backend()!r} in this process. {received('backend', backend)}"
            )
        return
    os.environ["KERAS_BACKEND"] = backend


def configure_xla_cpu(environ=os.environ, backend=None):
    """Adds `XLA_CPU_FLAG` to `environ["XLA_FLAGS"]` when `backend` is JAX;
    returns whether it did. `backend=None` means the one this process runs
    (Keras' when it is imported, else `KERAS_BACKEND`). Takes effect only
    before JAX starts (its first tensor). A value the user set for the same
    flag is kept; the flag affects CPU compilation only."""
    if backend is None and "keras" in sys.modules:
        import keras

        backend = keras.backend.backend()
    elif backend is None:
        backend = os.environ.get("KERAS_BACKEND")
    if backend != "jax":
        return False
    flags = environ.get("XLA_FLAGS", "")
    if XLA_CPU_FLAG.split("=")[0] in flags:
        return False
    environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_FLAG}".strip()
    return True


def start():
    """Imports Keras and with it the backend, quietly (`quiet`), with the XLA
    flag JAX needs (`configure_xla_cpu`) set first. With Keras already imported
    (a program that imported `kgen.models` first) it only sets the flag, which
    still takes effect if JAX has not run anything yet."""
    configure_xla_cpu()
    if "keras" in sys.modules:
        return
    with quiet():
        import keras

        # TensorFlow's first device query logs its cuInit error: query here.
        # Keras' PyTorch backend has no keras.distribution.
        with contextlib.suppress(AttributeError):
            keras.distribution.list_devices()


def set_random_seed(seed, deterministic=False):
    """Seeds Python, numpy and the backend (`keras.utils.set_random_seed`),
    quietly: it imports TensorFlow when installed, whichever backend runs.

    `keras.utils.set_random_seed` makes CPU training repeatable on all three
    backends (tested per backend). On GPUs some kernels (cuDNN convolutions'
    backward passes, scatter-adds, atomics in reductions) are not deterministic
    unless the backend is told to avoid them, at a cost in speed;
    `deterministic=True` asks for that:

    - TensorFlow: `tf.config.experimental.enable_op_determinism()`.
    - PyTorch: `torch.use_deterministic_algorithms(True)`, `cudnn.benchmark =
      False` and `CUBLAS_WORKSPACE_CONFIG=:4096:8` (needed by cuBLAS).
    - JAX: XLA reads `--xla_gpu_deterministic_ops=true` from `XLA_FLAGS` when the
      backend starts, so it is added there; it takes effect only before the
      first JAX computation (and in child processes).
    """
    import keras

    with quiet():
        keras.utils.set_random_seed(seed)
    if not deterministic:
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    else:
        raise ValueError(f"kgen runs on {BACKENDS}. Received: backend={backend!r}")


def loss_gradients(model, images, labels, loss=None):
    """The gradients of `loss` (the model's compiled loss, else cross-entropy
    of its logits; penalty terms left out) on one batch in training mode, with
    respect to `model.trainable_variables`, as NumPy arrays in their order.

    Through `model.stateless_call`, so nothing of the model changes: not its
    weights, not BatchNorm's moving statistics, not a dropout layer's seed,
    and not PyTorch's global random generator.
    Keras has no backend-neutral gradient of a function, hence one branch per
    backend. Not compiled: meant for a probe batch once an epoch (on JAX each
    call runs op by op, slower than a training step).
    """
    import keras
    import numpy as np

    if loss is None:
        loss = getattr(model, "loss", None) or keras.losses.SparseCategoricalCrossentropy(
            from_logits=True)
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def batch_loss(trainable, inputs, targets):
        logits, _ = model.stateless_call(trainable, non_trainable, inputs, training=True)
        return loss(targets, logits)

    images = keras.ops.convert_to_tensor(images)
    labels = keras.ops.convert_to_tensor(labels)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        trainable = [tf.identity(variable.value) for variable in model.trainable_variables]
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            value = batch_loss(trainable, images, labels)
        gradients = tape.gradient(value, trainable)
    elif backend == "jax":
        import jax

        trainable = [variable.value for variable in model.trainable_variables]
        gradients = jax.grad(batch_loss)(trainable, images, labels)
    elif backend == "torch":
        import torch

        trainable = [variable.value.detach().clone().requires_grad_(True)
                     for variable in model.trainable_variables]
        # Keras' PyTorch dropout without a seed draws from torch's global
        # generator, which the training steps draw from too: restored after.
        cpu_state = torch.random.get_rng_state()
        cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        try:
            batch_loss(trainable, images, labels).backward()
        finally:
            torch.random.set_rng_state(cpu_state)
            if cuda_states is not None:
                torch.cuda.set_rng_state_all(cuda_states)
        gradients = [tensor.grad for tensor in trainable]
    else:
        raise ValueError(f"kgen runs on {BACKENDS}. Received: backend={backend!r}")
    return [np.zeros(variable.shape, "float32") if gradient is None
            else keras.ops.convert_to_numpy(gradient)
            for variable, gradient in zip(model.trainable_variables, gradients, strict=True)]


@contextlib.contextmanager
def quiet():
    """Hides what native code writes to standard error inside the block (file
    descriptor 2 points at a temporary file), and shows it if the block
    raises. With `KGEN_VERBOSE=1` nothing is hidden."""
    if os.environ.get(VERBOSE_VARIABLE, "") not in ("", "0"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# The distributions whose versions a run records for each backend.
_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jax", "jaxlib"),
             "torch": ("torch",)}


def versions(backend):
    """The versions a result records: kgen, Keras, Python, numpy and the
    packages of `backend` (from their installed metadata, so nothing is
    imported; "tensorflow-cpu" is recorded as "tensorflow")."""
    import importlib.metadata
    import platform

    import numpy as np

    import kgen

    found = {"kgen": kgen.__version__, "python": platform.python_version(),
             "numpy": np.__version__}
    for name in ("keras", *_PACKAGES.get(backend, ())):
        key = "tensorflow" if name == "tensorflow-cpu" else name
        if key in found:
            continue
        try:
            found[key] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
