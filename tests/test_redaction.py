"""Redaction: every row of the README's table of examples, kept and hidden, through a real run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import autolog
from autolog import _redaction
from autolog._provenance import redact_argv
from autolog._redaction import Redactor, key_words

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_examples() -> list[tuple[str, str, str, str]]:
    """The rows between the README's ``redaction-examples`` markers: where, key, value, recorded."""
    text = README.read_text()
    table = text.split("<!-- redaction-examples -->")[1].split("<!-- /redaction-examples -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows.append(tuple(re.sub(r"^`(.*)`$", r"\1", c) for c in cells))
    return rows  # type: ignore[return-value]


EXAMPLES = readme_examples()


def _id(row: tuple[str, str, str, str]) -> str:
    return f"{row[0]}:{row[1] or row[2]}"[:60]


def test_the_table_covers_every_kind() -> None:
    """The README table has rows for params, lists, tags, argv, run and experiment names."""
    kinds = {row[0] for row in EXAMPLES}
    assert kinds == {"param", "param (list)", "tag", "argv", "run name", "experiment"}
    assert len(EXAMPLES) >= 90


@pytest.mark.parametrize("where,key,value,recorded", EXAMPLES, ids=[_id(r) for r in EXAMPLES])
def test_readme_example(where: str, key: str, value: str, recorded: str, store: Path) -> None:
    """The journal holds exactly the README's "recorded as", and no hidden part of the value."""
    if where == "argv":
        assert " ".join(redact_argv(value.split())) == recorded
        return
    if where == "run name":
        with autolog.start_run(name=value) as run:
            pass
        got = autolog.get_run(run.id).name
    elif where == "experiment":
        with autolog.start_run(experiment=value) as run:
            pass
        got = autolog.get_run(run.id).experiment
    else:
        logged = json.loads(value) if where == "param (list)" else value
        with autolog.start_run() as run:
            if where == "tag":
                run.set_tags({key: logged})
            else:
                run.log_params({key: logged})
        read = autolog.get_run(run.id)
        got = read.tags[key] if where == "tag" else read.params[key]
    assert got == recorded
    if recorded != value:  # what was hidden is nowhere in the file either
        # The run's own id (and the default name made of it) and each line's hex checksum are
        # left out: random hex can contain a short hidden part ("abc").
        lines = (store / run.id / "journal.jsonl").read_text().splitlines()
        journal = "\n".join(line.partition(" ")[2] for line in lines)
        journal = journal.replace(run.id, "").replace(run.id[:8], "")
        hidden = _hidden_part(value, recorded)
        assert hidden and hidden not in journal


def _hidden_part(value: str, recorded: str) -> str:
    """The longest stretch of ``value`` that the redaction took out."""
    start = 0
    while start < min(len(value), len(recorded)) and value[start] == recorded[start]:
        start += 1
    end = 0
    while end < min(len(value), len(recorded)) - start and value[-1 - end] == recorded[-1 - end]:
        end += 1
    return value[start : len(value) - end]


class TestKeyWords:
    @pytest.mark.parametrize(
        "key,words",
        [
            ("max_tokens", ["max", "tokens"]),
            ("hfToken", ["hf", "token"]),
            ("APIKey", ["api", "key"]),
            ("model.tokenizer.vocab-size", ["model", "tokenizer", "vocab", "size"]),
            ("AZURE_STORAGE_CONNECTION_STRING", ["azure", "storage", "connection", "string"]),
            ("SharedAccessSignature", ["shared", "access", "signature"]),
        ],
    )
    def test_split(self, key: str, words: list[str]) -> None:
        """Keys split on punctuation and camelCase, acronyms kept whole."""
        assert key_words(key) == words


class TestSettings:
    def test_redact_and_keep_keys_adjust_the_key_rule(self) -> None:
        """redact_keys hides more, keep_keys keeps a look-alike, hiding wins over keeping."""
        redactor = Redactor(redact_keys=["salt", "*.license"], keep_keys=["auth", "salt"])
        assert redactor.redact("salt", "abc") == "***"
        assert redactor.redact("product.license", "L-1") == "***"
        assert redactor.redact("trainer.auth", "oauth-mode") == "oauth-mode"
        assert redactor.redact("auth-token", "t") == "***"

    def test_keep_keys_still_scans_values(self) -> None:
        """A kept key's value is still scanned for secret shapes."""
        redactor = Redactor(keep_keys=["auth"])
        assert redactor.redact("auth", "Bearer abc.def-123456") == "Bearer ***"

    def test_settings_from_autolog_environment_and_pyproject(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """autolog(redact_keys=...), AUTOLOG_KEEP_KEYS and [tool.autolog] all reach the journal."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "pyproject.toml").write_text('[tool.autolog]\nredact_keys = ["seed"]\n')
        monkeypatch.setenv("AUTOLOG_KEEP_KEYS", "auth_mode,auth")
        try:
            autolog.autolog(backend=str(tmp_path / "runs"))
            with autolog.start_run() as run:
                run.log_params({"seed": 1, "auth": "none", "lr": 0.1})
            assert autolog.get_run(run.id).params == {"seed": "***", "auth": "none", "lr": "0.1"}
            autolog.autolog(backend=str(tmp_path / "runs"), redact_keys=["lr"])
            with autolog.start_run() as run:
                run.log_params({"seed": 1, "lr": 0.1})
            assert autolog.get_run(run.id).params == {"seed": "1", "lr": "***"}
        finally:
            _redaction.configure()

    def test_a_text_scanned_before_follows_the_new_settings(self) -> None:
        """Short texts keep their scanned form per configuration: a text seen under one set
        of keys is scanned anew under another, and a long one gets the same answer."""
        text = "mode=fast seed=12345"
        before = Redactor()
        assert before.scrub(text) == before.scrub(text) == text
        after = Redactor(redact_keys=["seed"])
        assert after.scrub(text) == after.scrub(text) == "mode=fast seed=***"
        assert before.scrub(text) == text
        long_text = "x " * _redaction.SCRUB_CACHED_LENGTH + text
        assert (
            after.scrub(long_text) == "x " * _redaction.SCRUB_CACHED_LENGTH + "mode=fast seed=***"
        )

    def test_the_same_settings_keep_the_redactor_and_new_ones_replace_it(self) -> None:
        """autolog() called again with the same keys keeps what was scanned; other keys apply."""
        try:
            _redaction.configure(["seed"], [])
            kept = _redaction.active()
            _redaction.configure(["seed"], [])
            assert _redaction.active() is kept
            _redaction.configure(["seed", "salt"], [])
            assert _redaction.active() is not kept
            assert _redaction.active().redact("salt", "abc") == "***"
        finally:
            _redaction.configure()

    def test_argv_follows_the_settings(self) -> None:
        """The command line obeys the same keep and redact lists."""
        redactor = Redactor(redact_keys=["seed"], keep_keys=["auth"])
        assert redact_argv(["--seed", "3", "--auth", "none"], redactor) == [
            "--seed",
            "***",
            "--auth",
            "none",
        ]


def test_nested_dicts_and_lists_of_dicts() -> None:
    """Nested params flatten to dotted keys; lists of dicts are walked like dicts."""
    redactor = Redactor()
    assert redactor.redact_structure(
        [{"password": "x", "inner": [{"api_key": "k", "size": 3}], "n": "https://u:p@h"}]
    ) == [{"password": "***", "inner": [{"api_key": "***", "size": 3}], "n": "https://u:***@h"}]


def test_pem_private_key_body_is_hidden() -> None:
    """A PEM private key keeps its armour lines and loses its body."""
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"
    assert Redactor().scrub(f"key: {pem}") == (
        "key: -----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"
    )


def test_strip_credentials_drops_url_credentials_entirely() -> None:
    """Destination URIs lose their credentials altogether (they come from the environment)."""
    assert (
        _redaction.strip_credentials("http://u:pw@host:5000/x?sig=abc")
        == "http://host:5000/x?sig=***"
    )
