"""Every exception autolog raises on purpose derives from :class:`AutologError`.

Errors that describe a bad value given by the user also derive from
:class:`ValueError`, so ``except ValueError`` keeps working for code that does
not know about autolog.
"""

from __future__ import annotations


class AutologError(Exception):
    """Root of autolog's own exceptions."""


class InvalidInputError(AutologError, ValueError):
    """A key, value, option or argument given by the user is not acceptable.

    The message names the value and says what to do instead.
    """


class InvalidFilterError(InvalidInputError):
    """A ``search_runs`` filter or order-by clause could not be parsed."""


class ConfigurationError(InvalidInputError):
    """The configuration (arguments, ``AUTOLOG_*`` variables, ``[tool.autolog]``) is invalid."""


class RunNotFoundError(AutologError, LookupError):
    """No run with the given id exists in the backend that was asked."""


class BackendError(AutologError):
    """A backend failed to store or return records (network, permissions, remote errors).

    ``permanent`` tells the shipper whether sending the same batch again can
    ever succeed: False (the default) for an unreachable or overloaded backend,
    which is retried with backoff; True for a refusal (an HTTP 4xx), after which
    the run is set aside and reported instead of retried forever. A refusal
    with ``refuses_everything`` (bad credentials) stops shipping to that
    backend for the rest of the process.
    """

    permanent = False
    refuses_everything = False
    #: True when the backend could not be reached at all (connection refused, timeout,
    #: a 503): reads may then answer from the local journal. Never for an answer it gave
    #: (a refusal, a checksum that does not match).
    unreachable = False
    #: True when the backend already warned the user about this problem itself.
    reported = False


class ModelNotSavedError(AutologError):
    """No installed plugin could save this model (not picklable, no flavor for its type)."""


class ModelNotLoadableError(AutologError):
    """A saved model cannot be loaded here: a class it needs is no longer importable."""


class ModelIntegrityError(AutologError):
    """A model's files do not match the sha256 recorded in its manifest; it is not loaded."""


class UnsafePathError(AutologError, ValueError):
    """A path from a server, a listing, a journal or a manifest would leave its folder."""


class InternalError(AutologError):
    """autolog's own code failed inside a patched call.

    Only raised when ``AUTOLOG_TESTING=1``; otherwise such failures are warned about
    once per integration and the user's call goes on.
    """


class AutologWarning(UserWarning):
    """Something went wrong on autolog's side; the user's training was not affected."""
