"""URLs as they may be shown: in API answers, logs and error messages.

Feed URLs written by the operator often carry a credential: userinfo
(``https://user:pass@host/``) or a query parameter (``?api_key=...``). Both
are replaced by ``***`` wherever a URL is shown; the request itself still
uses the URL as written.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Query parameters whose names say they hold a secret: "key", "api_key",
# "apiKey", "access_token", "client_secret", "sig", "X-Amz-Signature"...
# judged by the last word of the name ("keyword" and "monkey" are not secrets).
_SECRET_WORDS = frozenset(
    [
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "auth",
        "authorization",
        "sig",
        "signature",
        "session",
        "sessionid",
        "sid",
        "credential",
        "credentials",
    ]
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PAIR = re.compile(r"([^&;=]*)(=?)([^&;]*)")


def secret_parameter(name: str) -> bool:
    words = re.split(r"[-_.\s]+", _CAMEL.sub("_", name).lower())
    return bool(words) and words[-1] in _SECRET_WORDS


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of secret-like query parameters replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK  # not a URL we can take apart: show nothing of it
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = _PAIR.sub(
        lambda m: f"{m[1]}{m[2]}{MASK}" if m[2] and m[3] and secret_parameter(m[1]) else m[0], parts.query
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_in(text: str, url: str) -> str:
    """``text`` (an error message, say) with ``url`` and its secrets shown redacted."""
    parts = urlsplit(url)
    secrets = [url, parts.netloc.rpartition("@")[0]] if "@" in parts.netloc else [url]
    secrets += [
        m[3] for m in _PAIR.finditer(parts.query) if m[2] and len(m[3]) >= 4 and secret_parameter(m[1])
    ]
    for secret in filter(None, secrets):
        text = text.replace(secret, redact_url(url) if secret == url else MASK)
    return text
