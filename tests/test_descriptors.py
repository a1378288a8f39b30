"""One process making thousands of short runs keeps its descriptors bounded (issue 16).

A sweep of thousands of quick fits in one process (Optuna-style) must not eat
the descriptors the user's own code needs: an ended run's journal is closed at
once, so the process holds files only for its open runs plus a few.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SWEEP = """
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
import numpy as np
from sklearn.linear_model import Ridge
import autolog
autolog.autolog(backend="./runs")

def descriptors():
    return len(os.listdir("/proc/self/fd"))

X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
most = 0
for trial in range(3000):
    Ridge(alpha=trial + 1).fit(X, y)
    with open("user-file.txt", "w") as f:  # the user's code keeps opening files
        f.write(str(trial))
    if trial % 50 == 0:
        most = max(most, descriptors())
# The user now holds most of the limit; autolog must leave them the rest.
held = [open("user-file.txt") for _ in range(256 - descriptors() - 8)]
for trial in range(50):
    Ridge(alpha=0.5).fit(X, y)
    with open("user-file.txt") as f:
        f.read()
for f in held:
    f.close()
print(json.dumps({"most": most, "held": len(held)}))
"""


@pytest.mark.slow  # 3000 fits in a subprocess
def test_3000_fits_under_a_256_descriptor_limit_keep_under_64_open(tmp_path: Path) -> None:
    """Every run is recorded, under 64 descriptors are ever open, and the user's open() works."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SWEEP)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["most"] < 64, figures
    assert figures["held"] > 150
    runs = [p for p in (tmp_path / "runs").iterdir() if (p / "journal.jsonl").exists()]
    assert len(runs) == 3050
    statuses = set()
    for run in runs:
        last = (run / "journal.jsonl").read_text().splitlines()[-1]
        statuses.add(json.loads(last.split(" ", 1)[1])[0])
    assert statuses == {"end"}
