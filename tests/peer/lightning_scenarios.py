"""Realistic PyTorch Lightning training scripts, tiny: each returns (final weights, losses).

Run by scenario_runner.py with autolog off and on; the results must match.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import lightning.pytorch as lp
import torch
from torch.utils.data import DataLoader, TensorDataset

generator = torch.Generator().manual_seed(0)
X = torch.randn(32, 4, generator=generator)
Y = X @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])


def loader(shuffle: bool = True) -> DataLoader:
    return DataLoader(TensorDataset(X, Y), batch_size=8, shuffle=shuffle)


class Regressor(lp.LightningModule):
    def __init__(self, lr: float = 0.05, **extra: Any) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)
        )
        self.losses: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True)
        self.losses.append(loss.item())
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class Manual(Regressor):
    """Manual optimisation with two optimisers, one per layer."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> None:
        first, second = self.optimizers()
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        first.zero_grad()
        second.zero_grad()
        self.manual_backward(loss)
        first.step()
        second.step()
        self.log("train_loss", loss)
        self.losses.append(loss.item())

    def configure_optimizers(self) -> Any:
        return (
            torch.optim.SGD(self.net[0].parameters(), lr=0.05),
            torch.optim.Adam(self.net[2].parameters(), lr=0.01),
        )


class Scheduled(Regressor):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]


class Data(lp.LightningDataModule):
    def __init__(self, batch_size: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(X, Y), batch_size=self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return loader(shuffle=False)


def trainer(**settings: Any) -> lp.Trainer:
    options: dict[str, Any] = {
        "max_epochs": 2,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "accelerator": "cpu",
        "deterministic": True,
        "default_root_dir": ".",
    }
    return lp.Trainer(**{**options, **settings})


def _result(model: Regressor) -> tuple[list, list]:
    return [p.detach().numpy() for p in model.state_dict().values()], model.losses


def _fitted(
    model_class: type[Regressor],
    data: Callable[[], tuple] = lambda: (loader(),),
    **trainer_options: Any,
) -> tuple[list, list]:
    """Seed, make the model, then fit it on ``data()`` with a trainer of these options."""
    lp.seed_everything(0, verbose=False)
    model = model_class()
    fitting = trainer(**trainer_options)
    fitting.fit(model, *data())
    return _result(model)


def automatic_optimisation() -> tuple[list, list]:
    return _fitted(Regressor, lambda: (loader(), loader(shuffle=False)))


def manual_optimisation_several_optimisers() -> tuple[list, list]:
    return _fitted(Manual)


def scheduler() -> tuple[list, list]:
    return _fitted(Scheduled)


def datamodule() -> tuple[list, list]:
    lp.seed_everything(0, verbose=False)
    model = Regressor()
    trainer().fit(model, datamodule=Data())
    return _result(model)


def ckpt_path_resume() -> tuple[list, list]:
    lp.seed_everything(0, verbose=False)
    model = Regressor()
    first = trainer(max_epochs=1, enable_checkpointing=True, default_root_dir="resume")
    first.fit(model, loader())
    checkpoint = first.checkpoint_callback.best_model_path
    resumed = Regressor()
    trainer(max_epochs=2).fit(resumed, loader(), ckpt_path=checkpoint)
    weights, losses = _result(resumed)
    return weights, model.losses + losses


def fast_dev_run() -> tuple[list, list]:
    return _fitted(Regressor, lambda: (loader(), loader(shuffle=False)), fast_dev_run=True)


def limit_train_batches() -> tuple[list, list]:
    return _fitted(
        Regressor, lambda: (loader(), loader()), limit_train_batches=2, limit_val_batches=1
    )


class WithALock(Regressor):
    """hparams holding a function; an attribute holding a lock: the module cannot be pickled."""

    def __init__(self) -> None:
        super().__init__(activation=torch.nn.functional.relu, scale=lambda x: 2 * x)
        self.lock = threading.Lock()


def non_serialisable_hparams() -> tuple[list, list]:
    return _fitted(WithALock)


def validate_without_fit() -> tuple[list, list]:
    lp.seed_everything(0, verbose=False)
    model = Regressor()
    results = trainer().validate(model, loader(shuffle=False), verbose=False)
    return _result(model)[0], [results[0]["val_loss"]]


class Fails(Regressor):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if batch_idx == 2:
            raise ValueError("boom in training_step")
        return super().training_step(batch, batch_idx)


def exception_in_training_step() -> tuple[list, list]:
    lp.seed_everything(0, verbose=False)
    trainer().fit(Fails(), loader())
    return [], []


SCENARIOS = [
    "automatic_optimisation",
    "manual_optimisation_several_optimisers",
    "scheduler",
    "datamodule",
    "ckpt_path_resume",
    "fast_dev_run",
    "limit_train_batches",
    "non_serialisable_hparams",
    "validate_without_fit",
    "exception_in_training_step",
]
