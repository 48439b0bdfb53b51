"""``GET /healthz``: is Redis reachable, how far behind are the stages, are the rules good.

It is public (probes and load balancers call it without a token), so what it
says of a broken rules, feeds or subscriptions file is which file and how
many errors; the errors themselves, which quote the file, need the token
(or, with no token set, a client on this machine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections import Counter
from typing import Any

from aiohttp import web

from service.api.middlewares import authenticated
from service.keys import ALERTS_GROUP, ARTICLES_GROUP
from service.matching.freshness import ListFacts, freshness_summary
from service.streams import TRANSIENT_ERRORS, group_status
from service.subscriptions.model import email_without_smtp
from service.typedefs import DELIVERY_QUEUE, INGEST, KEYS, REDIS, RULES, SETTINGS, SUBSCRIPTIONS

routes = web.RouteTableDef()

_LOCATED = re.compile(r"^(?P<path>.+?):\d+:\d+: ")


def broken_files(errors: list[str]) -> list[str]:
    """The files that ``path:line:col: message`` errors are about, each once, in order."""
    return list(dict.fromkeys(m["path"] for e in errors if (m := _LOCATED.match(e)) is not None))


def _rules_errors(errors: list[str], details: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"error_count": len(errors), "broken_files": broken_files(errors)}
    if details:
        out["errors"] = errors
    return out


def _file_warnings(what: str, problems: list[str], details: bool) -> list[str]:
    """One line per problem with details; otherwise one line per file, with its count."""
    if details:
        return [f"{what}: {problem}" for problem in problems]
    counts = Counter(m["path"] if (m := _LOCATED.match(p)) else "?" for p in problems)
    return [f"{what}: {path} has {n} error{'s' if n > 1 else ''}" for path, n in counts.items()]


async def _streams(request: web.Request) -> dict[str, Any]:
    redis, keys = request.app[REDIS], request.app[KEYS]
    out: dict[str, Any] = {}
    for name, stream, group in (
        ("articles", keys.articles, ARTICLES_GROUP),
        ("alerts", keys.alerts, ALERTS_GROUP),
    ):
        status = await group_status(redis, stream, group)
        out[name] = {
            "length": await redis.xlen(stream),
            "group": group,
            **status,
            "dead_letters": await redis.xlen(keys.dead_letter(stream)),
        }
    out["deliveries"] = {
        "due_or_in_flight": await request.app[DELIVERY_QUEUE].count_active(),
        "dead_letters": await request.app[DELIVERY_QUEUE].count_dead(),
    }
    return out


async def _rules(request: web.Request, details: bool) -> dict[str, Any]:
    max_age = request.app[SETTINGS].rules_max_list_age_days
    today = dt.datetime.now(dt.UTC).date()
    if RULES in request.app:
        source = request.app[RULES]
        facts = source.rules.compiled.list_facts
        return {
            "rules": len(source.rules.rules),
            **_rules_errors([str(e) for e in source.errors], details),
            "lists": freshness_summary(facts, today, max_age),
        }
    status = await request.app[REDIS].hgetall(request.app[KEYS].rules_status)
    if not status:
        return {"rules": None, **_rules_errors([], details)}
    records = json.loads(status.get("lists", "[]"))
    facts = tuple(ListFacts.from_record(record) for record in records)
    return {
        "rules": int(status["rules"]),
        **_rules_errors(json.loads(status["errors"]), details),
        "lists": freshness_summary(facts, today, max_age),
    }


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    body: dict[str, Any] = {"status": "ok"}
    details = authenticated(request)
    started = time.perf_counter()
    try:
        await request.app[REDIS].ping()
        body["redis"] = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        body["streams"] = await _streams(request)
        body["rules"] = await _rules(request, details)
    except TRANSIENT_ERRORS as exc:
        body["status"] = "degraded"
        body["redis"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    warnings: list[str] = []
    rules = body.get("rules", {})
    if rules.get("error_count"):
        # The last good rules still run, so the service is up; the edit needs fixing.
        warnings.append("a rule edit was rejected; the last good rules are in use")
    lists = rules.get("lists", {})
    for stale in lists.get("stale", []):
        warnings.append(
            f"rule list '{stale['list']}' was last checked {stale['age_days']} days ago ({stale['as_of']})"
        )
    if lists.get("unverified"):
        warnings.append(f"{lists['unverified']} rule list entries are marked unverified")
    if SUBSCRIPTIONS in request.app and body["status"] == "ok":
        subs = await request.app[SUBSCRIPTIONS].all()
        if (warning := email_without_smtp(subs, request.app[SETTINGS].smtp_host)) is not None:
            warnings.append(warning)
    if body["redis"]["ok"]:
        # Redis going away mid-request drops these lines; the next check says so.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            warnings += await _config_warnings(request, details)
    if warnings:
        body["warnings"] = warnings
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


async def _config_warnings(request: web.Request, details: bool) -> list[str]:
    """A broken feeds or subscriptions edit, and failing feeds: the service runs on, but someone must look.

    The status stays "ok" (the last good files are in use and other feeds poll),
    so that a load balancer keeps the instance; these lines are for people.
    """
    app, warnings = request.app, []
    if INGEST in app:
        feeds = app[INGEST].feeds
        problems = [str(p) for p in feeds.problems]
        warnings += _file_warnings(
            "feeds file edit rejected, the last good feeds are polled", problems, details
        )
        states = await app[INGEST].store.get_many([f.name for f in feeds.current])
        for state in states:
            if state.status in ("failing", "error"):
                warnings.append(
                    f"feed {state.name!r} is {state.status} ({state.consecutive_errors} errors in a row):"
                    f" {state.last_error or 'no detail'}"
                )
    if SUBSCRIPTIONS in app:
        file = app[SUBSCRIPTIONS].file
        problems = [str(p) for p in file.problems]
        what = "subscriptions file edit rejected, the last good version is in use"
        warnings += _file_warnings(what, problems, details)
    return warnings


@routes.get("/livez")
async def livez(request: web.Request) -> web.Response:
    """The process is up and serving; says nothing of Redis (for liveness probes)."""
    return web.json_response({"status": "ok"})
