"""`kgen.studies.run(Experiment)`: one run through the runner behind every study."""

import keras
import pytest

import kgen.cli
import kgen.studies
from kgen.studies import Experiment, Settings, Variant, layout
from kgen.studies.files import read_csv, read_json

TINY = Settings(epochs=2, width_scale=0.125, batch_size=32, limit=64, eval_limit=8)
VARIANT = Variant(name="bn", preset="ladder-1", model={"normalization": "batch"})


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, logs["accuracy"]))


def test_run_trains_one_seed_into_a_study_folder_with_the_callers_callbacks(tmp_path):
    recorder = EpochRecorder()
    result = kgen.studies.run(Experiment(VARIANT, TINY, seed=3), tmp_path,
                              callbacks=[recorder], log=lambda _: None)
    run_dir = layout.run_dir(tmp_path, "bn", 3)
    assert result == read_json(run_dir / "result.json")
    assert result["status"] == "completed" and result["seed"] == 3
    assert 0.0 <= result["near_zero_weights"] < 1.0 and result["max_unit_norm"] > 0.0
    # The caller's callback saw every epoch the run's history recorded.
    history = read_csv(run_dir / "history.csv")
    assert [epoch for epoch, _ in recorder.epochs] == [row["epoch"] for row in history] == [0, 1]
    assert [accuracy for _, accuracy in recorder.epochs] == pytest.approx(
        [row["accuracy"] for row in history])
    # The trick is in the run's config: BatchNorm on the preset's network.
    assert read_json(run_dir / "config.json")["model"]["normalization"] == "batch"
    # A finished experiment is skipped, not retrained; another seed extends the folder.
    again = EpochRecorder()
    assert kgen.studies.run(Experiment(VARIANT, TINY, seed=3), tmp_path, callbacks=[again],
                            log=lambda _: None) == result
    assert again.epochs == []
    kgen.studies.run(Experiment(VARIANT, TINY, seed=4), tmp_path, log=lambda _: None)
    assert read_json(tmp_path / "study.json")["seeds"] == [3, 4]
    assert kgen.cli.main(["report", str(tmp_path)]) == 0
    variant, = read_json(tmp_path / "results.json")["variants"]
    assert variant["test_accuracy"]["n"] == 2
    assert variant["near_zero_weights"]["n"] == 2
    assert "| # | Variant | Near-zero weights % | Largest unit norm |" in (
        tmp_path / "report.md").read_text()


def test_an_experiment_is_the_run_a_study_of_its_variant_trains(tmp_path):
    # Same variant, settings and seed through `kgen.studies.run` and through
    # `kgen train`: the same config and the same history, to the bit.
    kgen.studies.run(Experiment(VARIANT, TINY, seed=0), tmp_path / "api", log=lambda _: None)
    assert kgen.cli.main(["train", "ladder-1", "--set", "normalization=batch", "--epochs", "2",
                          "--width-scale", "0.125", "--batch-size", "32", "--limit", "64",
                          "--eval-limit", "8", "--seeds", "1", "--out",
                          str(tmp_path / "cli")]) == 0
    api_run = layout.run_dir(tmp_path / "api", "bn", 0)
    cli_run, = (tmp_path / "cli").glob("runs/*/seed-0")
    api_config, cli_config = (read_json(d / "config.json") for d in (api_run, cli_run))
    for key in ("model", "train", "dataset", "settings", "seed", "backend"):
        assert api_config[key] == cli_config[key], key
    api_history, cli_history = (read_csv(d / "history.csv") for d in (api_run, cli_run))
    for api_row, cli_row in zip(api_history, cli_history, strict=True):
        assert api_row["loss"] == cli_row["loss"] and api_row["accuracy"] == cli_row["accuracy"]


@pytest.mark.parametrize("arguments, error, message", [
    ({"variant": "ladder-1"}, TypeError, "Received: variant='ladder-1'"),
    ({"variant": VARIANT, "settings": {"epochs": 2}}, TypeError, "Received: settings={'epochs'"),
    ({"variant": VARIANT, "seed": -1}, ValueError, "Received: seed=-1"),
])
def test_bad_experiments_name_the_argument(arguments, error, message):
    with pytest.raises(error, match=message):
        Experiment(**arguments)


def test_bad_callbacks_are_refused_before_anything_is_written(tmp_path):
    out_dir = tmp_path / "out"
    with pytest.raises(TypeError, match="Received: callbacks="):
        kgen.studies.run(Experiment(VARIANT, TINY), out_dir, callbacks=EpochRecorder())
    with pytest.raises(TypeError, match="Every entry of `callbacks`"):
        kgen.studies.run(Experiment(VARIANT, TINY), out_dir, callbacks=[print])
    with pytest.raises(TypeError, match="Received: experiment="):
        kgen.studies.run(VARIANT, out_dir)
    assert not out_dir.exists()


def test_the_time_left_is_estimated_from_the_runs_trained_not_those_skipped(tmp_path):
    from kgen.studies import runner

    study = kgen.studies.Study(name="one", variants=(VARIANT,))
    runner.execute(study, TINY, tmp_path, seeds=[0], log=lambda _: None)
    lines = []
    runner.execute(study, TINY, tmp_path, seeds=[0, 1, 2], log=lines.append)
    progress = [line for line in lines if line.startswith("run ")]
    # Seed 0 is skipped: no estimate before seed 1 trains, then one from seed 1 alone.
    assert progress[0] == "run 1/3: bn seed 0" and progress[1] == "run 2/3: bn seed 1"
    assert "about" in progress[2] and "left" in progress[2]
