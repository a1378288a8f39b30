"""The disk fills up while training writes its journal.

The local store lives on a real 1 MiB tmpfs mounted for the test (we run as
root in CI); where mounting is not allowed (or ``AUTOLOG_RELIABILITY_DISK=simulate``),
the journal's ``os.write`` is replaced inside the training process by one that
raises ``OSError(ENOSPC)`` while the "disk" is full, the fallback the issue
allows. The training script records phase A, then fills the disk (a file
written until ENOSPC) and trains phase B, then frees the space and trains
phase C. The user must get a warning, the training's results and exit code
must be those of a run without autolog, phase A must read back intact (its
models load, checksums match), and phase C must be recorded again.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import autolog
from tests.support.harness import count, env, point, read_store, start_python, write_script

pytestmark = pytest.mark.slow

TRAINING = """
import contextlib, errno, json, os, sys
mode, disk, how = sys.argv[1:4]
if mode == "autolog":
    import autolog
    autolog.autolog(backend=os.path.join(disk, "runs"))

class FullDisk:
    # Stands in for the os module inside autolog._journal when mounting is not allowed.
    full = False

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data):
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

shim = FullDisk()
if mode == "autolog" and how == "simulate":
    import autolog._journal
    autolog._journal.os = shim
filler = os.path.join(disk, "filler")

def fill():
    if how == "simulate":
        shim.full = True
        return
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"x" * size)

def free():
    shim.full = False
    with contextlib.suppress(FileNotFoundError):
        os.remove(filler)

from sklearn.linear_model import LogisticRegression
X = [[i, (i * 7) % 5] for i in range(60)]
y = [int(i % 5 > 1) for i in range(60)]
results = []

def phase(name, fits):
    run = autolog.start_run(name=f"phase-{name}") if mode == "autolog" else None
    with run or contextlib.nullcontext():
        for i in range(fits):
            results.append(LogisticRegression(C=1.0 + i).fit(X, y).coef_.tolist())
        for step in range(200):
            if run is not None:
                run.log_metric("loss", 1.0 / (step + 1), step=step)
    print(f"phase {name} done", flush=True)

phase("A", 3)
fill()
phase("B", 3)
free()
phase("C", 2)
print("RESULT " + json.dumps(results), flush=True)
sys.exit(3)
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A 1 MiB tmpfs mounted in the test's folder, or a plain folder to simulate on."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.environ.get("AUTOLOG_RELIABILITY_DISK") == "simulate":  # to try the fallback
        yield disk, "simulate"
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        yield disk, "simulate"
        return
    try:
        yield disk, "tmpfs"
    finally:
        autolog.autolog(disable=True)  # the test read the store: autolog lets go of its index
        subprocess.run(["umount", str(disk)], check=True)


def _run(script: Path, mode: str, disk: Path, how: str, cwd: Path):
    process = start_python(script, mode, str(disk), how, cwd=cwd, environ=env(AUTOLOG_TESTING="0"))
    stdout, stderr = process.communicate(timeout=180)
    return process.returncode, stdout, stderr


def _result(stdout: str) -> list:
    [line] = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT ") :])


class TestDiskFull:
    def test_training_goes_on_and_what_was_written_stays_intact(
        self, tmp_path: Path, small_disk: tuple[Path, str], summary
    ) -> None:
        """ENOSPC mid-training: a warning, same results and exit code, A intact, C recorded."""
        disk, how = small_disk
        script = write_script(tmp_path, "train.py", TRAINING)
        plain_code, plain_out, plain_err = _run(script, "plain", disk, how, tmp_path)
        assert plain_code == 3, plain_err[-3000:]
        code, stdout, stderr = _run(script, "autolog", disk, how, tmp_path)
        assert code == 3, stderr[-3000:]
        assert _result(stdout) == _result(plain_out)
        assert "Traceback" not in stderr, stderr[-3000:]
        assert "the disk is full" in stderr and "training goes on" in stderr, stderr[-3000:]
        assert not (disk / "filler").exists()

        store = disk / "runs"
        runs = read_store(store)
        phases = {run.header.get("name"): run for run in runs.values()}
        children = {
            name: [r for r in runs.values() if r.header.get("parent_id") == run.run_id]
            for name, run in phases.items()
            if name and name.startswith("phase-")
        }
        # What was logged before the disk filled, and after it was freed, must all be there.
        logged = [
            point(phases[name].run_id, "loss", step, 0, 1.0 / (step + 1))
            for name in ("phase-A", "phase-C")
            if name in phases
            for step in range(200)
        ]
        stored = [
            point(p[0], p[1], p[2], 0, p[4])
            for name in ("phase-A", "phase-C")
            if name in phases
            for p in phases[name].points
        ]
        counts = count(logged, stored)
        dropped = 200 - len(phases["phase-B"].points) if "phase-B" in phases else 200
        summary.add(
            "disk full while writing the journal (phases before and after)",
            sent=400,
            found=counts.found,
            lost=400 - counts.found,
            duplicated=counts.duplicated,
            note=(
                f"{'real 1 MiB tmpfs' if how == 'tmpfs' else 'simulated ENOSPC'}; "
                f"{dropped} of phase B's 200 points dropped while full, with a warning"
            ),
        )
        assert "phase-A" in phases and "phase-C" in phases, sorted(phases)
        assert counts.lost == 0 and counts.duplicated == 0, counts.missing
        for name in ("phase-A", "phase-C"):
            assert phases[name].status == "FINISHED"
            assert phases[name].damaged == 0 and not phases[name].torn_tail
        assert len(children["phase-A"]) == 3
        autolog.autolog(backend=str(store))
        for child in children["phase-A"]:
            assert child.status == "FINISHED" and child.damaged == 0
            model = autolog.load_model(child.run_id)  # every file checked against its sha256
            assert type(model).__name__ == "LogisticRegression"
        assert len(children["phase-C"]) == 2
        assert all(child.status == "FINISHED" for child in children["phase-C"])
