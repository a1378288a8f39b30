"""The example plugin examples/plugins/autolog-torchloop, installed and used as its doc says.

docs/writing-integrations.md ("Frameworks without a fit") walks through this
plugin; the script below is that walkthrough's user code. The plugin is
pip-installed from its folder into a temporary target (never into the shared
environment) and found through its ``autolog`` entry point in a fresh
interpreter, exactly as after ``pip install``. A real tiny model trains.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.support.plugins import install_plugin, run_with_plugin

#: Installs the example plugin and trains in subprocesses: slow for make check.
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import autolog

    autolog.autolog(backend="runs", torchloop_every_n_steps=2)

    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(64)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    with autolog.start_run(name="plain-loop") as run:
        for epoch in range(3):
            for start in range(0, 64, 16):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(X[start:start + 16]).squeeze(1),
                                                    y[start:start + 16])
                loss.backward()
                optimizer.step()
            run.log_metric("loss", loss.item(), step=epoch)
        torch.save(model.state_dict(), "weights.pt")
        run.log_model(model)

    torch.save(model.state_dict(), "outside.pt")  # no run open: not recorded anywhere
    found = autolog.get_run(run.id)
    loaded = autolog.load_model(run.id)
    print(json.dumps({
        "runs": len(autolog.search_runs()),
        "params": found.params,
        "artifacts": found.artifacts,
        "lr_steps": [p.step for p in autolog.get_metric_history(run.id, "lr")],
        "loss_steps": [p.step for p in autolog.get_metric_history(run.id, "loss")],
        "flavor": found.model and found.model["flavor"],
        "same": bool(torch.equal(loaded(X), model(X))),
    }))
    """
)


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin installed into a temporary folder."""
    return install_plugin("autolog-torchloop", tmp_path_factory.mktemp("plugin"))


def run_script(folder: Path, plugin: Path, script: str = SCRIPT) -> subprocess.CompletedProcess:
    return run_with_plugin(script, folder, plugin)


class TestTorchLoopPlugin:
    def test_the_walkthrough_records_a_plain_training_loop(
        self, plugin_path: Path, tmp_path: Path
    ) -> None:
        """Optimizer settings, lr per 2 steps, the user's torch.save and the model, in one run."""
        done = run_script(tmp_path, plugin_path)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["runs"] == 1  # the loop is the user's run; the plugin makes none
        assert result["params"]["optimizer"] == "SGD"
        assert result["params"]["optim.lr"] == "0.1"
        assert result["params"]["optim.momentum"] == "0.9"
        assert result["lr_steps"] == [0, 2, 4, 6, 8, 10]  # 12 steps, every second one
        assert result["loss_steps"] == [0, 1, 2]
        # The user's save is an artifact; the plugin's own save (the model) is not
        # recorded a second time as one: the core runs save hooks unrecorded.
        assert "weights.pt" in result["artifacts"]
        assert "outside.pt" not in result["artifacts"]
        assert sorted(a for a in result["artifacts"] if a.endswith(".pt")) == [
            "model/model.pt",
            "weights.pt",
        ]
        assert result["flavor"] == "torch" and result["same"] is True

    def test_a_bad_option_is_the_users_error_at_autolog(
        self, plugin_path: Path, tmp_path: Path
    ) -> None:
        """check_options refuses torchloop_every_n_steps=0 when autolog() is called."""
        script = "import autolog\nautolog.autolog(backend='runs', torchloop_every_n_steps=0)\n"
        done = run_script(tmp_path, plugin_path, script)
        assert done.returncode == 1
        assert "torchloop_every_n_steps must be a positive whole number of steps, got 0" in (
            done.stderr
        )
