"""Decision-boundary pictures of 2-D classifiers: the course's opening figure
(a random start, a robust fit, an overfit) drawn from Keras models."""

import numpy as np

from kgen.validation import check_int, received

GRID_POINTS = 200  # per side of the grid the class probabilities are drawn on


def class_one_probability(model, x_range, y_range, points=GRID_POINTS):
    """`(xs, ys, p)`: the model's softmax probability of class 1 on a
    `points` x `points` grid over `x_range` by `y_range`."""
    import keras

    points = check_int("points", points, minimum=2)
    xs = np.linspace(*x_range, points, dtype="float32")
    ys = np.linspace(*y_range, points, dtype="float32")
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    logits = model.predict(grid, batch_size=8192, verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    return xs, ys, probabilities[:, 1].reshape(points, points)


def plot_frame(path, panels, x, y, title, margin=0.5):
    """One PNG: a panel per `(name, model)` in `panels`, each the model's class-1
    probability over the points' extent, its 0.5 contour (the decision
    boundary) and the points `x` coloured by their class `y`."""
    from kgen.studies.report import pyplot, save_figure

    if not panels:
        raise ValueError(f"`panels` must hold at least one (name, model). {received('panels', panels)}")
    plt = pyplot()
    x_range = (float(x[:, 0].min()) - margin, float(x[:, 0].max()) + margin)
    y_range = (float(x[:, 1].min()) - margin, float(x[:, 1].max()) + margin)
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False)
    for axis, (name, model) in zip(axes[0], panels):
        xs, ys, probability = class_one_probability(model, x_range, y_range)
        axis.contourf(xs, ys, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        axis.contour(xs, ys, probability, levels=[0.5], colors="black", linewidths=1.5)
        axis.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="black", s=18,
                     linewidths=0.5)
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)
