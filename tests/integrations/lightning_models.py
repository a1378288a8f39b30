"""Tiny LightningModules for the tests, importable so saved models and ddp workers find them."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as lp
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class _RegressorLogic:
    """A two-layer regressor that logs ``train_loss`` (step and epoch) and ``val_loss``.

    ``fail_at_epoch`` raises ValueError and ``interrupt_at_epoch`` KeyboardInterrupt in
    the first training step of that epoch, to test what a broken fit leaves behind.
    ``extra`` keyword arguments only become hparams.
    """

    def __init__(
        self,
        hidden: int = 8,
        lr: float = 0.05,
        scheduler: bool = False,
        fail_at_epoch: int | None = None,
        interrupt_at_epoch: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        if batch_idx == 0 and self.current_epoch == self.hparams.fail_at_epoch:
            raise ValueError("boom in training_step")
        if batch_idx == 0 and self.current_epoch == self.hparams.interrupt_at_epoch:
            raise KeyboardInterrupt
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))
        self.log("sanity_flag", float(self.trainer.sanity_checking))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=1e-4)
        if not self.hparams.scheduler:
            return optimizer
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


class Regressor(_RegressorLogic, lp.LightningModule):
    """The regressor in the ``lightning.pytorch`` namespace."""


class PLRegressor(_RegressorLogic, pl.LightningModule):
    """The same regressor in the standalone ``pytorch_lightning`` namespace."""


class TwoOptimizers(lp.LightningModule):
    """Two sub-networks, each with its own optimizer (manual optimization)."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.first = torch.nn.Linear(4, 1)
        self.second = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        for net, optimizer in zip((self.first, self.second), self.optimizers(), strict=True):
            loss = torch.nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()
        self.log("train_loss", loss)

    def configure_optimizers(self):
        return [
            torch.optim.Adam(self.first.parameters(), lr=0.01),
            torch.optim.SGD(self.second.parameters(), lr=0.1, momentum=0.9),
        ]


def loaders(samples: int = 48, batch_size: int = 8, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Training and validation loaders of a noisy linear problem, the same for a given seed."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 4, generator=generator)
    noise = 0.1 * torch.randn(samples, 1, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + noise
    split = samples * 3 // 4
    train = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=batch_size)
    val = DataLoader(TensorDataset(x[split:], y[split:]), batch_size=batch_size)
    return train, val


def make_trainer(namespace: Any = lp, **settings: Any) -> Any:
    """A quiet CPU trainer, 3 epochs unless told otherwise."""
    options = {
        "max_epochs": 3,
        "accelerator": "cpu",
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
        "enable_checkpointing": False,
        **settings,
    }
    return namespace.Trainer(**options)
