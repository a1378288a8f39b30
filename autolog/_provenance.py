"""Built-in plugin: tag every run with where it came from.

Script and arguments (secrets redacted), git commit and dirty flag, Python and
the versions of the frameworks autolog has patched, host and user. Everything
that costs more than a dictionary lookup (git, above all) is computed once per
process, so a sweep of thousands of 2 ms fits does not pay it each time.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

from ._redaction import REDACTED, Redactor, active
from .hookspecs import hookimpl

_LONG_FLAG = re.compile(r"^--?(?P<name>[A-Za-z0-9_.-]+)(?P<eq>=)?")
_OVERRIDE = re.compile(r"^[+~]{0,2}(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)=")
_NEXT_FLAG = re.compile(r"^--?[A-Za-z]")  # another option, not the secret flag's value
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@hookimpl
def autolog_run_started(run) -> None:
    from ._integrations import active_versions

    tags = dict(_static_tags())
    # Not cached with the rest: it follows the redact_keys/keep_keys in force.
    if sys.argv[1:] and not _in_kernel():  # a kernel's argv is only its connection file
        tags["autolog.source.args"] = " ".join(redact_argv(sys.argv[1:]))
    tags.update({f"autolog.version.{name}": version for name, version in active_versions().items()})
    run.set_tags(tags)


@functools.lru_cache(maxsize=1)
def _static_tags() -> dict[str, str]:
    import platform
    import socket

    tags = {
        "autolog.source.script": _script(),
        "autolog.python.version": platform.python_version(),
        "autolog.host": socket.gethostname(),
        "autolog.user": _user(),
    }
    tags.update(_git_tags(Path(tags["autolog.source.script"]).parent))
    return {k: v for k, v in tags.items() if v}


def redact_argv(argv: list[str], redactor: Redactor | None = None) -> list[str]:
    """The command line with credentials hidden and every other value kept.

    ``--token X``, ``--password=X``, ``db.password=X`` (Hydra overrides, with
    ``+``/``++``) hide X when the option's name is secret by the key rule of
    :mod:`autolog._redaction` (``--max-tokens 2048`` stays). Every argument is
    also scanned for secret shapes (``postgresql://u:***@h``, ``hf_***``).
    ``-p`` hides its value unless it is a number: it means ``--password`` for
    MySQL-style tools, but a port, a process count or a patience in most
    training scripts, and those are numbers, which hiding would lose.
    """
    redactor = redactor or active()
    redacted: list[str] = []
    hide_next = keep_number = False
    for arg in argv:
        if hide_next and not _NEXT_FLAG.match(arg):
            redacted.append(arg if keep_number and _NUMBER.match(arg) else REDACTED)
            hide_next = False
            continue
        hide_next = keep_number = False
        if arg.startswith("-p") and not arg.startswith("--"):
            value = arg[2:].lstrip("=")
            if not value:
                hide_next = keep_number = True
                redacted.append(arg)
            else:
                redacted.append(arg if _NUMBER.match(value) else "-p" + REDACTED)
            continue
        flag = _LONG_FLAG.match(arg)
        if flag and redactor.is_secret_key(flag["name"]):
            if flag["eq"]:
                redacted.append(arg[: flag.end()] + REDACTED)
            else:
                redacted.append(arg)
                hide_next = True
            continue
        override = _OVERRIDE.match(arg)
        if override and redactor.is_secret_key(override["name"]):
            redacted.append(override[0] + REDACTED)
            continue
        redacted.append(redactor.scrub(arg))
    return redacted


def _script() -> str:
    from ._notebook import script_path

    return script_path()


def _in_kernel() -> bool:
    from ._notebook import shell

    return shell() is not None  # a kernel's argv is its connection file: nothing to record


def _user() -> str:
    import getpass  # here: it imports termios, which autolog() does not need

    try:
        return getpass.getuser()
    except Exception:
        return ""


def _git_tags(folder: Path) -> dict[str, str]:
    import subprocess

    if not folder.is_dir():
        folder = Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return {}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    tags = {"autolog.git.commit": commit.stdout.strip()}
    if status.returncode == 0:
        tags["autolog.git.dirty"] = "true" if status.stdout.strip() else "false"
    return tags
