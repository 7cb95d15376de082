"""A study's report, rebuilt from its files alone (no Keras import).

`write_report(out_dir)` reads `study.json` and every run's `result.json` and
`history.csv`, and writes `results.csv` (one row per run), `results.json`
(runs and per-variant statistics), `report.md` and two PNG figures.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from kgen.atomic import atomic_write_bytes, atomic_write_text
from kgen.studies import layout
from kgen.studies.files import (
    read_csv,
    read_json,
    write_csv,
    write_json,
)
from kgen.studies.spec import study_from_dict
from kgen.studies.stats import TEST_DESCRIPTION, mean_std, welch_t_test
from kgen.validation import is_finite_number

RUN_COLUMNS = ("variant", "seed", "status", "train_accuracy", "val_accuracy", "test_accuracy",
               "test_accuracy_flip", "gap", "best_val_accuracy", "best_val_loss", "test_loss",
               "best_epoch", "epochs_completed", "epochs_planned", "resumed_from_epoch",
               "train_seconds", "wall_seconds", "near_zero_weights", "max_unit_norm", "backend")
METRICS = ("train_accuracy", "val_accuracy", "test_accuracy", "test_accuracy_flip", "gap",
           "best_val_accuracy", "best_val_loss", "test_loss", "epochs_completed",
           "train_seconds", "images_per_second", "near_zero_weights", "max_unit_norm")
LEARNING_CURVES = "learning_curves.png"
ACCURACY_GAP = "accuracy_gap.png"
GRADIENT_NORMS = "gradient_norms.png"
GRADIENT_NORMS_FILE = "gradient_norms.csv"  # per run, with --gradient-norms


def collect(out_dir):
    """`(manifest, study, runs)`: runs maps each variant name to its finished
    runs, `{"result": ..., "history": [...]}`, in seed order. A file that cannot
    be read is named in a ValueError (a report never leaves a run out silently)."""
    out_dir = Path(out_dir)
    manifest = layout.read_manifest(out_dir)
    if manifest is None:
        raise ValueError(f"No study.json in this folder: it holds no kgen study. "
                         f"Received: dir={str(out_dir)!r}")
    study = study_from_dict(manifest["study"], source=str(out_dir / layout.MANIFEST))
    runs = {}
    for variant in study.variants:
        found = []
        for directory in sorted((out_dir / "runs" / variant.name).glob("seed-*"),
                                key=lambda p: _seed_of(p)):
            result_path = directory / "result.json"
            if not result_path.exists():
                continue
            result = _read_run_file(result_path, read_json)
            if not isinstance(result, dict) or "status" not in result:
                raise ValueError(f"{result_path} is not a kgen run result. "
                                 f"Received: dir={str(out_dir)!r}")
            history_path = directory / "history.csv"
            history = _read_run_file(history_path, read_csv) if history_path.exists() else []
            config_path = directory / "config.json"
            config = _read_run_file(config_path, read_json) if config_path.exists() else {}
            dataset = config.get("dataset", {}) if isinstance(config, dict) else {}
            gradients_path = directory / GRADIENT_NORMS_FILE
            gradients = (_read_run_file(gradients_path, read_csv) if gradients_path.exists()
                         else [])
            found.append({"result": result, "history": history, "dataset": dataset,
                          "gradient_norms": gradients})
        runs[variant.name] = found
    return manifest, study, runs


def _read_run_file(path, reader):
    try:
        return reader(path)
    except (OSError, ValueError, csv.Error) as error:
        raise ValueError(f"{path} cannot be read ({type(error).__name__}: {error}); restore "
                         f"or delete that run's folder. Received: dir={str(path.parents[3])!r}"
                         ) from None


def summarize(study, runs):
    """Per-variant mean and std of each metric over completed seeds, and the
    change of validation accuracy against the variant's reference."""
    summaries = []
    by_name = {}
    for index, variant in enumerate(study.variants):
        results = [run["result"] for run in runs.get(variant.name, [])]
        completed = [r for r in results if r["status"] == "completed"]
        summary = {
            "index": index,
            "variant": variant.name,
            "summary": variant.summary or (results[0].get("summary", "") if results else ""),
            "runs": len(results),
            "completed": len(completed),
            "diverged": sum(r["status"] == "diverged" for r in results),
            "course": variant.course if variant.course is not None
            else (results[0].get("course") if results else None),
            "course_train": results[0].get("course_train") if results else None,
        }
        summary["chance_ceiling"] = _chance_ceiling(runs.get(variant.name, []))
        summary["test_size"] = next((run["dataset"].get("test") for run in runs.get(variant.name, [])
                                     if run["dataset"].get("test")), None)
        for metric in METRICS:
            values = [_metric(r, metric) for r in completed if is_finite_number(_metric(r, metric))]
            mean, std = mean_std(values)
            summary[metric] = {"mean": mean, "std": std, "n": len(values), "values": values}
        summaries.append(summary)
        by_name[variant.name] = summary
    for index, summary in enumerate(summaries):
        summary.update(reference=None, change=None, p_value=None, significant=None)
        reference_index = study.reference_of(index)
        if reference_index is None:
            continue
        reference = summaries[reference_index]
        summary["reference"] = reference["variant"]
        values = summary["val_accuracy"]["values"]
        reference_values = reference["val_accuracy"]["values"]
        if values and reference_values:
            comparison = welch_t_test(values, reference_values)
            summary.update(change=comparison.difference, p_value=comparison.p_value,
                           significant=comparison.significant)
    return summaries


def _metric(result, metric):
    """`result[metric]`; images per second is derived: every training image
    seen once per completed epoch, over the epochs' seconds (compilation in
    the first epoch included)."""
    if metric != "images_per_second":
        return result.get(metric)
    seconds, epochs, images = (result.get("train_seconds"), result.get("epochs_completed"),
                               result.get("train_images"))
    if not (is_finite_number(seconds) and seconds > 0 and epochs and images):
        return None
    return epochs * images / seconds


def write_report(out_dir):
    """Writes results.csv, results.json, report.md and the figures; returns a
    `Report`: the paths written, the summary table and the variants still at
    chance."""
    out_dir = Path(out_dir)
    layout.check_writable(out_dir, min_free_bytes=0)
    manifest, study, runs = collect(out_dir)
    summaries = summarize(study, runs)
    run_rows = [
        {**run["result"], "variant": name}
        for name in runs for run in runs[name]
    ]
    write_csv(out_dir / "results.csv", run_rows, RUN_COLUMNS)
    references = layout.read_references(out_dir)
    write_json(out_dir / "results.json", {
        "study": study.name,
        "settings": manifest.get("settings", {}),
        "references": references,
        "test": TEST_DESCRIPTION,
        "variants": summaries,
        "runs": run_rows,
    })
    paths = [out_dir / "results.csv", out_dir / "results.json"]
    with_runs = [s for s in summaries if s["runs"]]
    if with_runs:
        plot_learning_curves(out_dir / LEARNING_CURVES, study, runs)
        plot_accuracy_gap(out_dir / ACCURACY_GAP, with_runs)
        paths += [out_dir / LEARNING_CURVES, out_dir / ACCURACY_GAP]
    gradients = gradient_summary(study, runs)
    if gradients:
        plot_gradient_norms(out_dir / GRADIENT_NORMS, study, runs)
        paths.append(out_dir / GRADIENT_NORMS)
    datasets = [run["dataset"] for name in runs for run in runs[name]]
    atomic_write_text(out_dir / "report.md",
                      markdown(manifest, study, summaries, run_rows, datasets, references,
                               gradients))
    paths.append(out_dir / "report.md")
    return Report(paths=paths, table=summary_table(summaries),
                  at_chance=[s["variant"] for s in summaries if _at_chance(s)])


@dataclass(frozen=True)
class Report:
    """What `write_report` wrote (`paths`; iterating a Report gives them) and
    what a caller prints: the Markdown `table` lines and the variants
    `at_chance`."""

    paths: list
    table: list
    at_chance: list

    def __iter__(self):
        return iter(self.paths)


def _images_used(settings, datasets):
    """The split sizes the runs trained and were measured on, from their configs."""
    sizes = {tuple(d.get(split) for split in ("train", "val", "test")) for d in datasets}
    if len(sizes) != 1 or None in next(iter(sizes)):
        if settings.get("limit"):
            return f", limit {settings['limit']} training images (a stratified subset)"
        return ""
    train, val, test = next(iter(sizes))
    subset = ""
    if settings.get("limit"):
        subset = (" (a stratified subset)" if train == settings["limit"]
                  else f" (all of them: fewer than the limit of {settings['limit']})")
    return f"; {train} training images{subset}, {val} validation, {test} test"


def markdown(manifest, study, summaries, run_rows, datasets=(), references=(), gradients=()):
    """The report; `datasets` are the runs' `config.json` dataset entries, whose
    image counts are what the runs used (a `limit` above the data keeps it all);
    `references` the plain-PyTorch reference's measurements (`layout.read_references`)."""
    settings = manifest.get("settings", {})
    lines = [f"# {study.title or study.name}", ""]
    if study.description:
        lines += [study.description, ""]
    backends = sorted({r.get("backend") for r in run_rows if r.get("backend")})
    versions = run_rows[0].get("versions", {}) if run_rows else {}
    epochs = settings.get("epochs") or "each preset's own"
    lines += [
        f"Study `{study.name}` on dataset `{settings.get('dataset')}`: "
        f"{sum(s['runs'] for s in summaries)} runs of {sum(1 for s in summaries if s['runs'])} "
        f"variants, seeds {', '.join(map(str, manifest.get('seeds', [])))}; epochs {epochs}, "
        f"width scale {settings.get('width_scale')}, batch size "
        f"{settings.get('batch_size') or 'each preset'}"
        + (f", synthetic train size {settings['train_size']}" if settings.get("train_size") else "")
        + (f", classes {', '.join(map(str, settings['classes']))} of it only (relabelled "
           "0..k-1)" if settings.get("classes") else "")
        + (f", {100 * settings['label_noise']:g}% of the training labels replaced by another "
           "class (validation and test labels clean)" if settings.get("label_noise") else "")
        + (f", {settings['folds']}-fold cross-validation (run i validates on fold i of the "
           "training images; val accuracy's mean ± std over the folds is the estimate)"
           if settings.get("folds") else "")
        + _images_used(settings, datasets)
        + ".",
        f"Backend {', '.join(backends) or 'n/a'}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        *summary_table(summaries),
    ]
    missing = [s["variant"] for s in summaries if not s["runs"]]
    test_sizes = sorted({s["test_size"] for s in summaries if s.get("test_size")})
    lines += _course_columns(summaries)
    lines += _time_table(summaries, references)
    lines += _weights_table(summaries)
    lines += _gradient_table(gradients)
    lines += [
        "",
        "- Accuracies in percent: mean ± sample standard deviation over the completed seeds "
        "(no ± with one seed). Train accuracy is Keras' running average over the last "
        "epoch, with augmentation and dropout active, so a regularized variant can show "
        "train below val. Gap = train − val, in percentage points; it is the overfitting.",
        "- Val and test accuracies are those of the final weights (with early stopping, "
        "the restored best epoch's).",
        f"- Δ val: change of the mean validation accuracy against the variant in `vs`. "
        f"Significance: {TEST_DESCRIPTION} `*` marks a significant change.",
        f"- Course: {study.course_note or 'the course figure'}. The course trained at full "
        "width for many more epochs, so compare directions of change, not levels.",
    ]
    if test_sizes:
        lines.append(
            f"- Noise of one test accuracy p on n = {', '.join(map(str, test_sizes))} test "
            "images: binomial standard error sqrt(p (1 - p) / n), "
            + ", ".join(f"±{100 * math.sqrt(p * (1 - p) / test_sizes[0]):.1f} pp at "
                        f"{round(100 * p)}%" for p in (0.5, 0.8, 0.95))
            + (f" (n = {test_sizes[0]})" if len(test_sizes) > 1 else "")
            + "; the difference of two variants' accuracies has about 1.4 times that.")
    if missing:
        lines.append(f"- Not run yet: {', '.join(missing)}.")
    at_chance = [s["variant"] for s in summaries if _at_chance(s)]
    if at_chance:
        lines.append(
            f"- Still at chance: {', '.join(at_chance)}. Their train and val accuracies are "
            "within 3 binomial standard deviations of guessing (1 / classes, on this "
            "validation set's size): they had not started to learn in the epochs given, "
            "so their Δ says nothing about the trick. Regularized variants (dropout, L2) "
            "start slowly; run more epochs (`--epochs`; the course trained for 50).")
    if any(s["diverged"] for s in summaries):
        lines.append("- Diverged runs (loss NaN/inf, stopped by TerminateOnNaN) are left out "
                     "of the means.")
    lines += ["", f"![Learning curves]({LEARNING_CURVES})", "",
              f"![Validation accuracy and gap]({ACCURACY_GAP})", "",
              "Files: `results.csv` (one row per run), `results.json` (runs and statistics), "
              "`runs/VARIANT/seed-N/` (config.json, history.csv, result.json). Rebuild with "
              "`kgen report DIR`.", ""]
    return "\n".join(lines)


def summary_table(summaries):
    """The report's table, one row per variant that has runs, as Markdown
    lines (also what `kgen` prints at the end of a study)."""
    # Test-time flip averaging is measured only when asked for (--flip-tta).
    flip = any(s["test_accuracy_flip"]["n"] for s in summaries)
    lines = [
        "| # | Variant | Change | n | Train acc % | Val acc % | Test acc % "
        + ("| Test, flip TTA % " if flip else "")
        + "| Gap (pp) | Δ val (pp) | vs | p | Course % |",
        "|---:|---|---|---:|---:|---:|---:" + ("|---:" if flip else "") + "|---:|---:|---|---:|---:|",
    ]
    for s in summaries:
        if not s["runs"]:
            continue
        n = f"{s['completed']}" + (f" ({s['diverged']} diverged)" if s["diverged"] else "")
        change = "" if s["change"] is None else f"{100 * s['change']:+.1f}"
        if s["significant"]:
            change += " *"
        if s["reference"] is None:
            p = ""
        elif s["p_value"] is None:
            p = "n=1" if s["change"] is not None else ""
        else:
            p = "<0.001" if s["p_value"] < 0.001 else f"{s['p_value']:.3f}"
        course = "" if s["course"] is None else f"{s['course']:.1f}"
        lines.append(
            f"| {s['index']} | {s['variant']} | {s['summary']} | {n} "
            f"| {_mean_std(s['train_accuracy'])} | {_mean_std(s['val_accuracy'])} "
            f"| {_mean_std(s['test_accuracy'])} "
            + (f"| {_mean_std(s['test_accuracy_flip'])} " if flip else "")
            + f"| {_mean_std(s['gap'])} | {change} | {s['reference'] or ''} | {p} | {course} |"
        )
    return lines


def _time_table(summaries, references=()):
    """Training time per run: epochs, minutes and images per second (every
    training image once per epoch; compilation included), with the
    plain-PyTorch reference's speed measured around the runs, so a reader can
    scale the times to their machine."""
    lines = [
        "", "Training time per run:", "",
        "| # | Variant | Epochs | Train minutes | Images/s |",
        "|---:|---|---:|---:|---:|",
    ]
    for s in summaries:
        if not s["runs"]:
            continue
        minutes = {key: (None if value is None else value / 60.0)
                   for key, value in s["train_seconds"].items() if key in ("mean", "std")}
        lines.append(
            f"| {s['index']} | {s['variant']} | {_epochs(s['epochs_completed'])} "
            f"| {_mean_std(minutes, percent=False, digits=1)} "
            f"| {_mean_std(s['images_per_second'], percent=False, digits=0)} |"
        )
    measured = [r for r in references if is_finite_number(r.get("images_per_second"))]
    if measured:
        lines += ["", "Plain-PyTorch reference (`" + measured[0]["bench"] + "`), measured "
                  "in the same session: "
                  + ", ".join(f"{r['images_per_second']:.0f} images/s {r.get('when', '')} the "
                              f"runs ({r.get('measured_at', '')})" for r in measured) + "."]
    elif references:
        lines += ["", "Plain-PyTorch reference: not measured ("
                  + "; ".join(str(r.get("error")) for r in references) + ")."]
    return lines


def _weights_table(summaries):
    """What the kernel penalties and constraints did to the trained weights
    (`kgen.models.weight_statistics`); runs written before kgen measured them
    have none, and then the table is left out."""
    if not any(s["near_zero_weights"]["n"] for s in summaries):
        return []
    lines = [
        "", "Trained kernels (L1 makes weights near zero, L2 shrinks them all, MaxNorm caps "
        "each unit's norm):", "",
        "| # | Variant | Near-zero weights % | Largest unit norm |",
        "|---:|---|---:|---:|",
    ]
    for s in summaries:
        if s["near_zero_weights"]["n"]:
            lines.append(f"| {s['index']} | {s['variant']} | {_mean_std(s['near_zero_weights'])} "
                         f"| {_mean_std(s['max_unit_norm'], percent=False, digits=2)} |")
    lines += ["", "- Near zero: below 1% of the largest magnitude in the weight's own kernel "
              "(relative, so L2's uniform shrinkage does not count as sparsity). Unit norm: "
              "the L2 norm of one filter's or dense unit's incoming weights."]
    return lines


def gradient_summary(study, runs):
    """Per variant with gradient norms recorded (`--gradient-norms`): the
    number of kernels, and the first kernel's gradient norm over the last
    one's (the classifier's) after the first epoch and after the last,
    geometric means over seeds. Not before training: kgen's He-initialized
    models start with a zero classifier, which passes no gradient back."""
    summary = []
    for variant in study.variants:
        recorded = [run["gradient_norms"] for run in runs.get(variant.name, [])
                    if run.get("gradient_norms")]
        if not recorded:
            continue
        ratios = {"start": [], "end": []}
        for rows in recorded:
            epochs = sorted({row["epoch"] for row in rows if row["epoch"] > 0})
            if not epochs:
                continue
            for key, epoch in (("start", epochs[0]), ("end", epochs[-1])):
                norms = [row["norm"] for row in sorted(rows, key=lambda r: r["depth"])
                         if row["epoch"] == epoch]
                if len(norms) > 1 and norms[-1] > 0 and norms[0] > 0:
                    ratios[key].append(norms[0] / norms[-1])
        summary.append({
            "variant": variant.name,
            "kernels": 1 + max(row["depth"] for row in recorded[0]),
            **{f"ratio_{key}": _geometric_mean(values) for key, values in ratios.items()},
        })
    return summary


def _geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _gradient_table(gradients):
    if not gradients:
        return []
    lines = ["", "Gradient norms (`--gradient-norms`, on a fixed probe batch of 128 training "
             "images, the data loss only; figure: gradient_norms.png):", "",
             "| Variant | Kernels | First / last layer, after epoch 1 | "
             "First / last layer, after the last epoch |", "|---|---:|---:|---:|"]
    for row in gradients:
        lines.append(f"| {row['variant']} | {row['kernels']} | {_ratio(row['ratio_start'])} "
                     f"| {_ratio(row['ratio_end'])} |")
    lines += ["", "- A ratio far below 1 is the vanishing gradient: the first layer's "
              "kernel gets a small share of the gradient the classifier gets, so it "
              "barely learns."]
    return lines


def _ratio(value):
    return "n/a" if value is None else f"{value:.2g}"


def plot_gradient_norms(path, study, runs):
    """Each kernel's gradient norm by depth (log scale), before training,
    after the first epoch and after the last, one panel per variant; the
    geometric mean over seeds."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    names = [v.name for v in study.variants
             if any(run.get("gradient_norms") for run in runs.get(v.name, []))]
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(max(3.4 * columns, 8.0), 2.8 * rows + 0.7),
                                sharey=True, squeeze=False)
    for axis in axes.flat[len(names):]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, names):
        recorded = [run["gradient_norms"] for run in runs[name] if run.get("gradient_norms")]
        epochs = sorted({row["epoch"] for rows in recorded for row in rows})
        shown = sorted({epochs[0], epochs[min(1, len(epochs) - 1)], epochs[-1]})
        for epoch, color in zip(shown, ("tab:gray", "tab:blue", "tab:red")):
            by_depth = {}
            for rows in recorded:
                for row in rows:
                    if row["epoch"] == epoch and row["norm"] > 0:
                        by_depth.setdefault(row["depth"], []).append(row["norm"])
            depths = sorted(by_depth)
            axis.plot(depths, [_geometric_mean(by_depth[d]) for d in depths], "o-",
                      color=color, markersize=3, label=f"after {epoch} epochs" if epoch
                      else "before training")
        axis.set_yscale("log")
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("kernel depth (0 = first)")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    for axis in axes[:, 0]:
        axis.set_ylabel("gradient norm")
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(f"{study.title or study.name}\nper-kernel gradient norm on a probe batch",
                    fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)


def _course_columns(summaries):
    """The course's own table layout (the HUST slides): best validation loss and
    accuracy over the epochs, test loss and accuracy of the final weights, and
    the measured train accuracy beside the course's where it gives one."""
    lines = [
        "", "The course's columns:", "",
        "| # | Variant | Best val loss | Best val acc % | Test loss | Test acc % "
        "| Train acc % | Course train % | Course % |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        if not s["runs"]:
            continue
        course_train = "" if s["course_train"] is None else f"{s['course_train']:.1f}"
        course = "" if s["course"] is None else f"{s['course']:.1f}"
        lines.append(
            f"| {s['index']} | {s['variant']} | {_mean_std(s['best_val_loss'], percent=False)} "
            f"| {_mean_std(s['best_val_accuracy'])} | {_mean_std(s['test_loss'], percent=False)} "
            f"| {_mean_std(s['test_accuracy'])} | {_mean_std(s['train_accuracy'])} "
            f"| {course_train} | {course} |"
        )
    return lines


def plot_learning_curves(path, study, runs):
    """Train (solid) and validation (dashed) accuracy per epoch, one panel per
    variant; the line is the mean over seeds and the band its min-max."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    names = [v.name for v in study.variants if runs.get(v.name)]
    columns = min(5, len(names))
    rows = math.ceil(len(names) / columns)
    # At least 8 inches wide: the two-line title must fit above one or two panels.
    figure, axes = plt.subplots(rows, columns, figsize=(max(3.2 * columns, 8.0), 2.7 * rows + 0.6),
                                sharex=True, sharey=True, squeeze=False)
    for axis in axes.flat[len(names):]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, names):
        for column, color, style, label in (("accuracy", "tab:blue", "-", "train"),
                                            ("val_accuracy", "tab:orange", "--", "val")):
            curves = [[100 * row[column] if is_finite_number(row.get(column)) else math.nan
                       for row in run["history"]] for run in runs[name]]
            length = max((len(c) for c in curves), default=0)
            if not length:
                continue
            epochs = list(range(1, length + 1))
            columns_by_epoch = [[c[e] for c in curves if e < len(c) and is_finite_number(c[e])]
                                for e in range(length)]
            mean = [sum(v) / len(v) if v else math.nan for v in columns_by_epoch]
            axis.plot(epochs, mean, style, color=color, label=label, linewidth=1.8)
            if len(curves) > 1:
                low = [min(v) if v else math.nan for v in columns_by_epoch]
                high = [max(v) if v else math.nan for v in columns_by_epoch]
                axis.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0)
        axis.set_title(name, fontsize=10)
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    for axis in axes[-1]:
        axis.set_xlabel("epoch")
    for axis in axes[:, 0]:
        axis.set_ylabel("accuracy (%)")
    axes.flat[0].legend(loc="lower right", fontsize=8)
    seeds = max(len(runs[n]) for n in names)
    band = ", band: min-max over seeds" if seeds > 1 else ""
    figure.suptitle(f"{study.title or study.name}\ntrain (solid) vs validation (dashed) "
                    f"accuracy, {f'mean of {seeds} seeds' if seeds > 1 else 'one seed'}{band}",
                    fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)


def plot_accuracy_gap(path, summaries):
    """Top: train and validation accuracy per variant (error bars: std over
    seeds; diamonds: the course's figure). Bottom: the gap. A study without a
    validation split (`--validation-split 0`) shows the test accuracy and the
    train − test gap instead."""
    plt = pyplot()
    held_out = "val" if any(is_finite_number(s["val_accuracy"]["mean"]) for s in summaries) \
        else "test"
    names = [s["variant"] for s in summaries]
    positions = list(range(len(names)))
    width = 0.38
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(6.0, 0.85 * len(names) + 2), 6.4), sharex=True,
        gridspec_kw={"height_ratios": [2, 1]},
    )
    for offset, metric, color, label in ((-width / 2, "train_accuracy", "tab:blue", "train"),
                                         (width / 2, f"{held_out}_accuracy", "tab:orange",
                                          held_out)):
        means = [_nan(_scaled(s[metric]["mean"])) for s in summaries]
        errors = [_nan(_scaled(s[metric]["std"])) for s in summaries]
        top.bar([p + offset for p in positions], means, width, color=color, label=label,
                **_error_bars(errors))
    course = [(p, s["course"]) for p, s in zip(positions, summaries) if s["course"] is not None]
    if course:
        top.scatter([p + width / 2 for p, _ in course], [c for _, c in course], marker="D",
                    color="black", zorder=3, label="course (val/test)")
    top.set_ylabel("accuracy (%)")
    top.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=3, frameon=False)
    top.grid(axis="y", alpha=0.3)
    finite = [v for s in summaries for v in (_scaled(s["train_accuracy"]["mean"]),
                                             _scaled(s[f"{held_out}_accuracy"]["mean"]))
              if is_finite_number(v)]
    finite += [c for _, c in course]
    top.set_ylim(0.0, min(100.0, max(finite, default=95.0) + 5))
    if held_out == "val":
        gaps = [_nan(_scaled(s["gap"]["mean"])) for s in summaries]
        gap_errors = [_nan(_scaled(s["gap"]["std"])) for s in summaries]
    else:  # the difference of the means; no per-seed gap was recorded
        gaps = [_nan(_scaled(_difference(s["train_accuracy"]["mean"], s["test_accuracy"]["mean"])))
                for s in summaries]
        gap_errors = [math.nan] * len(summaries)
    bottom.bar(positions, gaps, 0.6, color="tab:red", **_error_bars(gap_errors))
    bottom.axhline(0.0, color="black", linewidth=0.8)
    bottom.set_ylabel(f"gap train − {held_out} (pp)")
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(positions)
    bottom.set_xticklabels(names, rotation=30, ha="right")
    figure.suptitle(f"Accuracy per variant and the train − {held_out} gap"
                    + (" (error bars: std over seeds)" if any(is_finite_number(e) for e in errors) else ""),
                    fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def _chance_ceiling(variant_runs):
    """The accuracy below which a run is indistinguishable from guessing: chance
    plus 3 binomial standard deviations on the validation set's size."""
    for run in variant_runs:
        classes, val_size = run["dataset"].get("classes"), run["dataset"].get("val")
        if classes and val_size:
            chance = 1 / classes
            return chance + 3 * math.sqrt(chance * (1 - chance) / val_size)
    return None


def _at_chance(summary):
    ceiling = summary.get("chance_ceiling")
    train, val = summary["train_accuracy"]["mean"], summary["val_accuracy"]["mean"]
    return (summary["completed"] > 0 and ceiling is not None and is_finite_number(train)
            and is_finite_number(val) and train < ceiling and val < ceiling)


def _mean_std(stat, percent=True, digits=None):
    """`mean ± std` of a summary statistic: accuracies in percent to 0.1, other
    figures (losses) to 0.001 unless `digits` says otherwise."""
    if stat["mean"] is None:
        return "n/a"
    scale, default_digits = (100, 1) if percent else (1, 3)
    digits = default_digits if digits is None else digits
    if stat["std"] is None:
        return f"{scale * stat['mean']:.{digits}f}"
    return f"{scale * stat['mean']:.{digits}f} ± {scale * stat['std']:.{digits}f}"


def _difference(a, b):
    return a - b if is_finite_number(a) and is_finite_number(b) else None


def _epochs(stat):
    """The epochs every run completed, or their mean ± std when they differ
    (early stopping, a diverged run)."""
    values = stat["values"]
    if values and len(set(values)) == 1:
        return f"{values[0]:g}"
    return _mean_std(stat, percent=False, digits=1)


def _scaled(value):
    return None if value is None else 100.0 * value


def _error_bars(errors):
    if not any(is_finite_number(e) for e in errors):
        return {}
    return {"yerr": [e if is_finite_number(e) else 0.0 for e in errors], "capsize": 3}


def _nan(value):
    return math.nan if value is None else value


def _seed_of(path):
    try:
        return int(path.name.split("-", 1)[1])
    except (IndexError, ValueError):
        return math.inf
