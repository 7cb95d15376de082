"""Seeding and, where a backend offers it, deterministic kernels.

`keras.utils.set_random_seed` seeds Python, NumPy and the backend's generator, which
makes CPU training repeatable on all three backends (tested per backend). On GPUs
some kernels (cuDNN convolutions' backward passes, scatter-adds, atomics in
reductions) are not deterministic unless the backend is told to avoid them, at a
cost in speed; `deterministic=True` asks for that. This is the one place in kgen
that calls backend libraries directly, because the switch is backend-specific.
"""

import os

import keras


def seed_everything(seed, deterministic=False):
    """Seed every generator with `seed`; with `deterministic`, also ask the backend
    for deterministic kernels:

    - TensorFlow: `tf.config.experimental.enable_op_determinism()`.
    - PyTorch: `torch.use_deterministic_algorithms(True)`, `cudnn.benchmark = False`
      and `CUBLAS_WORKSPACE_CONFIG=:4096:8` (needed by cuBLAS).
    - JAX: XLA reads `--xla_gpu_deterministic_ops=true` from `XLA_FLAGS` when the
      backend starts, so set it before the first JAX computation; this function
      adds it to `XLA_FLAGS` for child processes and warns nothing else is possible.
    """
    keras.utils.set_random_seed(int(seed))
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
