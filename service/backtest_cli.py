"""``geoalert rules backtest``: what an edited rules directory would raise over the stored articles.

The same implementation as ``POST /v1/rules/backtest`` (``service.backtest``):
the rules in use (``--rules``) and the edited ones (``--against``), each
compiled alone for the rules under test, read the articles still in the
stream of the Redis the service uses (``GEOALERT_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rest is imported when the command runs: other commands start faster
    from service.backtest import BacktestResult, RuleRecipe
    from service.matching import RuleSet


def add_parser(tools: argparse._SubParsersAction[argparse.ArgumentParser], default_rules: Path) -> None:
    cmd = tools.add_parser(
        "backtest",
        help="what edited rules would raise over the stored articles, beside the rules in use",
        description=(
            "Run the rules of --against over the articles still stored in Redis, beside the rules in "
            "--rules, and list the alerts the edit adds and removes."
        ),
    )
    cmd.add_argument("--against", type=Path, required=True, help="the edited rules directory")
    cmd.add_argument("--rules", type=Path, default=default_rules, help="the rules in use (default: rules)")
    cmd.add_argument(
        "--rule",
        action="append",
        dest="rule_ids",
        metavar="ID",
        help="only this rule (repeatable; default: all)",
    )
    cmd.add_argument("--since", help="only articles of the last 30m, 12h, 7d... (default: all stored)")
    cmd.add_argument(
        "--max-articles", type=int, default=200_000, help="stop after this many (default: 200000)"
    )
    cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    cmd.set_defaults(func=backtest_command)


def backtest_command(args: argparse.Namespace) -> int:
    from service.backtest import RuleRecipe, parse_since, rule_sets_for
    from service.errors import ConfigFileError
    from service.matching import load_rules

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"geoalert: --since: {exc}", file=sys.stderr)
        return 2
    try:
        current = load_rules(args.rules)
        edited = load_rules(args.against)
    except ConfigFileError as exc:
        print(f"geoalert: cannot backtest, fix these first:\n{exc}", file=sys.stderr)
        return 1
    ids = args.rule_ids or sorted({r.id for r in current.rules} | {r.id for r in edited.rules})
    before, after = rule_sets_for(args.rules, current, ids, against=args.against)
    recipe = RuleRecipe(args.rules, tuple(ids), against=args.against)
    result = asyncio.run(_run(before, after, ids, since, args.max_articles, recipe))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        _print(result)
    return 0


async def _run(
    before: RuleSet, after: RuleSet, ids: list[str], since: float | None, limit: int, recipe: RuleRecipe
) -> BacktestResult:
    from service.backtest import backtest
    from service.config import load_settings
    from service.connections import redis_client
    from service.embedded_redis import RedisServer
    from service.keys import Keys

    settings = load_settings()
    # No GEOALERT_REDIS_URL: the embedded Redis that `./dev run` keeps under its data directory.
    url = settings.redis_url or RedisServer(settings.data_dir / "redis").url
    redis = redis_client(url)

    async def progress(scanned: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{scanned}/{total} articles", end="", file=sys.stderr, flush=True)

    try:
        return await backtest(
            redis,
            Keys(settings.key_prefix).articles,
            before,
            after,
            ids,
            since_seconds=since,
            max_articles=limit,
            progress=progress,
            recipe=recipe,
        )
    finally:
        await redis.aclose()


def _print(result: BacktestResult) -> None:
    print(
        f"{result.scanned} articles in {result.seconds:.1f}s: {result.before} alerts in use, "
        f"{result.after} with the edit (+{result.added_count} -{result.removed_count})"
        + ("" if result.complete else "; stopped at --max-articles")
    )
    for sign, alerts in (("+", result.added), ("-", result.removed)):
        for alert in alerts:
            title = json.dumps(alert.article.title, ensure_ascii=False)
            print(f"{sign} {alert.rule}: {title} ({alert.entry})")
