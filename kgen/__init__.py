"""kgen: the model-generalization playbook for image classifiers, in Keras 3.

Import the submodules you need: `kgen.layers`, `kgen.models`, `kgen.schedules`,
`kgen.optimizers`, `kgen.data`, `kgen.training`, `kgen.studies`. Keras (and so
the backend) is imported only by those submodules, so `KERAS_BACKEND` may be set
any time before the first of them is imported.
"""

__version__ = "0.1.0"
