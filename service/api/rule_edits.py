"""Editing rules over the API: read a rule's YAML, check an edit, save it, backtest it; rule activity.

``/v1/rules/validate`` compiles an edit with the same compiler as
``geoalert rules check`` and runs its examples; ``PUT /v1/rules/{id}`` saves
it under the id's own file name only if both pass (``service.rulefiles``);
``/v1/rules/backtest`` streams progress as JSON lines, then the result
(``service.backtest``): one run at a time per process, stopped when the
client goes away.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.activity import hourly
from service.api.framework import ApiError, ApiRoutes, body_of, json_of
from service.api.middlewares import authenticated
from service.api.schemas import ErrorBody
from service.backtest import BacktestResult, RuleRecipe, backtest, parse_since, rule_sets_for
from service.console.auth import session_of
from service.lifecycle import settling
from service.matching import RuleSource
from service.rulefiles import (
    MAX_RULE_BYTES,
    MAX_RULE_REQUEST_BYTES,
    RULE_ID,
    Draft,
    RuleEditError,
    check_draft,
    check_rule_id,
    rule_path,
    rules_writable,
    save_rule,
)
from service.typedefs import KEYS, REDIS, RULES, SETTINGS

routes = ApiRoutes("rules")

BACKTEST_SLOTS = web.AppKey("backtest_slots", asyncio.Semaphore)
EXAMPLES_CACHE = web.AppKey("examples_cache", dict[str, dict[str, tuple[int, int]]])
BACKTEST_MAX_ARTICLES = 500_000


class Problem(BaseModel):
    path: str
    line: int
    col: int
    message: str
    in_this_file: bool


class ExampleOut(BaseModel):
    kind: str = Field(description="match or no_match")
    number: int
    line: int
    passed: bool
    excerpt: str


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(
        pattern=RULE_ID.pattern,
        max_length=64,
        description="the id of the rule this file is (new or existing)",
    )
    yaml: str = Field(max_length=MAX_RULE_BYTES)


class DraftOut(BaseModel):
    rule: str
    ok: bool = Field(description="compiles and every example passes")
    problems: list[Problem]
    examples: list[ExampleOut]
    saved: bool = False


class RuleFileOut(BaseModel):
    rule: str
    path: str
    yaml: str
    writable: bool
    read_only_reason: str = ""


class RuleActivity(BaseModel):
    rule: str
    alerts_day: int
    alerts_week: int
    examples: int
    examples_failed: int


class ActivityList(BaseModel):
    items: list[RuleActivity]


class BacktestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(pattern=RULE_ID.pattern, max_length=64)
    yaml: str | None = Field(
        default=None, max_length=MAX_RULE_BYTES, description="the edit; omitted: as saved"
    )
    since: str | None = Field(default=None, description="only articles of the last 30m, 12h, 7d...")
    max_articles: int = Field(default=200_000, ge=1, le=BACKTEST_MAX_ARTICLES)

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value:
            parse_since(value)
        return value or None


def _source(request: web.Request) -> RuleSource:
    """The last good rules. Never reloaded here: a large edit on disk would hold the event loop
    for as long as it takes to compile (the watcher reloads in a thread; a save, just below)."""
    return request.app[RULES]


def _directory(request: web.Request) -> Path:
    return Path(request.app[SETTINGS].rules_dir)


def _draft_out(draft: Draft, saved: bool = False) -> DraftOut:
    here = str(draft.path)
    return DraftOut(
        rule=draft.rule_id,
        ok=draft.ok,
        saved=saved,
        problems=[
            Problem(path=p.path, line=p.line, col=p.col, message=p.message, in_this_file=p.path == here)
            for p in draft.problems
        ],
        examples=[ExampleOut(**vars(e)) for e in draft.examples],
    )


async def _private(request: web.Request) -> None:
    """File content goes only to callers who could change it: a console session or the bearer token."""
    if await session_of(request) is None and not authenticated(request):
        raise ApiError(401, "send Authorization: Bearer <GEOALERT_API_TOKEN>")


@routes.route(
    "GET",
    "/v1/rules/activity",
    summary="Per rule: alerts raised over the last day and week, and how many of its examples fail",
    responses={200: ("per rule", ActivityList)},
)
async def rule_activity(request: web.Request) -> web.Response:
    rules = _source(request).rules
    ids = [r.id for r in rules.rules]
    keys = request.app[KEYS]
    counts = await hourly(request.app[REDIS], [keys.rule_activity(i) for i in ids], hours=7 * 24)
    cache = request.app[EXAMPLES_CACHE]
    if rules.version not in cache:
        cache.clear()  # one rule set at a time: examples only change with the rules
        cache[rules.version] = await asyncio.to_thread(_example_failures, rules)
    failures = cache[rules.version]
    items = [
        RuleActivity(
            rule=rule_id,
            alerts_day=sum(c[-24:]),
            alerts_week=sum(c),
            examples=failures[rule_id][0],
            examples_failed=failures[rule_id][1],
        )
        for rule_id, c in zip(ids, counts, strict=True)
    ]
    return json_of(ActivityList(items=items))


def _example_failures(rules: Any) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for rule in rules.compiled.rules:
        failed = 0
        for example in rule.examples:
            matched = any(m.rule == rule.info.id for m in rules.match(example.article))
            failed += matched != example.expect_match
        out[rule.info.id] = (len(rule.examples), failed)
    return out


@routes.route(
    "POST",
    "/v1/rules/validate",
    summary="Compile an edited rule file (errors at line:column) and run its examples; nothing is saved",
    body=DraftIn,
    responses={200: ("the outcome", DraftOut), 422: ("invalid: see error.fields", ErrorBody)},
)
async def validate_rule(request: web.Request) -> web.Response:
    given = await body_of(request, DraftIn, limit=MAX_RULE_REQUEST_BYTES)
    source = _source(request)
    try:
        draft = await asyncio.to_thread(
            check_draft, _directory(request), source.rules, given.rule, given.yaml
        )
    except RuleEditError as exc:
        raise ApiError(exc.status, exc.message) from None
    return json_of(_draft_out(draft))


@routes.route(
    "GET",
    "/v1/rules/{id}/source",
    summary="A rule's YAML file, and whether the service may write it",
    responses={200: ("the file", RuleFileOut), 404: ("no such rule", ErrorBody)},
)
async def rule_source(request: web.Request) -> web.Response:
    await _private(request)
    rule_id = request.match_info["id"]
    source = _source(request)
    try:
        check_rule_id(rule_id)
    except RuleEditError:
        raise ApiError(404, f"no rule has the id {rule_id!r}") from None
    if source.rules.get(rule_id) is None:
        raise ApiError(404, f"no rule has the id {rule_id!r}")
    path = rule_path(_directory(request), source.rules, rule_id)
    writable, reason = rules_writable(_directory(request), read_only=request.app[SETTINGS].rules_read_only)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return json_of(
        RuleFileOut(rule=rule_id, path=str(path), yaml=text, writable=writable, read_only_reason=reason)
    )


class SaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_RULE_BYTES)


@routes.route(
    "PUT",
    "/v1/rules/{id}",
    summary="Save a rule file: only if it compiles and its examples pass; the old version is kept",
    body=SaveIn,
    responses={
        200: ("saved; the matchers pick it up within seconds", DraftOut),
        404: ("not a possible rule id", ErrorBody),
        409: ("the rules directory is read-only", ErrorBody),
        422: ("not saved: each problem and failing example is a field", ErrorBody),
    },
)
async def save(request: web.Request) -> web.Response:
    rule_id = request.match_info["id"]
    if not RULE_ID.fullmatch(rule_id):
        raise ApiError(404, "a rule file is named by its rule id: a lowercase letter, then a-z, 0-9 or _")
    given = await body_of(request, SaveIn, limit=MAX_RULE_REQUEST_BYTES)
    source = _source(request)
    directory = _directory(request)
    writable, reason = rules_writable(directory, read_only=request.app[SETTINGS].rules_read_only)
    if not writable:  # said first: no edit can be saved here, however sound
        raise ApiError(409, reason)
    try:
        draft = await asyncio.to_thread(check_draft, directory, source.rules, rule_id, given.yaml)
        if not draft.ok:
            raise _not_saved(draft)
        draft = await asyncio.to_thread(
            save_rule,
            directory,
            source.rules,
            rule_id,
            given.yaml,
            read_only=request.app[SETTINGS].rules_read_only,
        )
    except RuleEditError as exc:
        raise ApiError(exc.status, exc.message) from None
    await asyncio.to_thread(settling(source.refresh))  # the saved rule is in use when this answers
    return json_of(_draft_out(draft, saved=True))


def _not_saved(draft: Draft) -> ApiError:
    fields = [
        (f"yaml:{p.line}:{p.col}" if p.path == str(draft.path) else p.path, p.message) for p in draft.problems
    ]
    fields += [
        (
            f"examples.{e.kind}[{e.number}]",
            f"line {e.line}: {'did not match' if e.kind == 'match' else 'matched'}",
        )
        for e in draft.examples
        if not e.passed
    ]
    what = "errors" if draft.problems else "failing examples"
    return ApiError(422, f"not saved: the rule has {what}; see fields", fields)


def setup_backtests(app: web.Application) -> None:
    app[BACKTEST_SLOTS] = asyncio.Semaphore(1)
    app[EXAMPLES_CACHE] = {}


@routes.route(
    "POST",
    "/v1/rules/backtest",
    summary="Run an edited rule over the stored articles beside the rule in use: alerts added and removed",
    body=BacktestIn,
    responses={
        200: ('JSON lines: {"type": "progress", ...} then {"type": "result", ...} or "error"', None),
        422: ("the edit does not compile", ErrorBody),
        429: ("a backtest is running", ErrorBody),
    },
    media_type="application/x-ndjson",
)
async def run_backtest(request: web.Request) -> web.StreamResponse:
    given = await body_of(request, BacktestIn, limit=MAX_RULE_REQUEST_BYTES)
    source = _source(request)
    directory = _directory(request)
    slots = request.app[BACKTEST_SLOTS]
    if slots.locked():
        raise ApiError(
            429, "a backtest is running; try again when it has finished", headers={"Retry-After": "5"}
        )
    async with slots:
        try:
            check_rule_id(given.rule)
            if given.yaml is None and source.rules.get(given.rule) is None:
                raise ApiError(404, f"no rule has the id {given.rule!r}; send its yaml to try a new one")
            edits = None
            if given.yaml is not None:
                draft = await asyncio.to_thread(check_draft, directory, source.rules, given.rule, given.yaml)
                if draft.problems:
                    raise ApiError(422, f"the edit does not compile: {draft.problems[0]}")
                edits = {draft.path: given.yaml.encode()}
            before, after = await asyncio.to_thread(
                rule_sets_for, directory, source.rules, [given.rule], edits
            )
        except RuleEditError as exc:
            raise ApiError(exc.status, exc.message) from None
        response = web.StreamResponse(
            headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)

        async def progress(scanned: int, total: int) -> None:
            await response.write(_line({"type": "progress", "scanned": scanned, "total": total}))

        try:
            await response.write(_line({"type": "progress", "scanned": 0, "total": 0}))
            result: BacktestResult = await backtest(
                request.app[REDIS],
                request.app[KEYS].articles,
                before,
                after,
                [given.rule],
                since_seconds=parse_since(given.since) if given.since else None,
                max_articles=given.max_articles,
                progress=progress,
                recipe=RuleRecipe(directory, (given.rule,), edits),
            )
            await response.write(_line({"type": "result", **result.model_dump(mode="json")}))
        except ConnectionResetError:
            pass  # the client cancelled: stop reading and matching
        return response


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
