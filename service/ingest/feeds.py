"""The feeds file: which feeds to poll, and how."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.config import parse_duration
from service.yamlfile import load_model

TAG = re.compile(r"^[\w.\-]+$")


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")
    url: str = Field(min_length=1, description="a local path, file:// or http(s):// URL")
    interval: float = Field(default=300, ge=1, description="seconds between polls")
    enabled: bool = True
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    full_text: bool = Field(default=False, description="fetch each article's page for its full text")
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47 tag, e.g. en, pt-BR"
    )
    region: str | None = Field(default=None, max_length=40, description="e.g. africa, europe, global")
    tags: list[str] = Field(default_factory=list, max_length=20, description="free labels for grouping")
    alert_max_age: float | None = Field(
        default=None,
        ge=0,
        description="older articles raise no alert (30m, 48h, 7d or seconds; 0: no limit;"
        " default: GEOALERT_ALERT_MAX_AGE)",
    )
    alert_first_poll: bool | None = Field(
        default=None, description="alert on what the first poll finds (default: GEOALERT_ALERT_FIRST_POLL)"
    )

    @field_validator("alert_max_age", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def _short_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not 0 < len(tag) <= 40 or not TAG.match(tag):
                raise ValueError(f"tag {tag[:40]!r} must be 1-40 letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _one_credential(self) -> FeedConfig:
        # The HTTP client refuses the two together on every request; say so once, at load.
        userinfo = "@" in urlsplit(self.url).netloc
        if userinfo and any(name.strip().lower() == "authorization" for name in self.headers):
            raise ValueError(
                "the URL carries credentials (user:password@) and headers set Authorization: keep one of them"
            )
        return self


class FeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[FeedConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> FeedsFile:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.name in seen:
                raise ValueError(f"two feeds share the name {feed.name!r}")
            seen.add(feed.name)
        return self


def load_feeds_file(path: Path) -> list[FeedConfig]:
    if not path.exists():
        return []
    return load_model(path, FeedsFile).feeds
