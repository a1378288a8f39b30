"""Where each run is headed, and how far each destination has it: the shipper's bookkeeping.

A run's journal header names its *destinations*: the remote backends it was
configured to ship to, as URIs without credentials (credentials come from the
environment whenever records are sent, never from disk). So any later process,
a bare ``autolog sync`` after a crash included, knows where every run was going
without remembering how the training was configured.

Beside the journal, ``shipped/<key>.json`` holds one destination's progress::

    {"uri": "http://host:5000", "offset": 5120,
     "deferred": ["model/model.pkl"],            # artifacts written later
     "set_aside": {"offset": 4096, "reason": "..."}}  # refused for good at offset

``offset`` is the journal byte the destination acknowledged; ``deferred`` lists
artifacts it could not take yet (an artifact root it cannot write to now) while
everything else went on; ``set_aside`` records the server's reason when a run
was refused for good, so ``autolog status`` can say why.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._validation import strip_credentials

#: Query parameters that carry credentials (SAS tokens, keys): dropped from destinations.
_SECRET_QUERY_NAME = re.compile(r"^(sig|se|sp|sv|sr|st|spr|skoid|password|token|key|.*secret.*)$")


def destination_uri(uri: str) -> str:
    """``uri`` as it is safe to write down: no ``user:password@``, no credential query values.

    Unlike :func:`strip_credentials`, which masks secrets for messages, this
    removes them, so the result is a URI that works again once the environment
    supplies the credentials.
    """
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc.rpartition("@")[2] if _has_userinfo(parts.scheme) else parts.netloc
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if not _SECRET_QUERY_NAME.match(k.lower())]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


def _has_userinfo(scheme: str) -> bool:
    # In wasbs://container@account... the part before @ is a container, not a credential.
    return scheme.lower() not in ("wasbs", "wasb", "abfss", "abfs")


def destination_key(uri: str) -> str:
    """A stable file name for a destination: the same for the URI with or without credentials."""
    return hashlib.sha256(destination_uri(strip_credentials(uri)).encode()).hexdigest()[:16]


def run_destinations(header: dict[str, Any]) -> list[str]:
    """The destinations a run's header records ([] for local-only runs and older journals)."""
    found = header.get("destinations")
    if not isinstance(found, list):
        return []
    return [uri for uri in found if isinstance(uri, str) and uri]


def headed_for(header: dict[str, Any]) -> set[str]:
    """The run's destinations as comparable keys (credentials and secrets stripped)."""
    return {destination_uri(strip_credentials(uri)) for uri in run_destinations(header)}


def read_header(journal: Path) -> dict[str, Any]:
    """A run's first record (its header), from the journal's first line only; {} if unreadable."""
    from ._journal import parse_journal
    from ._records import header_of

    try:
        with open(journal, "rb") as f:
            first = f.readline(1 << 20)
    except OSError:
        return {}
    records = parse_journal(first, 0, path=journal, warn=False).records
    return header_of(records) or {}


@dataclass
class Delivery:
    """One destination's progress with one run; see the module docstring."""

    uri: str
    offset: int = 0
    deferred: list[str] = field(default_factory=list)
    set_aside: dict[str, Any] | None = None

    @classmethod
    def load(cls, run_dir: Path, key: str, uri: str) -> Delivery:
        """The saved progress, or a fresh one (nothing acknowledged) when none is readable."""
        try:
            data = json.loads((run_dir / "shipped" / f"{key}.json").read_text())
            offset = int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return cls(uri)
        deferred = data.get("deferred")
        set_aside = data.get("set_aside")
        return cls(
            str(data.get("uri") or uri),
            offset,
            [p for p in deferred if isinstance(p, str)] if isinstance(deferred, list) else [],
            set_aside if isinstance(set_aside, dict) else None,
        )

    def save(self, run_dir: Path, key: str) -> None:
        from ._store import write_atomically

        folder = run_dir / "shipped"
        folder.mkdir(exist_ok=True)
        data: dict[str, Any] = {"uri": self.uri, "offset": self.offset}
        if self.deferred:
            data["deferred"] = self.deferred
        if self.set_aside:
            data["set_aside"] = self.set_aside
        write_atomically(folder / f"{key}.json", json.dumps(data))
