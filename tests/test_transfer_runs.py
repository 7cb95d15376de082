"""Transfer runs in the study runner: `TrainConfig.transfer` ("probe",
"fine-tune") starts a run from `Settings.backbone` with a new classifier,
in one or two fits; the runs resume like any other, across the phase boundary
too; `Settings.classes` carves source and target tasks from one dataset."""

import json

import keras
import numpy as np
import pytest

import kgen.models
import kgen.training
from kgen.studies import Settings, Study, Variant, layout, runner
from kgen.studies.files import read_csv, read_json

# small-cnn with BatchNorm at an eighth of its width: a frozen BatchNorm must not move.
MODEL = {"normalization": "batch"}
TARGET = dict(dataset="synthetic", classes=(5, 6, 7, 8, 9), train_size=400, limit=64,
              eval_limit=20, width_scale=0.125, batch_size=16, epochs=4, seeds=1)
ARMS = (Variant(name="scratch", preset="small-cnn", model=MODEL),
        Variant(name="probe", preset="small-cnn", model=MODEL, train={"transfer": "probe"}),
        Variant(name="fine-tune", preset="small-cnn", model=MODEL,
                train={"transfer": "fine-tune"}))


def quiet(*_):
    pass


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """small-cnn (BN, width 1/8) pretrained for one epoch on classes 0-4, saved
    by the runner (`save_model`)."""
    out = tmp_path_factory.mktemp("pretrain")
    study = Study(name="pretrain", variants=(Variant(name="source", preset="small-cnn",
                                                     model=MODEL),))
    settings = Settings(**{**TARGET, "classes": (0, 1, 2, 3, 4), "epochs": 1,
                           "save_model": True})
    runner.execute(study, settings, out, log=quiet)
    return layout.run_dir(out, "source", 0) / runner.MODEL_FILE


def values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def backbone_weights(model):
    return {w.path: keras.ops.convert_to_numpy(w) for w in model.weights
            if not w.path.startswith(("transfer_classifier", "kgen_cnn"))
            and "classifier" not in w.path}


def test_classes_carve_a_relabelled_task_and_the_model_is_saved(backbone):
    saved = kgen.models.load_model(backbone)
    assert saved.num_classes == 5 and saved.preset == "small-cnn"
    config = read_json(backbone.parent / "config.json")
    assert config["settings"]["classes"] == [0, 1, 2, 3, 4]
    assert config["dataset"]["classes"] == 5


def test_the_three_arms_train_from_the_backbone_as_their_transfer_says(backbone, tmp_path):
    settings = Settings(**TARGET, backbone=str(backbone), save_model=True)
    runner.execute(Study(name="transfer", variants=ARMS), settings, tmp_path, log=quiet)
    pretrained = backbone_weights(kgen.models.load_model(backbone))

    def trained(arm):
        return kgen.models.load_model(layout.run_dir(tmp_path, arm, 0) / runner.MODEL_FILE)

    # probe: every backbone weight (kernels, BN scale and shift, moving statistics) as saved.
    probe = trained("probe")
    probe_weights = {w.path: keras.ops.convert_to_numpy(w) for w in probe.weights}
    shared = [path for path in pretrained if path in probe_weights]
    assert len(shared) == len(pretrained) > 0
    for path in shared:
        np.testing.assert_array_equal(probe_weights[path], pretrained[path], err_msg=path)
    assert probe.layers[-1].name == "transfer_classifier"
    # fine-tune: the backbone moved in its second phase, at a tenth of the learning rate.
    fine_tuned = {w.path: keras.ops.convert_to_numpy(w) for w in trained("fine-tune").weights}
    assert any(not np.array_equal(fine_tuned[path], pretrained[path]) for path in shared)
    rates = [row["learning_rate"] for row in
             read_csv(layout.run_dir(tmp_path, "fine-tune", 0) / "history.csv")]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])
    # scratch: the same network from its own initialization, no backbone in its config.
    configs = {arm.name: read_json(layout.run_dir(tmp_path, arm.name, 0) / "config.json")
               for arm in ARMS}
    assert "backbone" not in configs["scratch"]
    assert configs["probe"]["backbone"]["sha256"] == configs["fine-tune"]["backbone"]["sha256"]
    assert configs["scratch"]["model"] == configs["probe"]["model"]


class WeightRecorder(keras.callbacks.Callback):
    """The model's weights (and the optimizer's step count) where each fit
    begins, after kgen's backup has restored it, and after every epoch."""

    def __init__(self, stop_after=None):
        super().__init__()
        self.stop_after, self.begins, self.ends = stop_after, [], {}

    def on_train_begin(self, logs=None):
        self.begins.append((values(self.model.weights),
                            int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))))

    def on_epoch_end(self, epoch, logs=None):
        self.ends[epoch + 1] = (values(self.model.weights),
                                int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))
        if epoch + 1 == self.stop_after:
            raise KeyboardInterrupt  # after the epoch's backup: a kill there


@pytest.mark.parametrize("stop_after", [1, 2, 3], ids=["in-head-phase", "at-phase-boundary",
                                                       "in-second-phase"])
def test_a_stopped_fine_tune_resumes_where_it_stopped(backbone, tmp_path, stop_after):
    # Stopped after epoch `stop_after` (2 of 4 is where the second phase
    # begins, with a fresh optimizer: the backup's optimizer state is the first
    # phase's and must not be loaded), then resumed: the resumed fit starts
    # from exactly the weights the stopped run had, with the optimizer's state
    # of that phase (none at the boundary), and finishes every epoch once.
    study = Study(name="transfer", variants=ARMS[2:])
    settings = Settings(**TARGET, backbone=str(backbone))
    stopped = WeightRecorder(stop_after)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(study, settings, tmp_path, log=quiet, callbacks=[stopped])
    resumed = WeightRecorder()
    runner.execute(study, settings, tmp_path, log=quiet, callbacks=[resumed])
    weights, iterations = stopped.ends[stop_after]
    begin_weights, begin_iterations = resumed.begins[0]
    for before, after in zip(weights, begin_weights, strict=True):
        np.testing.assert_array_equal(before, after)
    steps = 64 // 16  # a phase's optimizer counts its own steps
    assert begin_iterations == iterations if stop_after != 2 else begin_iterations == 0
    assert begin_iterations == {1: steps, 2: 0, 3: steps}[stop_after]
    assert len(resumed.begins) == (2 if stop_after < 2 else 1)  # the phases left
    result = read_json(layout.run_dir(tmp_path, "fine-tune", 0) / "result.json")
    assert result["resumed_from_epoch"] == stop_after and result["epochs_completed"] == 4
    history = read_csv(layout.run_dir(tmp_path, "fine-tune", 0) / "history.csv")
    assert [row["epoch"] for row in history] == [0, 1, 2, 3]
    assert [row["learning_rate"] for row in history] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])


def test_a_transfer_run_of_another_backbone_file_is_another_run(backbone, tmp_path):
    study = Study(name="transfer", variants=ARMS[1:2])
    runner.execute(study, Settings(**TARGET, backbone=str(backbone)), tmp_path, log=quiet)
    # The same file elsewhere is the same backbone: the finished run is kept.
    moved = tmp_path / "moved.keras"
    moved.write_bytes(backbone.read_bytes())
    logged = []
    runner.execute(study, Settings(**TARGET, backbone=str(moved)), tmp_path, log=logged.append)
    assert any("finished already" in line for line in logged)
    other = tmp_path / "other.keras"
    model = kgen.models.load_model(backbone)
    model.layers[-1].kernel.assign(model.layers[-1].kernel + 1.0)
    model.save(other)
    with pytest.raises(ValueError, match="backbone"):
        runner.execute(study, Settings(**TARGET, backbone=str(other)), tmp_path, log=quiet)


def test_each_phase_of_a_fine_tune_has_its_own_schedule(backbone, tmp_path):
    # Cosine over 4 epochs, head 2: the second phase is the first phase's
    # schedule again, at a tenth of the rate, as `kgen.transfer.fine_tune` has it.
    arm = Variant(name="fine-tune", preset="small-cnn", model=MODEL,
                  train={"transfer": "fine-tune", "schedule": "cosine"})
    runner.execute(Study(name="t", variants=(arm,)), Settings(**TARGET, backbone=str(backbone)),
                   tmp_path, log=quiet)
    rates = [row["learning_rate"] for row in
             read_csv(layout.run_dir(tmp_path, "fine-tune", 0) / "history.csv")]
    assert rates[0] > rates[1]  # it decays
    assert rates[2:] == pytest.approx([0.1 * rate for rate in rates[:2]])


def test_a_backbone_changed_during_a_study_is_refused(backbone, tmp_path, monkeypatch):
    copy = tmp_path / "backbone.keras"
    copy.write_bytes(backbone.read_bytes())
    real_plan = runner.plan

    def plan_then_replace_the_file(study, settings):
        planned = real_plan(study, settings)
        copy.write_bytes(copy.read_bytes() + b"\0")  # after the check, before the runs
        return planned

    monkeypatch.setattr(runner, "plan", plan_then_replace_the_file)
    with pytest.raises(ValueError, match="changed since the study checked it"):
        runner.execute(Study(name="t", variants=ARMS[1:2]),
                       Settings(**TARGET, backbone=str(copy)), tmp_path / "out", log=quiet)


def test_transfer_needs_a_backbone_of_the_variants_network(backbone, tmp_path):
    with pytest.raises(ValueError, match="give one"):
        runner.execute(Study(name="t", variants=ARMS[1:2]), Settings(**TARGET), tmp_path,
                       log=quiet)
    wider = Settings(**{**TARGET, "width_scale": 0.25}, backbone=str(backbone))
    with pytest.raises(ValueError, match="width_multiplier"):
        runner.execute(Study(name="t", variants=ARMS[1:2]), wider, tmp_path, log=quiet)
    # A backbone that no variant would use is a mistake, not a setting to record.
    with pytest.raises(ValueError, match="backbone="):
        runner.execute(Study(name="t", variants=ARMS[:1]),
                       Settings(**TARGET, backbone=str(backbone)), tmp_path, log=quiet)
    with pytest.raises(ValueError, match="variant 'fine-tune': .*head_epochs"):
        runner.execute(Study(name="t", variants=ARMS[2:]),
                       Settings(**{**TARGET, "epochs": 1}, backbone=str(backbone)), tmp_path,
                       log=quiet)
    assert not tmp_path.joinpath("study.json").exists()


@pytest.mark.parametrize("fields, named", [
    ({"classes": (1, 1)}, "classes"),
    ({"classes": (3,)}, "classes"),
    ({"classes": "0,1"}, "classes"),
    ({"backbone": "missing.keras"}, "backbone"),
    ({"backbone": __file__}, "backbone"),
])
def test_settings_refuse_bad_classes_and_backbones(fields, named):
    with pytest.raises((ValueError, TypeError), match=named):
        Settings(**fields)


@pytest.mark.parametrize("train, named", [
    ({"transfer": "linear"}, "transfer"),
    ({"transfer": "fine-tune", "epochs": 4, "head_epochs": 4}, "head_epochs"),
    ({"transfer": "fine-tune", "epochs": 1}, "head_epochs"),
    ({"transfer": "probe", "early_stopping_patience": 2}, "early_stopping_patience"),
    ({"transfer": "fine-tune", "fine_tune_learning_rate_factor": 0.0},
     "fine_tune_learning_rate_factor"),
    ({"head_epochs": 2}, "head_epochs"),  # it would change nothing but the run's identity
    ({"transfer": "probe", "fine_tune_learning_rate_factor": 0.5},
     "fine_tune_learning_rate_factor"),
])
def test_train_config_refuses_bad_transfer_fields(train, named):
    with pytest.raises(ValueError, match=named):
        kgen.models.TrainConfig(**train)


def test_transfer_fields_are_left_out_of_a_config_at_their_defaults():
    # Run folders written before the fields existed resume (their configs lack them).
    assert "transfer" not in kgen.models.TrainConfig().to_dict()
    assert kgen.models.TrainConfig(transfer="probe").to_dict()["transfer"] == "probe"
    assert "classes" not in Settings().result_fields()
    assert json.loads(json.dumps(Settings(classes=(2, 0)).result_fields()))["classes"] == [2, 0]


def test_fit_leaves_trained_weight_norm_layers_alone_when_told(monkeypatch):
    # A second phase or a pretrained backbone must keep its weight-normalized
    # layers; only a fresh network gets the data-dependent init.
    import kgen.training as training
    from kgen.data import load

    called = []
    monkeypatch.setattr(training, "initialize_weight_normalization",
                        lambda model, images: called.append(len(images)))
    model = kgen.models.create("small-cnn", width_multiplier=0.125, normalization="weight")
    data = load("synthetic", train_size=64, test_size=8)
    train = kgen.models.TrainConfig(batch_size=16, epochs=1)
    training.fit(model, data, train, verbose=0, data_dependent_init=False)
    assert called == []
    training.fit(model, data, train, verbose=0)
    assert called == [16]


def test_kgen_train_runs_a_probe_from_the_command_line(backbone, tmp_path):
    import kgen.cli

    out = tmp_path / "probe"
    assert kgen.cli.main([
        "train", "small-cnn", "--set", "normalization=batch", "--set", "transfer=probe",
        "--backbone", str(backbone), "--classes", "5,6,7,8,9", "--dataset", "synthetic",
        "--train-size", "400", "--limit", "64", "--eval-limit", "20", "--width-scale", "0.125",
        "--batch-size", "16", "--epochs", "1", "--seeds", "1", "--save-model",
        "--out", str(out)]) == 0
    run_dir = layout.run_dir(out, "small-cnn", 0)
    config = read_json(run_dir / "config.json")
    assert config["train"]["transfer"] == "probe" and config["settings"]["classes"] == [5, 6, 7, 8, 9]
    assert read_json(out / "study.json")["settings"]["backbone"] == str(backbone)
    assert len(config["backbone"]["sha256"]) == 64
    assert kgen.models.load_model(run_dir / runner.MODEL_FILE).layers[-1].name == (
        "transfer_classifier")
