"""A PyTorch Lightning classifier, tracked by one line: ``autolog.autolog()``.

    python examples/lightning_classifier.py

A small network learns to tell two interleaved spirals apart (synthetic data,
so the script needs no download). A ModelCheckpoint keeps the epoch with the
best validation accuracy and EarlyStopping ends the fit when it stalls; the
test set is scored afterwards. autolog records the fit as a run: the module's
hyperparameters, trainer, optimizer and scheduler settings, loss and accuracy
per epoch, the test scores of ``trainer.test`` and the best checkpoint's
model, which is loaded back from the run at the end. Nothing else in this
script logs anything.

Runs go to ./autolog-runs; look at them with ``autolog runs ls`` and
``autolog runs show RUN_ID``.
"""

from __future__ import annotations

import math
import tempfile

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import autolog


def spirals(count: int, seed: int) -> TensorDataset:
    """Points of two interleaved spirals with a little noise; the label says which spiral."""
    generator = torch.Generator().manual_seed(seed)
    turn = torch.rand(count, generator=generator) * 3 * math.pi
    label = torch.randint(0, 2, (count,), generator=generator)
    angle = turn + math.pi * label
    points = torch.stack([turn * torch.cos(angle), turn * torch.sin(angle)], dim=1) / 10
    points += 0.05 * torch.randn(count, 2, generator=generator)
    return TensorDataset(points, label)


class SpiralClassifier(pl.LightningModule):
    def __init__(self, hidden: int = 64, lr: float = 0.01, dropout: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 2),
        )

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.net(points)

    def _scores(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        points, labels = batch
        logits = self(points)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        self.log(f"{stage}_loss", loss, on_epoch=True, on_step=False)
        self.log(f"{stage}_acc", accuracy, on_epoch=True, on_step=False)
        return loss

    def training_step(self, batch, batch_idx):
        return self._scores(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._scores(batch, "val")

    def test_step(self, batch, batch_idx):
        self._scores(batch, "test")

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def main() -> None:
    autolog.autolog()
    torch.manual_seed(0)
    train = DataLoader(spirals(2000, seed=0), batch_size=64, shuffle=True)
    val = DataLoader(spirals(500, seed=1), batch_size=256)
    test = DataLoader(spirals(500, seed=2), batch_size=256)

    with tempfile.TemporaryDirectory() as checkpoints:
        trainer = pl.Trainer(
            max_epochs=30,
            accelerator="cpu",
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[
                pl.callbacks.ModelCheckpoint(dirpath=checkpoints, monitor="val_acc", mode="max"),
                pl.callbacks.EarlyStopping(monitor="val_acc", mode="max", patience=8),
            ],
        )
        model = SpiralClassifier()
        trainer.fit(model, train, val)
        trainer.test(model, test, ckpt_path="best", verbose=False)

    run = autolog.search_runs()[0]  # the newest run: this fit
    print(f"\nRun {run.id} ({run.name}): {run.status}, {len(run.params)} params.")
    shown = ("hidden", "lr", "max_epochs", "optimizer", "optimizer.weight_decay", "lr_scheduler")
    for key in shown:
        print(f"  {key:<24} {run.params[key]}")
    epochs = len(autolog.get_metric_history(run.id, "val_acc"))
    print(f"Metrics for {epochs} epochs; the last values:")
    for key in ("train_loss", "val_loss", "val_acc", "stopped_epoch", "test_acc"):
        if key in run.metrics:
            print(f"  {key:<24} {run.metrics[key]:.4g}")
    print(f"Model: the {run.model['checkpoint']} checkpoint by {run.model.get('monitor')}")

    reloaded = autolog.load_model(run.id).eval()
    points, labels = test.dataset.tensors
    with torch.no_grad():
        accuracy = (reloaded(points).argmax(dim=1) == labels).float().mean().item()
    print(f"Model loaded back from the run: test accuracy {accuracy:.3f}")
    print(f"\nLook at the run with:\n  autolog runs show {run.id}")


if __name__ == "__main__":
    main()
