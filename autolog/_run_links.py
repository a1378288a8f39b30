"""The line MLflow users expect at the end of a run on a tracking server: where to see it.

    autolog: View run arima-grid at http://127.0.0.1:5000/#/experiments/1/runs/3f2a9c1b...

Printed to stderr once a top-level run's end reached a server (children are
seen from their parent's page), one line per server, without credentials;
``silent=True`` turns it off. The URL has the ids the server gave the run and
its experiment: a real ``mlflow server`` chooses its own, so they are only
known once the shipper created the run there, which is why the line comes when
the end is shipped (in the background, or in the exit's flush), not when the
run starts. ``#/experiments/<id>/runs/<id>`` is the route of MLflow's UI, and
``autolog server``'s UI answers it too.
"""

from __future__ import annotations

import sys
from typing import Any


def announce_run(backend: Any, run_id: str, header: dict, config: Any) -> None:
    """Print "View run NAME at URL" for a top-level run whose end ``backend`` acknowledged."""
    if header.get("parent_id") or getattr(config, "silent", False):
        return
    url = backend.run_url(run_id)
    if url is None:
        return
    from ._cli_output import escape

    name = header.get("name") or run_id
    print(f"autolog: View run {escape(name)} at {url}", file=sys.stderr)
