"""How every ``autolog`` command is declared: help, description and examples alike.

``cli``, ``_cli_edit`` and ``_cli_models`` each add commands; declaring them
through one helper keeps their ``--help`` pages the same shape (the examples
laid out as written, the description defaulting to the one-line help).
"""

from __future__ import annotations

import argparse
from typing import Any

RAW = argparse.RawDescriptionHelpFormatter


def add_command(group: Any, name: str, help_text: str, examples: str, **kw: Any) -> Any:
    """Add command ``name`` to ``group`` (a subparsers action); ``examples`` is its epilog."""
    kw.setdefault("description", help_text)
    return group.add_parser(name, help=help_text, epilog=examples, formatter_class=RAW, **kw)
