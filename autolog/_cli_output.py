"""How the CLI prints: tables that fit the terminal, status colours, CSV and JSON.

No table library: rich would add about 35 ms to every ``autolog`` command
(``python -X importtime -c "import rich.console, rich.table"``), more than the
whole CLI takes to start, for what a few lines of padding and four ANSI colours
do here. Colour goes to a terminal only, never to a pipe or a file, and
``NO_COLOR``/``FORCE_COLOR`` are honoured (https://no-color.org).

Everything a run logged (names, params, tags) is user data: :func:`escape`
turns control characters into visible escapes, so a run named with an ANSI or
OSC sequence cannot recolour, retitle or rewrite the user's terminal.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
STATUS_COLOURS = {"RUNNING": "34", "FINISHED": "32", "FAILED": "31", "KILLED": "33"}
ELLIPSIS = "…"


def escape(text: Any) -> str:
    """``text`` with control and bidi characters shown as escapes (``\\e[31m``), never raw."""
    value = str(text)
    if not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), value)


def use_colour(out: TextIO) -> bool:
    """Colour only on a terminal; NO_COLOR turns it off, FORCE_COLOR on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def terminal_width(out: TextIO) -> int | None:
    """The width to fit, or None when printing to a pipe or file (no truncation there)."""
    columns = os.environ.get("COLUMNS")
    if columns and columns.isdigit():
        return int(columns)
    isatty = getattr(out, "isatty", None)
    if not (isatty and isatty()):
        return None
    import shutil  # here: shutil (with bz2 and lzma) costs milliseconds of every command

    return shutil.get_terminal_size((100, 24)).columns


def width_of(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in an ellipsis when cut."""
    if width_of(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    kept, used = [], 0
    for char in text:
        used += width_of(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


def fit_columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int | None, shrink: Sequence[int]
) -> tuple[list[int], int]:
    """Column widths, narrowing the ``shrink`` columns first, then dropping columns from the right.

    Returns the widths and how many columns are kept. Ids are never in ``shrink``,
    so they stay whole and copyable.
    """
    widths = [max(width_of(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    if width is None:
        return widths, len(widths)

    def total(count: int) -> int:
        return sum(widths[:count]) + 2 * (count - 1)

    for index in shrink:
        excess = total(len(widths)) - width
        if excess <= 0:
            break
        floor = max(16, width_of(header[index]))
        widths[index] = max(floor, widths[index] - excess)
    kept = len(widths)
    while kept > 1 and total(kept) > width:
        kept -= 1
    return widths, kept


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None = None,
    shrink: Sequence[int] = (),
    colour_column: int | None = None,
    colour: bool = False,
    right: Sequence[int] = (),
) -> tuple[str, int]:
    """The table as text and the number of columns dropped to fit ``width``."""
    cells = [[escape(c) for c in header], *([escape(c) for c in row] for row in rows)]
    widths, kept = fit_columns(cells[0], cells[1:], width, shrink)
    lines = []
    for line_number, row in enumerate(cells):
        parts = []
        for index in range(kept):
            text = truncate(row[index], widths[index])
            pad = " " * (widths[index] - width_of(text))
            text = pad + text if index in right else text + pad
            if colour and line_number and index == colour_column and row[index] in STATUS_COLOURS:
                text = f"\x1b[{STATUS_COLOURS[row[index]]}m{text}\x1b[0m"
            if colour and line_number == 0:
                text = f"\x1b[1m{text}\x1b[0m"
            parts.append(text)
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths[:kept]))
    return "\n".join(lines), len(widths) - kept


def write_csv(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """RFC 4180 CSV; values are written as they are (a spreadsheet reads them back)."""
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def write_json(out: TextIO, value: Any) -> None:
    json.dump(value, out, indent=2, ensure_ascii=False, allow_nan=False)
    out.write("\n")
