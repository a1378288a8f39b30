"""Keep credentials out of the journal, and hyperparameters in it.

Two independent checks, both applied to every param, tag, run name and
experiment name before it is written:

* **By key.** A key is split into words (``_ - . /``, spaces and camelCase:
  ``hfToken`` -> ``hf token``). It is secret when its words *name a
  credential*: ``password``, ``secret``, ``token``, ``api key``,
  ``connection string``... Its value becomes ``***``. A credential word
  followed by a word that makes the key *about* the credential rather than the
  credential itself (``token_type_ids``, ``password_file``, ``api_key_env``)
  is not secret, and ``token`` right after a vocabulary or counting word
  (``bos_token``, ``pad_token_id``, ``max_token_length``) is tokenizer
  vocabulary, not a credential: special tokens are strings like ``<s>`` that a
  model card publishes. The plural ``tokens`` is always a count or a
  vocabulary (``max_new_tokens``, ``tokens_per_second``) unless a credential
  qualifier precedes it (``api_tokens``, ``access_tokens``).
* **By value, whatever the key.** Known secret shapes are replaced in place,
  leaving the rest readable: URL credentials (``postgresql://alice:***@db``),
  ``name=value`` pairs whose name is secret by the rule above
  (``DB_PASSWORD=***``, ``AccountKey=***``, ``sig=***``), ``Bearer``/``Basic``
  credentials, JWTs, PEM private keys and provider key formats, with their
  recognisable prefix kept (``sk-***``, ``hf_***``, ``AKIA***``, ``ghp_***``).

Users adjust the key rule with ``redact_keys`` (more keys to hide) and
``keep_keys`` (keys to keep even though they look secret); both are glob
patterns matched, case-insensitively and with ``-`` read as ``_``, against the
whole key or its last dotted part. Hiding wins when both match. The value scan
always applies. The README has the table of examples, which the tests check.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"

# -- the key rule -----------------------------------------------------------

#: One word that names a credential by itself.
_CREDENTIAL_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "secrets",
        "credential", "credentials", "creds", "token", "apikey", "accesskey",
        "secretkey", "privatekey", "sas", "auth", "authorization", "cookie", "cookies",
        "bearer", "jwt", "sessionid", "csrftoken", "xsrf", "webhook", "dsn", "sig",
    }
)  # fmt: skip
#: ``<word> key`` pairs that name a key used as a credential (``api_key``, ``aws_key``).
_KEY_QUALIFIERS = frozenset(
    {
        "api", "access", "account", "private", "secret", "master", "signing", "encryption",
        "shared", "storage", "subscription", "license", "licence", "app", "client", "ssh",
        "gpg", "pgp", "rsa", "hmac", "session", "service", "deploy", "auth", "sas", "aws",
        "azure", "gcp", "openai", "anthropic", "wandb", "hf", "huggingface", "comet",
        "neptune", "github", "gitlab", "slack", "stripe", "databricks", "pinecone", "cohere",
    }
)  # fmt: skip
#: Two-word credentials other than ``* key``.
_CREDENTIAL_PAIRS = frozenset(
    {
        ("connection", "string"), ("conn", "str"), ("conn", "string"), ("session", "cookie"),
        ("client", "secret"), ("access", "signature"),
    }
)  # fmt: skip
#: A word after the credential word that makes the key metadata about it.
_ABOUT_WORDS = frozenset(
    {
        "id", "ids", "type", "types", "count", "counts", "len", "length", "lengths", "size",
        "sizes", "dim", "dims", "limit", "limits", "budget", "per", "embedding", "embeddings",
        "embed", "index", "indices", "idx", "num", "file", "files", "path", "paths", "dir",
        "env", "var", "name", "names", "location", "kind", "mode", "method", "scheme",
        "enabled", "required", "provider", "level", "vocab", "map", "mapping", "weight",
        "weights", "prob", "probs", "ratio", "rate", "max", "min", "pos", "position",
        "positions", "mask", "dropout", "expiry", "expires", "ttl", "timeout", "header",
    }
)  # fmt: skip
#: A word before ``token`` that makes it tokenizer vocabulary or a count.
_VOCABULARY_WORDS = frozenset(
    {
        "bos", "eos", "pad", "unk", "sep", "cls", "mask", "special", "start", "end", "stop",
        "begin", "decoder", "image", "vision", "audio", "video", "placeholder", "new",
        "extra", "added", "additional", "max", "min", "num", "n", "total", "first", "last",
        "next", "prev", "input", "output", "prompt", "completion", "context", "generated",
        "eot", "eod", "fim", "think", "tool", "default", "per", "sentinel", "boi", "eoi",
    }
)  # fmt: skip
#: Words before the plural ``tokens`` that make it credentials after all.
_TOKENS_CREDENTIAL = frozenset({"api", "access", "auth", "refresh", "bearer", "session", "oauth"})

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def key_words(key: str) -> list[str]:
    """``"model.hfToken"`` -> ``["model", "hf", "token"]``; ``"APIKey"`` -> ``["api", "key"]``."""
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", key):
        words.extend(w.lower() for w in _CAMEL.findall(part))
    return words


def _names_credential(words: list[str]) -> bool:
    """True when some word (or pair) of ``words`` names a credential, not metadata about one."""
    for i, word in enumerate(words):
        before = words[i - 1] if i > 0 else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if word == "tokens":
            hit = before in _TOKENS_CREDENTIAL
        elif word == "token":
            hit = before not in _VOCABULARY_WORDS
        elif word == "key":
            hit = before in _KEY_QUALIFIERS or len(words) == 1
        else:
            hit = word in _CREDENTIAL_WORDS or (before, word) in _CREDENTIAL_PAIRS
        if hit and after not in _ABOUT_WORDS:
            return True
    return False


#: Texts up to this many characters keep their scrubbed form, per redactor (4,096 of them).
SCRUB_CACHED_LENGTH = 512


class Redactor:
    """The key rule with a user's ``redact_keys``/``keep_keys``, and the value scan."""

    def __init__(self, redact_keys: Iterable[str] = (), keep_keys: Iterable[str] = ()) -> None:
        self.redact_keys = tuple(_normal(p) for p in redact_keys)
        self.keep_keys = tuple(_normal(p) for p in keep_keys)
        self.is_secret_key = functools.lru_cache(maxsize=4096)(self._is_secret_key)
        # A sweep logs the same short texts run after run (the script, the host, a param's
        # value): each is scanned once. Long texts (a config file, a command line) are not kept.
        self._scrub_short = functools.lru_cache(maxsize=4096)(self._scrub)

    def _is_secret_key(self, key: str) -> bool:
        names = (_normal(key), _normal(key.rsplit(".", 1)[-1]))
        if any(fnmatch.fnmatchcase(n, p) for n in names for p in self.redact_keys):
            return True
        if any(fnmatch.fnmatchcase(n, p) for n in names for p in self.keep_keys):
            return False
        return _names_credential(key_words(key))

    def redact(self, key: str, text: str) -> str:
        """``***`` for a secret key, else ``text`` with secret shapes replaced."""
        return REDACTED if self.is_secret_key(key) else self.scrub(text)

    def redact_structure(self, value: Any) -> Any:
        """A copy of nested dicts and lists with secret-keyed entries hidden, strings scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {
                k: REDACTED
                if isinstance(k, str) and self.is_secret_key(k)
                else self.redact_structure(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.redact_structure(v) for v in value]
        return value

    def scrub(self, text: str) -> str:
        """Replace every secret shape inside ``text``; the rest stays as it was."""
        if len(text) < 8:
            return text
        if len(text) <= SCRUB_CACHED_LENGTH:
            return self._scrub_short(text)
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        if "://" in text:
            text = _URL_CREDENTIALS.sub(_hide_url_credentials, text)
        for hints, pattern, replacement in _SHAPES:
            if any(hint in text for hint in hints):
                text = pattern.sub(replacement, text)
        if "=" in text or ":" in text:
            text = self._hide_pairs(_PAIR, text)
        if "--" in text:
            text = self._hide_pairs(_FLAG_PAIR, text)
        return _AUTH_HEADER.sub(_hide_auth_header, text)

    def _hide_pairs(self, pattern: re.Pattern[str], text: str) -> str:
        """Hide the value of each ``name=value`` whose name is secret.

        A pair whose name is not secret consumes only its name, so that
        ``note: token=abc`` still finds ``token=abc`` inside the value of ``note``.
        """
        parts, position = [], 0
        while match := pattern.search(text, position):
            value = match["value"]
            if (
                REDACTED in value
                or value in ("Bearer", "Basic", "Token")  # the header scan's job
                or value.startswith("-----")  # a PEM block, already hidden
                or not self.is_secret_key(match["name"])
            ):
                parts.append(text[position : match.end("sep")])
                position = match.end("sep")
                continue
            parts.append(text[position : match.end("sep")] + REDACTED)
            position = match.end()
        parts.append(text[position:])
        return "".join(parts)


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")


# -- the value scan ---------------------------------------------------------

# `user:password@` or `token@` after a scheme; not Azure's wasbs://container@account,
# where the part before @ is a container name, not a credential.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>(?<![A-Za-z0-9+.-])(?!(?:wasbs?|abfss?)://)[a-zA-Z][a-zA-Z0-9+.-]*://)"
    r"(?P<user>[^/\s@:]*)(?::(?P<password>[^/\s@]*))?@"
)
# `name=value`, `name: value`, `"name": "value"`: an unquoted value ends at `&`, `;`,
# `,`, whitespace or a bracket, a quoted one at its closing quote.
_PAIR = re.compile(
    r"(?P<lead>(?<![A-Za-z0-9_\-])[\"']?)"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{1,60})"
    r"(?P<sep>[\"']?\s*(?:=|:(?!//))\s*[\"']?)"
    r"(?P<value>(?<=[\"'])[^\"']+|[^\s&;,\"'}\]]+)"
)
# `--name value` inside a text (a command line kept in a tag).
_FLAG_PAIR = re.compile(
    r"(?P<lead>(?<![A-Za-z0-9_])--)(?P<name>[A-Za-z][A-Za-z0-9_.\-]{1,60})(?P<sep>\s+)"
    r"(?P<value>[^\s\-][^\s]*)"
)
_AUTH_HEADER = re.compile(
    r"\b(?P<scheme>Bearer|Basic|Token)\s+(?P<credential>[A-Za-z0-9\-._~+/]{8,}=*)"
)
#: Secret shapes: (literals one of which every match contains, pattern, replacement).
#: The literals are looked for first (``in``, in C): a text holding none of them cannot
#: match, so most texts pay a few substring checks instead of a regex scan per shape.
_SHAPES: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    (
        ("eyJ",),
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        REDACTED,
    ),
    (
        ("-----BEGIN ",),
        re.compile(
            r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)"
        ),
        rf"\1{REDACTED}\2",
    ),
    (("sk-",), re.compile(r"\b(sk-(?:ant-|proj-|svcacct-)?)[A-Za-z0-9_\-]{20,}"), rf"\1{REDACTED}"),
    (
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        re.compile(r"\b((?:sk|rk)_(?:live|test)_)[0-9A-Za-z]{16,}"),
        rf"\1{REDACTED}",
    ),
    (("hf_",), re.compile(r"\b(hf_)[A-Za-z0-9]{30,}"), rf"\1{REDACTED}"),
    (
        ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA"),
        re.compile(r"\b(A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|NPA|NVA))[A-Z0-9]{16}\b"),
        rf"\1{REDACTED}",
    ),
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{30,}"),
        rf"\1{REDACTED}",
    ),
    (("github_pat_",), re.compile(r"\b(github_pat_)[A-Za-z0-9_]{22,}"), rf"\1{REDACTED}"),
    (("glpat-",), re.compile(r"\b(glpat-)[A-Za-z0-9_\-]{20,}"), rf"\1{REDACTED}"),
    (("xox",), re.compile(r"\b(xox[abposr]-)[A-Za-z0-9\-]{10,}"), rf"\1{REDACTED}"),
    (
        ("hooks.slack.com/services/",),
        re.compile(r"(hooks\.slack\.com/services/)[A-Za-z0-9/]+"),
        rf"\1{REDACTED}",
    ),
    (("AIza",), re.compile(r"\b(AIza)[0-9A-Za-z_\-]{35}"), rf"\1{REDACTED}"),
    (("ya29.",), re.compile(r"\b(ya29\.)[0-9A-Za-z_\-]{20,}"), rf"\1{REDACTED}"),
    (("npm_",), re.compile(r"\b(npm_)[A-Za-z0-9]{36}"), rf"\1{REDACTED}"),
    (("pypi-",), re.compile(r"\b(pypi-)[A-Za-z0-9_\-]{50,}"), rf"\1{REDACTED}"),
    (("dapi",), re.compile(r"\b(dapi)[0-9a-f]{32}"), rf"\1{REDACTED}"),
    (("r8_",), re.compile(r"\b(r8_)[A-Za-z0-9]{30,}"), rf"\1{REDACTED}"),
    (("gsk_",), re.compile(r"\b(gsk_)[A-Za-z0-9]{40,}"), rf"\1{REDACTED}"),
    (("SG.",), re.compile(r"\b(SG\.)[\w\-]{16,}\.[\w\-]{16,}"), rf"\1{REDACTED}"),
]


def _hide_url_credentials(match: re.Match[str]) -> str:
    if match["password"] is not None:
        return f"{match['scheme']}{match['user']}:{REDACTED}@"
    return (
        f"{match['scheme']}{REDACTED}@"  # a lone user part is usually a token (ghp_...@github.com)
    )


def _hide_auth_header(match: re.Match[str]) -> str:
    credential = match["credential"]
    if match["scheme"] == "Basic":
        import base64  # here: it is a millisecond of autolog()'s start-up
        import binascii

        try:  # "Basic" is also an English word: hide only a real user:password pair
            if b":" not in base64.b64decode(credential, validate=True):
                return match[0]
        except (binascii.Error, ValueError):
            return match[0]
    elif credential == REDACTED or not re.search(r"[0-9_\-.]", credential):
        return match[0]  # "Bearer of bad news", not a token
    return f"{match['scheme']} {REDACTED}"


def strip_credentials(text: str) -> str:
    """A URI with its ``user:password@`` removed and secret query values hidden.

    For URIs that are shown or stored as destinations: credentials come from the
    environment when they are used, so none is kept, not even as ``***``.
    """
    if "://" not in text and "=" not in text:
        return text
    text = _URL_CREDENTIALS.sub(r"\g<scheme>", text)
    return default.scrub(text) if "=" in text else text


#: The redactor in force: the built-in rule until ``autolog()`` configures another.
default = Redactor()
_active = default


def configure(redact_keys: Iterable[str] = (), keep_keys: Iterable[str] = ()) -> None:
    """Use ``redact_keys``/``keep_keys`` (from :class:`autolog.Config`) from now on.

    The same keys keep the redactor in force, and with it what it has already
    scanned: a notebook cell that calls ``autolog()`` again starts no colder.
    """
    global _active
    wanted = Redactor(redact_keys, keep_keys)
    if (wanted.redact_keys, wanted.keep_keys) != (_active.redact_keys, _active.keep_keys):
        _active = wanted


def active() -> Redactor:
    """The redactor of the current configuration."""
    return _active
