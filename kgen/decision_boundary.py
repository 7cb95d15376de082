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
    # The model is called directly, not through `predict`: on PyTorch each
    # `predict` draws a seed from the global generator (its DataLoader), which
    # would change the training a callback only watches.
    probabilities = [
        keras.ops.convert_to_numpy(keras.ops.softmax(model(grid[start:start + 8192],
                                                           training=False), axis=-1))
        for start in range(0, len(grid), 8192)]
    return np.concatenate(probabilities)[:, 1].reshape(points, points)


def frame_epochs(epochs, every):
    """The epochs a grid is recorded after: 0 (before training), every
    `every`-th and the last."""
    epochs = check_int("epochs", epochs, minimum=1)
    every = check_int("every", every, minimum=1)
    return [0, *range(every, epochs, every), epochs]


def boundary_callback(directory, x_range, y_range, epochs, every, points=GRID_POINTS):
    """A Keras callback that saves the model's class-1 probability grid
    (`class_one_probability`) as `directory/boundary-EEE.npy` after each of
    `frame_epochs(epochs, every)` (EEE = 000: before training). It only reads
    the model. A run resumed after a kill records a frame epoch's grid that the
    kill left unwritten, from the restored weights, when it starts."""
    import keras

    wanted = set(frame_epochs(epochs, every))

    class BoundaryGrids(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = False

        def on_epoch_begin(self, epoch, logs=None):
            # The weights after `epoch` epochs (restored, for a resumed run).
            if not self.started and epoch in wanted and not grid_path(directory, epoch).exists():
                self._save(epoch)
            self.started = True

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in wanted:
                self._save(epoch + 1)

        def on_train_end(self, logs=None):
            # A run resumed after its last epoch trains none: its last grid,
            # if the kill came before it (not for a run stopped on a NaN loss).
            if (not self.started and not self.model.stop_training
                    and not grid_path(directory, epochs).exists()):
                self._save(epochs)

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
