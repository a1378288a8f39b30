"""Each integration against a backend that raises, one that hangs and one that is slow.

For every integration a small real training script runs four times at once:
without autolog, and with autolog shipping to ``faulty://raise``,
``faulty://hang`` or ``faulty://slow``. The training's printed result and exit
code must be those of the run without autolog; then ``autolog sync`` sends each
store to a healthy ``autolog server`` and every record of every journal must be
there exactly once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness import (
    autolog_cli,
    count,
    env,
    read_server,
    read_store,
    server_artifacts,
    start_python,
    store_points,
    write_script,
)

pytestmark = pytest.mark.slow

EXIT_CODE = 3  # not 0, so that a changed exit code cannot go unnoticed
EXIT_TIMEOUT = 1.0

# Each script takes "plain" or "autolog", trains a tiny model, prints RESULT <json>.
PREAMBLE = """
import json, os, sys, warnings
if sys.argv[1] == "autolog":
    import autolog
    autolog.autolog()
"""
EPILOGUE = """
print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
sys.exit(3)
"""

SCRIPTS = {
    "sklearn": """
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = make_classification(n_samples=200, n_features=6, random_state=0)
pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, y)
search = GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
result = {
    "pipeline": float(pipe.predict_proba(X)[:, 1].sum()),
    "best": search.best_params_,
    "best_score": float(search.best_score_),
    "coef": search.best_estimator_.coef_.tolist(),
}
""",
    "statsmodels": """
import numpy as np
import statsmodels.api as sm
from statsmodels.tsa.arima.model import ARIMA
warnings.simplefilter("ignore")  # start-parameter chatter, the same with and without autolog
rng = np.random.default_rng(0)
series = 50 + np.cumsum(rng.normal(size=120))
arima = ARIMA(series, order=(1, 1, 1)).fit()
X = sm.add_constant(rng.normal(size=(100, 3)))
ols = sm.OLS(X @ [1.0, 2.0, -1.0, 0.5] + rng.normal(size=100), X).fit()
result = {
    "arima": arima.params.tolist(),
    "forecast": arima.forecast(3).tolist(),
    "ols": ols.params.tolist(),
}
""",
    "lightning": """
import logging
import lightning.pytorch as lp
import torch
from torch.utils.data import DataLoader, TensorDataset
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
lp.seed_everything(0, verbose=False)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
train = DataLoader(TensorDataset(x[:48], y[:48]), batch_size=16, shuffle=True)
val = DataLoader(TensorDataset(x[48:], y[48:]), batch_size=16)

class Tiny(lp.LightningModule):
    def __init__(self, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

model = Tiny()
trainer = lp.Trainer(max_epochs=8, accelerator="cpu", enable_progress_bar=False,
                     enable_model_summary=False, enable_checkpointing=False, logger=False)
trainer.fit(model, train, val)
result = {
    "weights": [p.detach().double().sum().item() for p in model.parameters()],
    "metrics": {k: float(v) for k, v in sorted(trainer.callback_metrics.items())},
}
""",
    "keras": """
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras
import numpy as np
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
history = model.fit(x, y, epochs=8, batch_size=16, validation_split=0.25, verbose=0)
evaluation = model.evaluate(x, y, verbose=0)
result = {
    "history": {k: [float(v) for v in values] for k, values in history.history.items()},
    "evaluate": [float(v) for v in evaluation],
    "weights": [float(w.astype("float64").sum()) for w in model.get_weights()],
}
""",
}
BACKENDS = ("raise", "hang", "slow")


def backend_uri(kind: str, folder: Path) -> str:
    if kind == "slow":
        return f"faulty://slow?delay=0.2&target={folder / 'replica'}"
    return f"faulty://{kind}"


@dataclass
class Outcome:
    """One training process: how it ended, what it printed, and its store."""

    returncode: int
    result: dict | None
    stdout: str
    stderr: str
    seconds: float
    folder: Path
    sync_code: int = 0
    sync_stderr: str = ""


def _result(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :]) if lines else None


@pytest.fixture(scope="module", params=list(SCRIPTS))
def trained(request, tmp_path_factory, shared_server) -> dict[str, Outcome]:
    """One integration trained four times at once (plain and three broken backends), synced."""
    name = request.param
    folder = tmp_path_factory.mktemp(f"broken-{name}")
    script = write_script(folder, f"train_{name}.py", PREAMBLE + SCRIPTS[name] + EPILOGUE)
    started = {}
    for kind in ("plain", *BACKENDS):
        cwd = folder / kind
        cwd.mkdir()
        environ = env(
            AUTOLOG_TESTING="0",  # our warnings stay warnings: this is what users run
            AUTOLOG_DIR="runs",
            AUTOLOG_BACKEND=backend_uri(kind, cwd),
            AUTOLOG_EXPERIMENT=f"{name}-{kind}",
            AUTOLOG_EXIT_TIMEOUT=str(EXIT_TIMEOUT),
        )
        mode = "plain" if kind == "plain" else "autolog"
        started[kind] = (time.monotonic(), start_python(script, mode, cwd=cwd, environ=environ))
    outcomes = {}
    try:
        for kind, (start, process) in started.items():
            stdout, stderr = process.communicate(timeout=240)
            outcomes[kind] = Outcome(
                process.returncode,
                _result(stdout),
                stdout,
                stderr,
                time.monotonic() - start,
                folder / kind,
            )
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for kind in BACKENDS:
        sync = autolog_cli(
            "sync", "--dir", "runs", "--backend", shared_server.url, "--quiet",
            cwd=outcomes[kind].folder,
        )  # fmt: skip
        outcomes[kind].sync_code, outcomes[kind].sync_stderr = sync.returncode, sync.stderr
    return outcomes


@pytest.mark.parametrize("kind", BACKENDS)
class TestBrokenBackend:
    def test_training_result_and_exit_code_are_unchanged(
        self, trained: dict[str, Outcome], kind: str
    ) -> None:
        """The broken backend changes neither the printed training result nor the exit code."""
        plain, broken = trained["plain"], trained[kind]
        assert plain.returncode == EXIT_CODE and plain.result is not None, plain.stderr[-3000:]
        assert broken.returncode == EXIT_CODE, broken.stderr[-3000:]
        assert broken.result == plain.result
        assert "Traceback" not in broken.stderr, broken.stderr[-3000:]
        assert "failed and was skipped" not in broken.stderr, broken.stderr[-3000:]
        # A backend that never answers costs the exit wait, not the training.
        assert broken.seconds < plain.seconds + EXIT_TIMEOUT + 30
        if kind in ("raise", "hang"):
            assert "autolog sync" in broken.stderr  # the exit message says how to send the rest

    def test_every_record_reaches_a_healthy_server_once_after_sync(
        self, trained: dict[str, Outcome], kind: str, api, summary, request
    ) -> None:
        """After autolog sync, the healthy server holds each journal point and run exactly once."""
        outcome = trained[kind]
        integration = request.node.callspec.params["trained"]
        runs = read_store(outcome.folder / "runs")
        server = read_server(api, runs)
        counts = count(store_points(runs.values()), server.points, server.extra_copies)
        summary.add(f"{integration}, backend that {_verb(kind)}", **counts.row())
        assert outcome.sync_code == 0, outcome.sync_stderr
        assert runs and all(run.status == "FINISHED" for run in runs.values())
        assert counts.sent > 0 and counts.lost == 0, counts.missing
        assert counts.duplicated == 0
        for run_id, run in runs.items():
            assert server.copies[run_id] == 1
            copy = server.runs[run_id]
            assert copy["info"]["status"] == run.status
            params = {p["key"]: p["value"] for p in copy["data"].get("params", [])}
            assert params == run.params
            assert server_artifacts(api, copy) == run.artifacts
        if integration == "keras":  # the journal against the framework's own account
            [fit_run] = [run for run in runs.values() if run.header.get("parent_id") is None]
            logged = {(p[1], p[2]): p[4] for p in fit_run.points}
            for key, values in outcome.result["history"].items():
                for epoch, value in enumerate(values):
                    assert logged[(key, epoch)] == pytest.approx(value, rel=1e-6), (key, epoch)
        if kind == "slow":  # what the slow backend stored itself: journal prefixes, in order
            for replica in (outcome.folder / "replica").glob("*/journal.jsonl"):
                source = outcome.folder / "runs" / replica.parent.name / "journal.jsonl"
                assert source.read_bytes().startswith(replica.read_bytes())


def _verb(kind: str) -> str:
    return {"raise": "raises", "hang": "hangs", "slow": "is slow (0.2 s a batch)"}[kind]
