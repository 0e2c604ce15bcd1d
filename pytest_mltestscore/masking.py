"""Secrets in configuration: ``${VAR}`` read from the environment, and masked in every message.

Database URLs and endpoint headers name their credentials as ``${VAR}`` so that
``pyproject.toml`` never holds them. :func:`expand` reads the variables when a connection is
made and returns the values it substituted: those, and any password written in a URL, are the
secrets that :func:`mask` replaces by ``***`` in whatever text is shown (errors, reports, the
run history). A leaf: it imports nothing of this package.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Query parameters that carry credentials in database and service URLs.
_SECRET_PARAMS = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


class MissingVariable(LookupError):
    """A ``${VAR}`` names an environment variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def expand(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """``text`` with each ``${VAR}`` replaced by its value, and the values substituted.

    ``${VAR:-default}`` stands for ``default`` when VAR is unset or empty (a default is written
    in the config, so it is not a secret). Raises :class:`MissingVariable` naming the first
    variable that is not set and has no default.
    """
    env = os.environ if environ is None else environ
    secrets: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if default is not None and not env.get(name):
            return default
        if name not in env:
            raise MissingVariable(name)
        value = env[name]
        if value:
            secrets.append(value)
        return value

    return _VAR.sub(one, text), secrets


def url_secrets(url: str) -> list[str]:
    """The password and the credential-like query values written in a URL."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
        found += [v for k, v in parse_qsl(parts.query) if v and _SECRET_PARAMS.search(k)]
    except ValueError:
        return []
    return found


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longest first) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_url(url: str) -> str:
    """A URL fit to print: its password and credential-like query values as ``***``.

    ``${VAR}`` references are kept as written (they name a variable, not its value).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    secret_query = any(
        v and _SECRET_PARAMS.search(k) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    if parts.password is None and not secret_query:
        return url  # nothing to hide (and sqlite:////abs/path keeps its slashes)
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{parts.username or ''}:{MASK}@{host}"
    query = parts.query
    if secret_query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if v and _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*${}"
        )
    return urlunsplit(parts._replace(netloc=netloc, query=query))
