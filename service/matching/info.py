"""What the service and its API know about a rule without matching with it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.models import Severity


class RuleInfo(BaseModel):
    """A rule's metadata, as the API returns it."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    severity: Severity
    tags: list[str] = Field(default_factory=list)
    description: str = ""
    path: str = Field("", description="the rule's source file")
