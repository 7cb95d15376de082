"""Decision-boundary pictures of 2-D classifiers: the course's opening figure
(a random start, a robust fit, an overfit) drawn from Keras models.

A run of a study records its model's class-1 probability on a grid with
`BoundaryGrids` (a callback that only reads the model), into the run's
folder; `plot_frame` then draws the grids of several runs side by side.
Keeping grids rather than pictures lets one figure hold runs trained one
after the other, and a resumed run keeps the grids it recorded before.
"""

from pathlib import Path

import numpy as np

from kgen.atomic import atomic_write
from kgen.validation import check_int, received

GRID_POINTS = 200  # per side of the grid the class probabilities are drawn on
GRID_FILE = "boundary-{epoch:03d}.npy"


def grid_extent(x, margin=0.5):
    """`(x_range, y_range)`: the bounding box of the points `x` `(N, 2)`,
    widened by `margin` on every side."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"`x` must hold 2-D points, shape (N, 2). "
                         f"Received: x of shape {x.shape}")
    return ((float(x[:, 0].min()) - margin, float(x[:, 0].max()) + margin),
            (float(x[:, 1].min()) - margin, float(x[:, 1].max()) + margin))


def grid_axes(x_range, y_range, points=GRID_POINTS):
    """`(xs, ys)`: the grid's coordinates along each axis."""
    points = check_int("points", points, minimum=2)
    return (np.linspace(*x_range, points, dtype="float32"),
            np.linspace(*y_range, points, dtype="float32"))


def class_one_probability(model, x_range, y_range, points=GRID_POINTS):
    """The model's softmax probability of class 1 on a `points` x `points`
    grid over `x_range` by `y_range` (rows: y, columns: x)."""
    import keras

    xs, ys = grid_axes(x_range, y_range, points)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    logits = model.predict(grid, batch_size=8192, verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    return probabilities[:, 1].reshape(points, points)


def boundary_callback(directory, x_range, y_range, epochs, every, points=GRID_POINTS):
    """A Keras callback that saves the model's class-1 probability grid
    (`class_one_probability`) as `directory/boundary-EEE.npy` before training
    (EEE = 000), after every `every` epochs and after epoch `epochs`."""
    import keras

    epochs = check_int("epochs", epochs, minimum=1)
    every = check_int("every", every, minimum=1)

    class BoundaryGrids(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 0:
                self._save(0)

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every == 0 or epoch + 1 == epochs:
                self._save(epoch + 1)

        def _save(self, epoch):
            grid = class_one_probability(self.model, x_range, y_range, points)

            def write(temporary):
                with open(temporary, "wb") as file:  # a path would gain a ".npy"
                    np.save(file, grid)

            atomic_write(grid_path(directory, epoch), write)

    return BoundaryGrids()


def grid_path(directory, epoch):
    return Path(directory) / GRID_FILE.format(epoch=epoch)


def plot_frame(path, panels, x, y, title, x_range, y_range):
    """One PNG: a panel per `(name, grid)` in `panels`, each a class-1
    probability grid over `x_range` by `y_range`, with its 0.5 contour (the
    decision boundary) and the points `x` coloured by their class `y`."""
    from kgen.studies.report import pyplot, save_figure

    if not panels:
        raise ValueError(f"`panels` must hold at least one (name, grid). {received('panels', panels)}")
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False)
    for axis, (name, probability) in zip(axes[0], panels):
        xs, ys = grid_axes(x_range, y_range, probability.shape[0])
        axis.contourf(xs, ys, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        if probability.min() < 0.5 < probability.max():  # else there is no boundary to draw
            axis.contour(xs, ys, probability, levels=[0.5], colors="black", linewidths=1.5)
        axis.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="black", s=18,
                     linewidths=0.5)
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)
