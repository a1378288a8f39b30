"""The one line MLflow users expect when a run starts on a tracking server: where to see it.

    autolog: View run arima-grid at http://127.0.0.1:5000/#/runs/3f2a9c1b...

Printed once per top-level run (children are seen from their parent's page),
to stderr, for each HTTP(S) backend, credentials stripped; ``silent=True`` turns
it off. The link opens the run in ``autolog server``'s web UI, which finds a run
by autolog's id.
"""

from __future__ import annotations

import sys
from typing import Any


def announce_run(run: Any, config: Any) -> None:
    """Print "View run NAME at URL" for a top-level run and each tracking-server backend."""
    if run.parent_id is not None or getattr(config, "silent", False):
        return
    from ._cli_output import escape
    from ._validation import strip_credentials

    for uri in getattr(config, "backends", ()):
        if not str(uri).startswith(("http://", "https://")):
            continue
        base = strip_credentials(str(uri)).rstrip("/")
        print(f"autolog: View run {escape(run.name)} at {base}/#/runs/{run.id}", file=sys.stderr)
