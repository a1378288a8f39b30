"""The reliability suite's fixtures, and its summary: one line per scenario.

Each scenario adds its counts to the session's :class:`Summary` (before it
asserts, so a failing scenario shows what it lost). The table is printed at the
end of the pytest run and written to ``build/reliability-summary.md``.
What the columns count is defined in ``tests/support/harness.py``; the healthy
server that journals are synced to is ``shared_server`` (tests/support/fixtures_server.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY_FILE = REPO / "build" / "reliability-summary.md"


@dataclass
class Row:
    scenario: str
    trials: int = 0
    sent: int = 0
    found: int = 0
    lost: int = 0
    duplicated: int = 0
    note: str = ""
    records: bool = True


class Summary:
    """Counts per scenario, in the order scenarios first reported."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    def add(
        self,
        scenario: str,
        trials: int = 1,
        sent: int = 0,
        found: int = 0,
        lost: int = 0,
        duplicated: int = 0,
        note: str = "",
        records: bool = True,
    ) -> None:
        """Add one trial's (or several trials') counts; ``records=False`` for request-only rows."""
        row = self.rows.setdefault(scenario, Row(scenario, records=records))
        row.trials += trials
        row.sent += sent
        row.found += found
        row.lost += lost
        row.duplicated += duplicated
        if note and note not in row.note:
            row.note = f"{row.note}; {note}" if row.note else note

    def markdown(self) -> str:
        lines = [
            "| scenario | trials | records sent | records found | lost | duplicated | notes |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in self.rows.values():
            counts = (
                f"{r.sent:,} | {r.found:,} | {r.lost} | {r.duplicated}"
                if r.records
                else "- | - | - | -"
            )
            lines.append(f"| {r.scenario} | {r.trials:,} | {counts} | {r.note} |")
        return "\n".join(lines)


_summary = Summary()


@pytest.fixture(scope="session")
def summary() -> Summary:
    """The session's reliability summary; scenarios add their counts to it."""
    return _summary


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the reliability table after the run and keep a copy in build/."""
    if not _summary.rows:
        return
    table = _summary.markdown()
    terminalreporter.section("reliability summary")
    terminalreporter.write_line(table)
    terminalreporter.write_line(
        "records = metric points: sent = what the training logged (its journal), or what "
        "clients sent; found = distinct points read back from the healthy backend; lost = "
        "sent and not found (for SIGKILL and acknowledged ingest: confirmed and not found); "
        "duplicated = points read back more than once (same run, key, step, timestamp) "
        "plus extra copies of a run"
    )
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_FILE.write_text(f"# Reliability summary\n\n{table}\n")
