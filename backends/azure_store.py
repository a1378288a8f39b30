"""Azure blob storage plumbing: URIs, credentials, clients, and errors without secrets.

Shared by the blob backend (:mod:`autolog.backends.azure`) and the artifact
store (:mod:`autolog.backends.azure_artifacts`). The Azure SDK is imported
inside functions only, so that ``import autolog`` never pays for it and the
SDK stays an optional extra.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._validation import strip_credentials
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ACCESS_KEYS = ("AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_KEY")
SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
#: Overrides the blob endpoint of a ``wasbs://`` URI (Azurite, private endpoints, sovereign clouds).
BLOB_ENDPOINT = "AZURE_STORAGE_BLOB_ENDPOINT"
#: The account for ``azure://`` URIs when no connection string names it.
ACCOUNT = "AZURE_STORAGE_ACCOUNT"

#: What to tell a user whose credentials are missing or refused.
HOW_TO_AUTHENTICATE = (
    f"set {CONNECTION_STRING}; or {ACCESS_KEYS[0]} (or {ACCESS_KEYS[1]}) with the account in "
    f"the URI; or {SAS_TOKEN}; or install azure-identity and sign in (az login, managed "
    "identity) for DefaultAzureCredential"
)


#: Compiled on first use, by the re module's cache: importing this module costs nothing.
_CONTAINER_NAME = r"(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*"


@dataclass(frozen=True)
class BlobLocation:
    """Where a ``wasbs://`` or ``azure://`` URI points: container, prefix, maybe account."""

    uri: str
    container: str
    prefix: str
    account: str | None = None
    endpoint: str | None = None

    def blob_name(self, *parts: str) -> str:
        """The name of a blob under the prefix, parts joined with ``/``."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def parse_blob_uri(uri: str) -> BlobLocation | None:
    """Parse ``wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX`` or ``azure://CONTAINER/PREFIX``.

    Returns None for any other scheme; raises ConfigurationError for a URI of
    ours that cannot be right (the message never repeats a query string, where
    a SAS token may have been pasted).
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in ("wasbs", "azure"):
        return None
    shown = f"{scheme}://{parts.netloc}{parts.path}"
    if parts.query:
        raise ConfigurationError(
            f"{shown}: a blob URI takes no query string; put a SAS token in {SAS_TOKEN} instead"
        )
    account = endpoint = None
    if scheme == "wasbs":
        container, _, host = parts.netloc.rpartition("@")
        if not container or not host or "." not in host:
            raise ConfigurationError(
                f"{shown} is not a wasbs URI: write "
                "wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX"
            )
        account, endpoint = host.split(".", 1)[0], f"https://{host}"
    else:
        container = parts.netloc
    if not re.fullmatch(_CONTAINER_NAME, container):
        raise ConfigurationError(
            f"{shown}: {container!r} is not a valid container name (3-63 lowercase letters, "
            "digits and single hyphens)"
        )
    return BlobLocation(uri, container, parts.path.strip("/"), account, endpoint)


@dataclass
class Credentials:
    """The credential found for a location, and how to talk about it without revealing it.

    ``source`` names where it came from (a variable name, or
    ``DefaultAzureCredential``); ``problem`` says why there is none. ``secrets``
    are the exact values :meth:`scrub` removes from any text before it is shown.
    """

    source: str
    account_url: str | None = None
    credential: Any = None
    connection_string: str | None = None
    problem: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """``text`` with every secret value and URL credential replaced by ``***``."""
        for secret in self.secrets:
            if len(secret) >= 6:
                text = text.replace(secret, "***")
        return strip_credentials(text)

    def __repr__(self) -> str:
        return f"<Credentials from {self.source}>"


def find_credentials(
    location: BlobLocation, environ: Mapping[str, str] = os.environ
) -> Credentials:
    """The first credential found: connection string, account key, SAS token, Azure identity.

    Nothing is sent anywhere here; a missing credential comes back as
    ``problem`` so the caller can warn instead of raising into the user's script.
    """
    if environ.get(CONNECTION_STRING):
        return _from_connection_string(location, environ[CONNECTION_STRING])
    key_variable = next((name for name in ACCESS_KEYS if environ.get(name)), None)
    key = environ.get(key_variable or "", "")
    sas = environ.get(SAS_TOKEN, "").lstrip("?")
    source = key_variable or (SAS_TOKEN if sas else "DefaultAzureCredential")
    account = location.account or environ.get(ACCOUNT)
    endpoint = environ.get(BLOB_ENDPOINT) or location.endpoint
    if not endpoint and account:
        endpoint = f"https://{account}.blob.core.windows.net"
    if not endpoint or not account:
        return Credentials(
            source,
            problem=(
                f"{location.uri} names no storage account: an azure:// URI takes it from "
                f"{CONNECTION_STRING} (or from {ACCOUNT})"
            ),
            secrets=_secret_values(key, sas),
        )
    endpoint = endpoint.rstrip("/")
    if key_variable:
        credential = {"account_name": account, "account_key": key}
        return Credentials(source, endpoint, credential, secrets=_secret_values(key))
    if sas:
        return Credentials(source, endpoint, sas, secrets=_secret_values(sas))
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return Credentials(source, endpoint, problem=f"no credential for {location.uri} was found")
    import logging

    logging.getLogger("azure.identity._credentials.chained").addFilter(_quiet_identity_attempts)
    return Credentials(source, endpoint, DefaultAzureCredential())


def _quiet_identity_attempts(record: logging.LogRecord) -> bool:
    """Drop azure-identity's warning about a failed token attempt made on autolog's threads.

    It would repeat at every retry of the shipper; autolog's own warning says it
    once, with what to do. Attempts made by the user's code are not touched.
    """
    return not (
        record.levelno == logging.WARNING and (record.threadName or "").startswith("autolog-")
    )


def _from_connection_string(location: BlobLocation, text: str) -> Credentials:
    fields = dict(part.split("=", 1) for part in text.strip().strip(";").split(";") if "=" in part)
    secrets = _secret_values(
        text, fields.get("AccountKey", ""), fields.get("SharedAccessSignature", "")
    )
    named = fields.get("AccountName")
    if "AccountName" not in fields and "BlobEndpoint" not in fields:
        return Credentials(
            CONNECTION_STRING,
            problem=f"{CONNECTION_STRING} is malformed (no AccountName and no BlobEndpoint)",
            secrets=secrets,
        )
    if location.account and named and named != location.account:
        return Credentials(
            CONNECTION_STRING,
            problem=(
                f"{CONNECTION_STRING} is for account {named!r} but {location.uri} names account "
                f"{location.account!r}"
            ),
            secrets=secrets,
        )
    return Credentials(CONNECTION_STRING, connection_string=text, secrets=secrets)


def _secret_values(*values: str) -> tuple[str, ...]:
    """The values to scrub; a SAS token's signature is scrubbed on its own too."""
    found = [v for v in values if v]
    for value in values:
        found.extend(m.group(1) for m in re.finditer(r"(?:^|[?&;])sig=([^&;\s]+)", value))
    return tuple(sorted(set(found), key=len, reverse=True))


def container_client(
    location: BlobLocation, credentials: Credentials, *, quick: bool = False
) -> ContainerClient:
    """A client for the location's container.

    Retries are few and short: the shipper already retries with its own
    backoff, and a stopped service must not hold ``ship()`` for minutes.
    ``quick`` is for the credential check: no retry and tight timeouts.
    """
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    _redact_in_logs(credentials)
    retry = ExponentialRetry(
        initial_backoff=1, increment_base=2, retry_total=0 if quick else 2, random_jitter_range=1
    )
    options: dict[str, Any] = {
        "retry_policy": retry,
        "connection_timeout": 3 if quick else 10,
        "read_timeout": 5 if quick else 120,
    }
    if credentials.connection_string is not None:
        service = BlobServiceClient.from_connection_string(credentials.connection_string, **options)
    else:
        assert credentials.account_url is not None
        service = BlobServiceClient(
            credentials.account_url, credential=credentials.credential, **options
        )
    return service.get_container_client(location.container)


class _RedactSecrets:
    """A log filter that scrubs credentials from the HTTP library's lines (SAS query strings)."""

    def __init__(self) -> None:
        self.credentials: list[Credentials] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = strip_credentials(message)
        for credentials in self.credentials:
            scrubbed = credentials.scrub(scrubbed)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


_log_redaction = _RedactSecrets()


def _redact_in_logs(credentials: Credentials) -> None:
    """Make sure no log line of urllib3 (the SDK's transport) shows these credentials.

    The SDK redacts its own logs, but urllib3 logs every request line, query
    string included, at DEBUG: a user who turns DEBUG on would see a SAS token.
    """
    import logging

    if credentials.secrets and credentials not in _log_redaction.credentials:
        _log_redaction.credentials.append(credentials)
    connection_log = logging.getLogger("urllib3.connectionpool")
    if _log_redaction not in connection_log.filters:
        connection_log.addFilter(_log_redaction)


def error_code(exc: BaseException) -> str:
    """The storage error code of an SDK exception (``AuthenticationFailed``...), or ''."""
    code = getattr(exc, "error_code", None) or ""
    return str(getattr(code, "value", code))


def credential_problem(exc: BaseException, credentials: Credentials) -> str | None:
    """What is wrong with the credential, if ``exc`` says it is the credential; else None.

    Azure answers a bad key or signature with 403 AuthenticationFailed; Azurite
    with 403 AuthorizationFailure whose message says it "failed to authenticate".
    A key that is not even base64 fails before any request (AzureSigningError).
    A 403 for a missing permission (a SAS without write) is not the credential's fault.
    """
    from azure.core.exceptions import ClientAuthenticationError

    status = getattr(exc, "status_code", None)
    if status is None and isinstance(exc, ClientAuthenticationError):
        return (
            f"the credential from {credentials.source} is not usable ({describe(exc, credentials)})"
        )
    if status not in (401, 403):
        return None
    code = error_code(exc)
    if code in ("AuthenticationFailed", "InvalidAuthenticationInfo") or (
        "authenticate" in str(exc).lower()
    ):
        refused = f"the storage account refused the credential from {credentials.source}"
        return f"{refused} ({code or status})"
    return None


def describe(exc: BaseException, credentials: Credentials) -> str:
    """One line about an SDK exception, with every secret removed."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    code = error_code(exc)
    text = f"{type(exc).__name__}: {first_line}" + (f" ({code})" if code else "")
    return credentials.scrub(text)
