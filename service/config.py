"""Settings, read from the environment (prefix ``GEOALERT_``) and nothing else.

A bad value must stop the service with one line naming the variable, so the
CLI turns ``SettingsError`` into that line instead of a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.errors import SettingsError

ENV_PREFIX = "GEOALERT_"

# Long enough that guessing it over the network is hopeless; `openssl rand -hex 32` gives 64.
MIN_TOKEN_LENGTH = 16


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_durations(value: str) -> tuple[float, ...]:
    """``"5s, 5m, 30m, 2h"`` (or plain seconds) -> seconds; raises ValueError naming the bad entry."""
    out = []
    for item in (i.strip().lower() for i in value.split(",")):
        if not item:
            continue
        unit = _UNITS.get(item[-1])
        number = item[:-1] if unit else item
        try:
            seconds = float(number) * (unit or 1.0)
        except ValueError:
            raise ValueError(f"{item!r} is not a duration like 30s, 5m, 2h or 1d") from None
        if seconds < 0:
            raise ValueError(f"{item!r} is negative")
        out.append(seconds)
    if not out:
        raise ValueError("needs at least one duration")
    return tuple(out)


def parse_duration(value: str) -> float:
    """One duration: ``"48h"``, ``"30m"``, ``"7d"`` or plain seconds."""
    durations = parse_durations(value)
    if len(durations) != 1:
        raise ValueError(f"{value!r} is not one duration like 30m, 48h or 7d")
    return durations[0]


def default_consumer_name() -> str:
    # Unique per process: two processes on one host must never share a name,
    # or they would read each other's pending entries.
    return f"{socket.gethostname()}-{os.getpid()}"


# notifiers.ssrf's type, spelled out: importing that module brings in aiohttp, which the
# command-line tools (geoalert match, rules ...) never need and would pay for at every start
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The parts of the service one process can run (geoalert run --role ...)
ALL_ROLES = ("poller", "matcher", "dispatcher", "api")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    redis_url: str | None = Field(
        default=None, description="Redis to use; unset starts an embedded redis-server under DATA_DIR"
    )
    data_dir: Path = Field(default=Path(".geoalert"), description="where the embedded Redis keeps its data")
    rules_dir: Path = Field(default=Path("rules"), description="the YAML rule library")
    rules_read_only: bool = Field(
        default=False,
        description="refuse rule edits over the API and the console even where the rules directory is "
        "writable (rules kept in git or shipped in the image); the editor offers download and copy",
    )
    rules_max_list_age_days: int = Field(
        default=90, gt=0, description="/healthz warns about rule lists whose as_of date is older than this"
    )
    feeds_file: Path = Field(default=Path("seeds/feeds.yaml"), description="feeds to poll")
    subscriptions_file: Path = Field(
        default=Path("seeds/subscriptions.yaml"), description="declarative (read-only) subscriptions"
    )
    http_host: str = Field(default="127.0.0.1", description="address the api role listens on")
    http_port: int = Field(default=8080, ge=0, le=65535, description="port the api role listens on")

    redis_wait_replicas: int = Field(
        default=0,
        ge=0,
        description="replicas that must confirm an ingested article, a raised alert or a queued delivery before it counts as done (WAIT); 0: the primary's word",
    )
    redis_wait_timeout_ms: int = Field(
        default=1000, gt=0, description="how long to wait for those replicas before retrying the work"
    )
    key_prefix: str = Field(default="geoalert:", description="prefix of every Redis key")
    stream_trim: Literal["maxlen", "minid", "none"] = Field(
        default="maxlen", description="how streams are trimmed: by length or by age"
    )
    stream_maxlen: int = Field(default=100_000, gt=0, description="approximate entries kept per stream")
    stream_retention_seconds: int = Field(
        default=7 * 86400, gt=0, description="age of entries kept per stream with stream_trim=minid"
    )
    consumer_name: str = Field(default_factory=default_consumer_name, description="this process's name")
    claim_idle_ms: int = Field(
        default=30_000, gt=0, description="idle time after which another consumer takes over an entry"
    )
    max_deliveries: int = Field(
        default=5, ge=1, description="deliveries of one stream entry before it is dead-lettered"
    )
    read_block_ms: int = Field(default=1000, gt=0, description="longest blocking read on a stream")
    read_batch: int = Field(default=64, gt=0, description="entries read from a stream at once")
    dedupe_ttl_seconds: int = Field(
        default=30 * 86400, gt=0, description="how long a seen article or raised alert is remembered"
    )
    reload_interval: float = Field(
        default=2.0, gt=0, description="seconds between checks of the rules, feeds and subscriptions files"
    )
    fetch_connect_timeout: float = Field(
        default=10.0, gt=0, description="seconds to connect to a feed's host"
    )
    fetch_timeout: float = Field(
        default=30.0, gt=0, description="seconds for a whole feed or page fetch, body included"
    )
    fetch_max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="largest feed or page body, after decompression"
    )
    feed_max_stored_bytes: int = Field(
        default=8 * 1024 * 1024,
        gt=0,
        description="most bytes of articles one feed document may add to Redis; items past it wait for the next poll",
    )
    fetch_max_redirects: int = Field(default=5, ge=0, description="redirects followed per fetch")
    fetch_per_host: int = Field(
        default=4, ge=1, description="concurrent requests to one host, over every poller process together"
    )
    fetch_concurrency: int = Field(
        default=32, ge=1, le=90, description="feeds polled (and requests made) at once, in all"
    )
    user_agent: str = Field(
        default="geoalert/0.1 (+https://github.com/geoalert/geoalert; feed poller)",
        min_length=1,
        description="User-Agent of every feed and page request",
    )
    feed_failing_after: int = Field(
        default=5, ge=1, description="consecutive failures after which a feed is marked failing"
    )
    feed_backoff_max: float = Field(
        default=3600.0, gt=0, description="longest back-off, in seconds, of a feed that is not failing"
    )
    feed_failing_retry: float = Field(
        default=6 * 3600.0, gt=0, description="seconds between tries of a failing feed"
    )
    poll_jitter: float = Field(
        default=0.1, ge=0, le=0.5, description="fraction of a feed's interval added at random to each run"
    )
    poll_startup_spread: float = Field(
        default=10.0,
        ge=0,
        description="at most this many seconds over which the feeds' first runs are spread (10 ms per feed)",
    )
    # Processes, not threads, by default: parsing is CPU work, and in threads it
    # holds the GIL that fetching and ingesting need. Two keep a 2-core machine
    # busy beside the service's own process and Redis, and cost little on one core.
    parse_processes: int = Field(
        default=2, ge=0, description="worker processes that parse feeds; 0 parses in threads of the service"
    )
    story_window_seconds: int = Field(
        default=48 * 3600, gt=0, description="how far apart in time two copies of one story may be published"
    )
    story_threshold: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="estimated text similarity (Jaccard) from which two articles are one story",
    )
    alert_max_age: Annotated[float, NoDecode] = Field(
        default=48 * 3600.0,
        ge=0,
        description="articles published longer ago than this when ingested are stored but raise no alert"
        " (30m, 48h, 7d; 0: no limit); a feed's alert_max_age overrides it",
    )
    alert_first_poll: bool = Field(
        default=False,
        description="alert on what a feed's first poll finds; off, a new feed's backlog is stored without alerts",
    )
    push_max_bytes: int = Field(default=1024 * 1024, gt=0, description="largest POST /v1/articles body")
    push_max_items: int = Field(default=500, ge=1, description="most articles in one POST /v1/articles")
    shutdown_timeout: float = Field(default=10.0, gt=0, description="seconds to finish in-flight work")

    # --- HTTP API ---
    api_token: SecretStr | None = Field(
        default=None,
        description="bearer token (16+ printable ASCII characters) for API writes (and reads with API_AUTH_READS); unset: the API serves loopback only",
    )
    api_auth_reads: bool = Field(default=False, description="require the token for reads too")
    api_max_body_bytes: int = Field(default=65536, ge=1024, description="largest request body accepted")

    # --- delivery ---
    webhook_allow_cidrs: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(
        default=(),
        description="comma-separated ranges webhooks and Apprise services may reach despite the SSRF guard (e.g. 127.0.0.0/8 for local tests)",
    )
    fetch_allow_cidrs: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(
        default=(),
        description="comma-separated ranges that redirects and links in feeds (full_text) may reach despite the address guard; feed URLs themselves may always be private",
    )
    webhook_connect_timeout: float = Field(default=5.0, gt=0, description="seconds to connect to a webhook")
    webhook_timeout: float = Field(default=15.0, gt=0, description="seconds for a whole webhook request")
    delivery_concurrency: int = Field(default=64, ge=1, description="attempts in flight at once, per process")
    delivery_per_endpoint: int = Field(
        default=8,
        ge=1,
        description="attempts in flight to one webhook endpoint (or the SMTP server), over every dispatcher together",
    )
    delivery_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="after this long an unfinished attempt may be retried by another worker",
    )
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000),
        description="delays between attempts, comma-separated (5s,5m,30m,2h,5h,10h,10h)",
    )
    retry_jitter: float = Field(
        default=0.1, ge=0, le=0.5, description="random spread of each retry delay (0.1: +-10%)"
    )
    delivery_retention_seconds: int = Field(
        default=30 * 86400, gt=0, description="how long finished deliveries stay in the delivery log"
    )

    # --- email ---
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="the API's address as mail readers reach it (https://geoalert.example.org): emails then"
        " carry a signed link and a List-Unsubscribe header that pause their subscription",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="key that signs the pause links of emails; unset: a random key kept in Redis",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for email subscriptions")
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="default: 587, 465 with tls, 25 with none"
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (required, never a plain fallback), tls (implicit), or none"
    )
    smtp_username: str | None = Field(default=None, description="SMTP login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(default="geoalert@localhost", description="From address of alert emails")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the SMTP server with")
    smtp_timeout: float = Field(default=30.0, gt=0, description="seconds for one SMTP conversation")
    email_domain: str = Field(default="geoalert.local", description="right-hand side of Message-IDs")

    @model_validator(mode="after")
    def _no_plain_text_login(self) -> Settings:
        if self.smtp_security == "none" and self.smtp_username:
            raise ValueError(
                "GEOALERT_SMTP_USERNAME is set with GEOALERT_SMTP_SECURITY=none: the password would travel in plain text"
            )
        return self

    @field_validator("api_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty variable (docker's -e VAR="$UNSET") must not become a token
        # that a blank Authorization header matches: refuse to start instead.
        if value is None:
            return None
        token = value.get_secret_value()
        if not token.strip():
            raise ValueError(
                "is empty: set a token (e.g. `openssl rand -hex 32`) or leave the variable unset"
            )
        if not all("!" <= char <= "~" for char in token):
            raise ValueError("must be printable ASCII without spaces (e.g. `openssl rand -hex 32`)")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_TOKEN_LENGTH} characters long (e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("webhook_allow_cidrs", "fetch_allow_cidrs", mode="before")
    @classmethod
    def _cidrs(cls, value: object) -> object:
        from notifiers.ssrf import parse_cidrs

        return parse_cidrs(value) if isinstance(value, str) else value

    @field_validator("key_prefix")
    @classmethod
    def _no_braces(cls, value: str) -> str:
        if "{" in value or "}" in value:
            raise ValueError(
                "may not contain braces: they would change the hash tags that keep related keys together"
            )
        return value

    @field_validator(
        "smtp_host", "smtp_port", "smtp_username", "smtp_ca_file", "heartbeat_file", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose passes ${GEOALERT_SMTP_HOST:-} as an empty string: that means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("alert_max_age", mode="before")
    @classmethod
    def _max_age(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        return parse_durations(value) if isinstance(value, str) else value

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="least severe log level shown (any case: debug, info, warning, error)"
    )
    heartbeat_file: Path | None = Field(
        default=None,
        description="file touched every 5 s while the process runs, for `geoalert healthcheck` in containers",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text for people, json (one object per line) for log shippers"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


# GEOALERT_* variables that are not settings but are read elsewhere (the test suite).
OTHER_VARIABLES = frozenset({"GEOALERT_TEST_REDIS_URL", "GEOALERT_FEED_CORPUS", "GEOALERT_REQUIRE_CORPUS"})
FILE_SUFFIX = "_FILE"
# Settings that may also come from a file named by GEOALERT_<NAME>_FILE (Docker
# secrets): the secrets, so they need not sit in the environment or a compose file.
SECRET_SETTINGS = ("api_token", "smtp_password", "smtp_username", "link_secret")


def _setting_names() -> set[str]:
    return {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``GEOALERT_*`` variable that nothing reads, with a did-you-mean."""
    environ = os.environ if environ is None else environ
    known = _setting_names()
    secret_files = {
        ENV_PREFIX + n.upper() + FILE_SUFFIX for n in SECRET_SETTINGS if n in Settings.model_fields
    }
    candidates = sorted(known | secret_files)
    out = []
    for name in sorted(environ):
        if (
            not name.startswith(ENV_PREFIX)
            or name in known
            or name in secret_files
            or name in OTHER_VARIABLES
        ):
            continue
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"{name} is not a geoalert setting and is ignored{hint}")
    return out


def _secrets_from_files(environ: Mapping[str, str]) -> dict[str, str]:
    """GEOALERT_API_TOKEN_FILE=/run/secrets/token -> api_token=<the file's first line>."""
    values: dict[str, str] = {}
    for name in SECRET_SETTINGS:
        if name not in Settings.model_fields:
            continue
        variable = ENV_PREFIX + name.upper()
        path = environ.get(variable + FILE_SUFFIX)
        if path is None:
            continue
        if variable in environ:
            raise SettingsError(f"{variable} and {variable}{FILE_SUFFIX} are both set: keep one")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"invalid setting {variable}{FILE_SUFFIX}={path!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SettingsError(f"invalid setting {variable}{FILE_SUFFIX}={path!r}: not UTF-8 text") from None
        value = text.rstrip("\r\n")
        # An empty secret file (compose makes one from an unset variable) means "not set";
        # an empty token is still refused by its validator rather than left open.
        if value or name == "api_token":
            values[name] = value
    return values


_SECRET_FIELDS = frozenset(
    name for name, field in Settings.model_fields.items() if field.annotation in (SecretStr, SecretStr | None)
)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; raises ``SettingsError`` naming the variable."""
    try:
        settings = Settings(**{**_secrets_from_files(os.environ), **overrides})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across settings: its message names them
                problems.append(f"invalid settings: {err['msg'].removeprefix('Value error, ')}")
                continue
            field = "_".join(str(p) for p in err["loc"])
            name = ENV_PREFIX + field.upper()
            value = os.environ.get(name)
            secret = field in _SECRET_FIELDS  # a secret is never echoed, not even a wrong one
            shown = f"={value!r}" if value is not None and not secret else ""
            problems.append(f"invalid setting {name}{shown}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("; ".join(problems)) from None
    # The defaults may be absent (no feeds, no file subscriptions), but a file the
    # operator named must exist: a typo must not silently mean "0 feeds".
    for name in ("feeds_file", "subscriptions_file"):
        path: Path = getattr(settings, name)
        if name in settings.model_fields_set and not path.is_file():
            raise SettingsError(f"invalid setting {ENV_PREFIX}{name.upper()}={str(path)!r}: no such file")
    return settings


def settings_table() -> str:
    """The README's configuration table, made from the fields above so the two never drift."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "`<hostname>-<pid>`" if name == "consumer_name" else "(computed)"
        elif field.default is None:
            default = "unset"
        else:
            default = f"`{field.default}`"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {default} | {field.description or ''} |")
    return "\n".join(rows)


README_MARKERS = ("<!-- settings-table -->", "<!-- /settings-table -->")


def update_readme(path: Path) -> None:
    """Rewrite the table between the README's markers (``python -m service.config README.md``)."""
    text = path.read_text()
    start, end = README_MARKERS
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{start}\n{settings_table()}\n{end}{tail}")


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        update_readme(Path(sys.argv[1]))
    else:
        print(settings_table())
