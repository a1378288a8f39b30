"""The PyTorch Lightning integration, on tiny real models trained on the CPU."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as lp
import pytest
import pytorch_lightning as pl
import torch
import wrapt

import autolog

from .lightning_models import PLRegressor, Regressor, TwoOptimizers, loaders, make_trainer
from .recorded import only_run, steps, values

torch.set_num_threads(1)


def fit(model: Any = None, trainer: Any = None, **settings: Any) -> tuple[Any, Any]:
    model = model if model is not None else Regressor()
    trainer = trainer if trainer is not None else make_trainer(**settings)
    train, val = loaders()
    trainer.fit(model, train, val)
    return model, trainer


class TestFitRun:
    def test_fit_is_one_finished_run_with_a_point_per_epoch(self, store: Path) -> None:
        """A 3-epoch fit becomes one FINISHED run with train and val metrics at steps 0, 1, 2."""
        fit()
        run = only_run()
        assert run.status == "FINISHED"
        assert run.tags["autolog.integration"] == "lightning"
        assert run.name == "Regressor"
        assert steps(run.id, "val_loss") == [0, 1, 2]
        assert steps(run.id, "train_loss_epoch") == [0, 1, 2]

    def test_callbacks_of_the_user_are_untouched_and_ours_is_added_once(self, store: Path) -> None:
        """Our callback is present once per fit, even on a second fit, and gone afterwards."""
        seen: list[list[str]] = []

        class Spy(lp.Callback):
            def on_train_start(self, trainer: Any, pl_module: Any) -> None:
                seen.append([type(c).__name__ for c in trainer.callbacks])

        user_callbacks = [Spy()]
        trainer = make_trainer(callbacks=user_callbacks, max_epochs=1)
        fit(trainer=trainer)
        trainer.fit_loop.max_epochs = 2
        fit(trainer=trainer)
        assert [names.count("AutologCallback") for names in seen] == [1, 1]
        assert len(user_callbacks) == 1
        assert "AutologCallback" not in [type(c).__name__ for c in trainer.callbacks]
        assert len(autolog.search_runs()) == 2

    def test_fit_inside_a_user_run_is_its_child(self, store: Path) -> None:
        """A fit inside ``autolog.start_run()`` is recorded as a child run of it."""
        with autolog.start_run(name="sweep") as parent:
            fit(max_epochs=1)
        child = next(r for r in autolog.search_runs() if r.id != parent.id)
        assert child.parent_id == parent.id


class TestParams:
    def test_hparams_trainer_optimizer_scheduler_and_callback_settings(self, store: Path) -> None:
        """Params hold hparams, trainer settings, optimizer defaults, scheduler and callbacks."""
        callbacks = [
            lp.callbacks.EarlyStopping(monitor="val_loss", patience=3),
            lp.callbacks.ModelCheckpoint(monitor="val_loss", dirpath="ckpt"),
        ]
        fit(
            Regressor(lr=0.05, scheduler=True),
            max_epochs=2,
            accumulate_grad_batches=2,
            gradient_clip_val=0.5,
            callbacks=callbacks,
            enable_checkpointing=True,
        )
        params = only_run().params
        expected = {
            "hidden": "8",
            "lr": "0.05",
            "max_epochs": "2",
            "precision": "32-true",
            "accumulate_grad_batches": "2",
            "gradient_clip_val": "0.5",
            "optimizer": "Adam",
            "optimizer.lr": "0.05",
            "optimizer.betas": "[0.9, 0.999]",
            "optimizer.weight_decay": "0.0001",
            "lr_scheduler": "StepLR",
            "early_stopping.monitor": "val_loss",
            "early_stopping.patience": "3",
            "model_checkpoint.monitor": "val_loss",
            "model_checkpoint.save_top_k": "1",
        }
        assert {key: params.get(key) for key in expected} == expected

    def test_every_optimizer_is_recorded(self, store: Path) -> None:
        """With two optimizers, the second is recorded as ``optimizer_1`` with its defaults."""
        train, _ = loaders()
        make_trainer(max_epochs=1).fit(TwoOptimizers(), train)
        params = only_run().params
        assert (params["optimizer"], params["optimizer.lr"]) == ("Adam", "0.01")
        assert (params["optimizer_1"], params["optimizer_1.momentum"]) == ("SGD", "0.9")

    def test_hparams_of_the_user_win_over_ours(self, store: Path) -> None:
        """A user hparam named like one of our params keeps the user's value, without error."""
        fit(Regressor(max_epochs=99, optimizer="my-adam"), max_epochs=1)
        params = only_run().params
        assert (params["max_epochs"], params["optimizer"]) == ("99", "my-adam")
        assert params["optimizer.lr"] == "0.05"


class TestMetrics:
    def test_nothing_from_the_sanity_check_is_logged(self, store: Path) -> None:
        """Values logged during the sanity-check pass never reach the run."""
        fit(num_sanity_val_steps=2)
        run = only_run()
        assert values(run.id, "sanity_flag") == [0.0, 0.0, 0.0]

    def test_per_step_metrics_every_n_steps_when_asked(self, tmp_path: Path) -> None:
        """``log_every_n_steps=2`` adds ``step/`` metrics at global steps 2, 4, ..., 10."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_every_n_steps=2)
        fit(max_epochs=2)  # 5 batches per epoch
        run = only_run()
        assert steps(run.id, "step/train_loss_step") == [2, 4, 6, 8, 10]
        assert "step/val_loss" not in run.metrics
        assert steps(run.id, "val_loss") == [0, 1]

    def test_per_step_metrics_log_each_optimizer_step_once(self, tmp_path: Path) -> None:
        """With gradient accumulation a global step is logged once, and step 0 never."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_every_n_steps=1)
        fit(max_epochs=2, accumulate_grad_batches=2)  # 3 optimizer steps per epoch
        run = only_run()
        assert steps(run.id, "step/train_loss_step") == [1, 2, 3, 4, 5, 6]

    def test_no_per_step_metrics_by_default(self, store: Path) -> None:
        """Without the option only per-epoch metrics are logged."""
        fit(max_epochs=1)
        assert not [key for key in only_run().metrics if key.startswith("step/")]

    def test_early_stopping_logs_stopped_epoch_and_best_score(self, store: Path) -> None:
        """After early stopping the run has ``stopped_epoch`` and ``best_score``."""
        stop = lp.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=100.0)
        fit(max_epochs=5, callbacks=[stop])
        run = only_run()
        assert steps(run.id, "val_loss") == [0, 1]
        assert run.metrics["stopped_epoch"] == 1
        assert run.metrics["best_score"] == pytest.approx(values(run.id, "val_loss")[0])

    def test_validate_and_test_after_fit_log_into_the_fit_run(self, store: Path) -> None:
        """validate() adds ``eval_`` metrics and test() its own keys to the fit's run."""
        model, trainer = fit(max_epochs=1)
        _, val = loaders()
        validated = trainer.validate(model, val, verbose=False)
        tested = trainer.test(model, val, verbose=False)
        run = only_run()
        assert run.metrics["eval_val_loss"] == pytest.approx(validated[0]["val_loss"])
        assert run.metrics["test_loss"] == pytest.approx(tested[0]["test_loss"])
        assert run.status == "FINISHED"

    def test_validate_without_a_fit_records_nothing(self, store: Path) -> None:
        """validate() on a trainer that never fit under autolog creates no run."""
        _, val = loaders()
        make_trainer().validate(Regressor(), val, verbose=False)
        assert autolog.search_runs() == []


class TestModel:
    def test_final_weights_load_back_with_identical_outputs(self, store: Path) -> None:
        """Without a monitoring checkpoint the final weights are logged and load back equal."""
        model, _ = fit(max_epochs=2)
        run = only_run()
        assert run.model["flavor"] == "lightning"
        assert run.model["checkpoint"] == "final"
        loaded = autolog.load_model(run.id)
        assert type(loaded) is Regressor
        x = torch.randn(6, 4)
        model.eval()
        loaded.eval()
        assert torch.equal(loaded(x), model(x))

    def test_best_checkpoint_is_the_logged_model(self, store: Path) -> None:
        """With a ModelCheckpoint monitoring val_loss, the logged model has the best weights."""
        checkpoint = lp.callbacks.ModelCheckpoint(monitor="val_loss", mode="max", dirpath="ckpt")
        model, _ = fit(max_epochs=3, callbacks=[checkpoint], enable_checkpointing=True)
        run = only_run()
        assert run.model["checkpoint"] == "best"
        assert run.model["best_score"] == pytest.approx(float(checkpoint.best_model_score))
        best = Regressor.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
        loaded = autolog.load_model(run.id)
        x = torch.randn(6, 4)
        for module in (model, best, loaded):
            module.eval()
        assert torch.equal(loaded(x), best(x))
        assert not torch.equal(loaded(x), model(x))

    def test_no_model_with_log_models_false(self, tmp_path: Path) -> None:
        """``log_models=False`` records the fit without a model."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_models=False)
        fit(max_epochs=1)
        assert only_run().model is None

    def test_other_torch_modules_are_left_to_other_flavors(self, store: Path) -> None:
        """A plain torch module is not claimed by the lightning flavor."""
        with autolog.start_run() as run:
            manifest = run.log_model(torch.nn.Linear(2, 1))
        assert manifest["flavor"] != "lightning"


class TestFailures:
    def test_a_failing_fit_leaves_a_failed_run_with_its_epochs(self, store: Path) -> None:
        """An exception in epoch 2 propagates unchanged; the run is FAILED with epochs 0 and 1."""
        with pytest.raises(ValueError, match="boom in training_step"):
            fit(Regressor(fail_at_epoch=2))
        run = only_run()
        assert run.status == "FAILED"
        assert steps(run.id, "val_loss") == [0, 1]

    def test_an_interrupted_fit_leaves_a_killed_run_with_its_epochs(self, store: Path) -> None:
        """Ctrl-C in epoch 1 (Lightning turns it into SystemExit) leaves a KILLED run."""
        handler = signal.getsignal(signal.SIGINT)
        try:
            with pytest.raises(SystemExit):
                fit(Regressor(interrupt_at_epoch=1))
        finally:
            signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT from then on
        run = only_run()
        assert run.status == "KILLED"
        assert steps(run.id, "val_loss") == [0]


class TestNamespaces:
    def test_pytorch_lightning_namespace_is_recorded(self, store: Path) -> None:
        """A fit of the standalone ``pytorch_lightning`` package is recorded the same way."""
        fit(PLRegressor(), make_trainer(pl, max_epochs=2))
        run = only_run()
        assert run.tags["autolog.integration"] == "pytorch_lightning"
        assert steps(run.id, "val_loss") == [0, 1]
        assert isinstance(autolog.load_model(run.id), PLRegressor)

    def test_both_namespaces_in_one_process(self, store: Path) -> None:
        """Fits of both namespaces in one process give one run each."""
        fit(Regressor(), make_trainer(lp, max_epochs=1))
        fit(PLRegressor(), make_trainer(pl, max_epochs=1))
        tags = sorted(r.tags["autolog.integration"] for r in autolog.search_runs())
        assert tags == ["lightning", "pytorch_lightning"]

    def test_disable_removes_the_patches(self, store: Path) -> None:
        """``autolog(disable=True)`` restores Trainer.fit and later fits are not recorded."""
        autolog.autolog(disable=True)
        assert not isinstance(vars(lp.Trainer)["fit"], wrapt.FunctionWrapper)
        assert not isinstance(vars(pl.Trainer)["fit"], wrapt.FunctionWrapper)
        autolog.autolog(backend="runs")
        fit(max_epochs=1)
        assert len(autolog.search_runs()) == 1


class TestDistributed:
    def test_a_process_that_is_not_rank_zero_records_nothing(
        self, store: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A fit in a process whose rank (from RANK/LOCAL_RANK) is not zero creates no run."""
        from lightning_utilities.core.rank_zero import rank_zero_only

        monkeypatch.setattr(rank_zero_only, "rank", 1)
        fit(max_epochs=1)
        assert autolog.search_runs() == []

    @pytest.mark.slow
    def test_ddp_spawn_gives_one_run_written_by_rank_zero(
        self, store: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With ddp_spawn on 2 CPU processes there is one run with every epoch and the model."""
        import socket

        with socket.socket() as probe:  # the workers' rendezvous, on loopback, on a free port
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
        monkeypatch.setenv("MASTER_PORT", str(port))
        checkpoint = lp.callbacks.ModelCheckpoint(monitor="val_loss", dirpath="ckpt")
        trainer = make_trainer(
            max_epochs=2,
            strategy="ddp_spawn",
            devices=2,
            callbacks=[checkpoint],
            enable_checkpointing=True,
        )
        fit(trainer=trainer)
        run = only_run()
        assert run.status == "FINISHED"
        assert steps(run.id, "val_loss") == [0, 1]
        assert run.params["optimizer"] == "Adam"  # logged by the rank-zero worker
        assert run.params["strategy"] == "DDPStrategy"
        assert run.model["checkpoint"] == "best"
        assert "best_score" in run.model
