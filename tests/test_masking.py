"""Credentials in configuration: ``${VAR}`` expansion and masking in everything shown."""

from __future__ import annotations

import pytest

from pytest_mltestscore.masking import MissingVariable, expand, mask, mask_url, url_secrets


def test_expand_reads_the_environment_and_returns_the_secrets() -> None:
    env = {"PW": "s3cret", "HOST": "db.internal", "EMPTY": ""}
    text, secrets = expand("postgresql://u:${PW}@${HOST}/db", env)
    assert text == "postgresql://u:s3cret@db.internal/db"
    assert secrets == ["s3cret", "db.internal"]
    assert expand("${NOPE:-sqlite:///x.db}", env) == ("sqlite:///x.db", [])
    assert expand("${EMPTY:-fallback}", env) == ("fallback", [])  # empty counts as unset
    assert expand("${PW:-fallback}", env) == ("s3cret", ["s3cret"])
    with pytest.raises(MissingVariable) as caught:
        expand("Bearer ${TOKEN}", env)
    assert caught.value.name == "TOKEN"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?password=pw&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
        ("https://h/v2/models/m?api_key=k1", "https://h/v2/models/m?api_key=***"),
        ("sqlite:////abs/path/log.db", "sqlite:////abs/path/log.db"),
        ("postgresql://u:${PW}@h/db", "postgresql://u:***@h/db"),
        ("http://h:8080/invocations", "http://h:8080/invocations"),
    ],
)  # fmt: skip
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_replaces_every_secret_longest_first() -> None:
    secrets = url_secrets("postgresql://u:abc@h/db?token=abcdef")
    assert secrets == ["abc", "abcdef"]
    assert mask("login abc failed, token abcdef", secrets) == "login *** failed, token ***"
    assert mask("nothing to hide", []) == "nothing to hide"
