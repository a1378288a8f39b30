"""Runs from a real notebook in a real kernel: the notebook named, cells counted, clean shutdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import autolog

CELLS = [
    # 1
    "import time, warnings\n"
    "import numpy as np\n"
    "import autolog\n"
    "from autolog import _system_metrics\n"
    "autolog.autolog(backend={store!r}, system_metrics_interval=0.4, exit_timeout=1)",
    # 2: a fit, in cell 2
    "from sklearn.linear_model import Ridge\nRidge().fit(np.eye(3), np.arange(3.0))",
    # 3 and 4: the same autolog warning twice (a model that cannot be pickled)
    "from sklearn.preprocessing import FunctionTransformer\n"
    "FunctionTransformer(lambda x: x).fit(np.eye(2))",
    "FunctionTransformer(lambda x: x).fit(np.eye(2))",
    # 5: a run left open, whose sampler fails after the cell ended
    "def broken():\n"
    "    raise RuntimeError('sensor unplugged')\n"
    "_system_metrics._sampler = _system_metrics.Sampler(collectors=[broken])\n"
    "run = autolog.start_run('left-open')\n"
    "run.log_param('lr', 0.1)",
    # 6: a later cell, running while the sampler fails
    "time.sleep(2.0)\nprint('later cell')",
    # 7: a cell that raises: sys.last_value is set, the kernel goes on
    "raise ValueError('a typo in a cell')",
]


def texts(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this venv's python, in a JUPYTER_PATH of the test's own."""
    spec = tmp_path / "jupyter" / "kernels" / "autolog-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "autolog test", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("AUTOLOG_TESTING", "0")  # warnings, as a user sees them
    return "autolog-test"


def execute(tmp_path: Path, kernel_name: str, cells: list[str]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with open(tmp_path / "kernel-stderr.txt", "w") as stderr:
        client.execute(stderr=stderr)
    return notebook


@pytest.mark.slow  # each test starts a Jupyter kernel
class TestNotebook:
    def test_runs_in_a_jupyter_kernel(
        self, tmp_path: Path, kernel_name: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Source is the notebook, fits carry their cell, warnings show once where they belong,
        and the run left open ends FINISHED at kernel shutdown despite a cell's error."""
        monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "analysis.ipynb"))
        store = tmp_path / "runs"
        cells = [CELLS[0].format(store=str(store)), *CELLS[1:]]
        notebook = execute(tmp_path, kernel_name, cells)
        outputs = [texts(cell) for cell in notebook.cells]

        runs = {run.name: run for run in autolog.search_runs(backend=str(store))}
        fit = runs["Ridge"]
        assert fit.tags["autolog.source.script"] == str(tmp_path / "analysis.ipynb")
        assert fit.tags["autolog.notebook.cell"] == "2"
        assert fit.tags.get("autolog.source.args", "") == ""
        assert "ipykernel" not in json.dumps(fit.tags)

        assert "cannot be saved" in outputs[2]

        assert "'left-open'" in outputs[4] and "sensor unplugged" in outputs[4]
        assert "sensor unplugged" not in outputs[5] and "later cell" in outputs[5]

        left_open = runs["left-open"]
        assert left_open.status == "FINISHED" and left_open.params == {"lr": "0.1"}

    def test_the_same_warning_shows_once(self, tmp_path: Path, kernel_name: str) -> None:
        """The same autolog warning from two cells is shown in the first only."""
        cells = [CELLS[0].format(store=str(tmp_path / "runs")), CELLS[2], CELLS[3]]
        outputs = [texts(cell) for cell in execute(tmp_path, kernel_name, cells).cells]
        assert "cannot be saved" in outputs[1] and "cannot be saved" not in outputs[2]

    def test_vs_code_names_the_notebook_its_own_way(self, tmp_path: Path, kernel_name: str) -> None:
        """VS Code's __vsc_ipynb_file__ names the notebook when Jupyter's session name is absent."""
        store = tmp_path / "runs"
        cells = [
            f"__vsc_ipynb_file__ = {str(tmp_path / 'vscode.ipynb')!r}",
            f"import autolog\nautolog.autolog(backend={str(store)!r})\n"
            "with autolog.start_run('in-vscode'):\n    pass",
        ]
        execute(tmp_path, kernel_name, cells)
        [run] = autolog.search_runs(backend=str(store))
        assert run.tags["autolog.source.script"] == str(tmp_path / "vscode.ipynb")
        assert run.tags["autolog.notebook.cell"] == "2"

    def test_unsent_message_at_shutdown_goes_to_the_kernel_log(
        self, tmp_path: Path, kernel_name: str
    ) -> None:
        """With a dead server, "not yet sent" is said once, at shutdown, on the kernel's stderr."""
        cells = [
            "import autolog\n"
            f"autolog.autolog(backend=['http://127.0.0.1:9', {str(tmp_path / 'runs')!r}], "
            "exit_timeout=0.5)\n"
            "with autolog.start_run('offline'):\n    pass",
            "print('next cell')",
        ]
        notebook = execute(tmp_path, kernel_name, cells)
        logged = (tmp_path / "kernel-stderr.txt").read_text()
        assert "not" in logged and "autolog sync" in logged, logged
        assert "autolog sync" not in "".join(texts(cell) for cell in notebook.cells)
